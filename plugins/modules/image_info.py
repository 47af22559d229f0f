#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: image_info
short_description: The images a host holds, by reference - id, tags, digests and labels
version_added: 0.1.0
description:
  - Runs C(docker image inspect) for each reference and returns what the roles decide on -
    the image id, its tags and registry digests, its labels (the provenance among them)
    and when it was made. A reference the host does not hold maps to null.
  - Uses the Docker CLI only; the Docker SDK for Python is not needed on the host.
author: inferops.triton developers (@inferops)
options:
  names:
    description: Image references, C(name:tag) or C(name@digest).
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - inferops.triton.attributes.read_only
requirements:
  - The Docker CLI and a running Docker engine on the host
"""

EXAMPLES = r"""
- name: Read which server image each node holds
  inferops.triton.image_info:
    names: [inferops/tritonserver:rocm7.2]
  register: held
"""

RETURN = r"""
images:
  description: Reference to its image, or null when the host has none.
  type: dict
  returned: always
  sample:
    "inferops/tritonserver:cpu":
      id: sha256:2f1b5c0e6d0a4c8b9f7e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a
      repo_tags: ["inferops/tritonserver:cpu"]
      repo_digests: []
      labels: {org.inferops.triton.provenance: "sha256:0c5dd14f"}
      created: "2026-11-25T12:00:00.000000000Z"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.image._image import (
    ImageError,
    inspect,
    summary,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(names=dict(type="list", elements="str", required=True)),
        supports_check_mode=True,
    )
    docker = module.get_bin_path("docker", required=True)

    def run(args, data=None):
        return module.run_command([docker, *args], data=data)

    try:
        images = {name: summary(inspect(run, name)) for name in module.params["names"]}
    except ImageError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, images=images)


if __name__ == "__main__":
    main()
