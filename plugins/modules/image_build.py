#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: image_build
short_description: Build a container image only when its provenance changed
version_added: 0.1.0
description:
  - Builds an image with the Docker CLI from a build-context tar archive on the host.
  - The image carries the label C(org.inferops.triton.provenance), a hash of the
    context, the build arguments and the labels. The module rebuilds only when that
    hash differs from the label of the image the host already has, so a changed build
    argument rebuilds and an unchanged one never does.
  - When the base image is missing and O(base_image_archive) is given, the archive is
    loaded first (hosts without a registry).
author: inferops.triton developers (@inferops)
options:
  name:
    description: Image reference to build, C(name:tag).
    type: str
    required: true
  context_archive:
    description: Path on the host of a tar archive holding the build context (with C(Dockerfile)).
    type: path
    required: true
  build_args:
    description: Build arguments; part of the provenance.
    type: dict
    default: {}
  labels:
    description: Labels set on the image; part of the provenance.
    type: dict
    default: {}
  base_image:
    description: The image the Dockerfile builds on, checked before a build.
    type: str
    default: ""
  base_image_archive:
    description: Path on the host of a C(docker save) archive to load when O(base_image) is missing.
    type: path
    default: ""
  force:
    description: Build even when the provenance is unchanged.
    type: bool
    default: false
extends_documentation_fragment:
  - inferops.triton.attributes
requirements:
  - Docker CLI and a running Docker engine on the host
"""

EXAMPLES = r"""
- name: Build the CPU Triton image from its context
  inferops.triton.image_build:
    name: inferops/tritonserver:cpu
    context_archive: /var/lib/inferops-triton/build/server-context.tar
    base_image: debian:12
"""

RETURN = r"""
image_id:
  description: Id of the image (null in check mode when it would be built for the first time).
  type: str
  returned: always
  sample: sha256:5b003b179d5a0c0d3f
provenance:
  description: The provenance hash of the inputs.
  type: str
  returned: always
  sample: sha256:0c5dd14f62168874ab
previous_provenance:
  description: The provenance label of the image the host had before, or null.
  type: str
  returned: always
  sample: null
base_loaded:
  description: Whether the base image archive was loaded.
  type: bool
  returned: always
  sample: false
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.image._image import (
    ImageError,
    ensure_image,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            context_archive=dict(type="path", required=True),
            build_args=dict(type="dict", default={}),
            labels=dict(type="dict", default={}),
            base_image=dict(type="str", default=""),
            base_image_archive=dict(type="path", default=""),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    docker = module.get_bin_path("docker", required=True)

    def run(args, data=None):
        return module.run_command([docker] + args, data=data, binary_data=data is not None)

    params = module.params
    try:
        with open(params["context_archive"], "rb") as handle:
            context = handle.read()
        result = ensure_image(
            run, params["name"], context,
            {k: str(v) for k, v in params["build_args"].items()},
            {k: str(v) for k, v in params["labels"].items()},
            module.check_mode, params["base_image"], params["base_image_archive"],
            params["force"],
        )
    except (OSError, ImageError) as exc:
        module.fail_json(msg=str(exc))
    if module._diff:
        result["diff"] = {"before": {"provenance": result["previous_provenance"]},
                          "after": {"provenance": result["provenance"]}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
