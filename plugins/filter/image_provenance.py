# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: image_provenance
short_description: The provenance an image built from a context archive would carry
version_added: 0.1.0
description:
  - The hash that M(inferops.triton.triton_image) (O(source=cpu)) and
    M(inferops.triton.image_build) label an image with - the sha256 of the context archive,
    the build arguments and the labels - computed on the controller from the archive, so a
    play can tell whether a host's image is current without copying the context there.
options:
  _input:
    description: Path of the context archive on the controller.
    type: path
    required: true
  labels:
    description: The labels the image is built with.
    type: dict
    default: {}
  build_args:
    description: The build arguments.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: The provenance of the CPU flavour's context
  ansible.builtin.debug:
    msg: "{{ '/cache/contexts/triton-cpu-py3.11.tar' | inferops.triton.image_provenance(labels) }}"
"""

RETURN = r"""
_value:
  description: C(sha256:<hex>), as the image's C(org.inferops.triton.provenance) label holds it.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.image._image import provenance_hash


def image_provenance(path, labels=None, build_args=None):
    try:
        with open(str(path), "rb") as handle:
            context = handle.read()
    except OSError as exc:
        raise AnsibleFilterError(f"image_provenance: cannot read the context archive "
                                 f"{path}: {exc.strerror}") from None
    return provenance_hash(context, {str(k): str(v) for k, v in (build_args or {}).items()},
                           {str(k): str(v) for k, v in (labels or {}).items()})


class FilterModule:
    def filters(self):
        return {"image_provenance": image_provenance}
