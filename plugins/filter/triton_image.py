# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The triton_image role's filters over module_utils/image, each documented in the .yml of
its own name beside this file: triton_image_cpu_inputs, triton_image_archive_name and
triton_image_flavour."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.common._plain import plain as _plain
from ansible_collections.inferops.triton.plugins.module_utils.image._cpu_context_controller import (
    cpu_inputs,
)
from ansible_collections.inferops.triton.plugins.module_utils.image._image import (
    archive_name,
    flavour_of,
)


def triton_image_cpu_inputs(backends, requirements, dockerfile, python, platforms, labels):
    try:
        return cpu_inputs(str(backends), str(requirements), str(dockerfile), _plain(python),
                          _plain(platforms), _plain(labels))
    except OSError as exc:
        raise AnsibleFilterError(f"triton_image_cpu_inputs: cannot read the backend file "
                                 f"{exc.filename}: {exc.strerror}") from None


def triton_image_archive_name(ref):
    if not ref:
        raise AnsibleFilterError("triton_image_archive_name: no image reference to name an "
                                 "archive after")
    return archive_name(str(ref))


def triton_image_flavour(source):
    return flavour_of(None if source is None else str(source))


class FilterModule:
    def filters(self):
        return {"triton_image_cpu_inputs": triton_image_cpu_inputs,
                "triton_image_archive_name": triton_image_archive_name,
                "triton_image_flavour": triton_image_flavour}
