#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: image_export
short_description: Publish a host's image to a registry or to a compressed archive, once
version_added: 0.1.0
description:
  - The builder's half of fleet distribution - the image made once on a builder host leaves
    it either by O(push_to) a registry or as a gzipped C(docker save) O(archive) the
    controller carries to nodes without a registry.
  - O(push_to) pushes only when the registry does not already hold the host's image id under
    that reference (C(docker manifest inspect) reads the registry's manifest; no layer is
    pulled). Credentials are used through a temporary Docker client configuration that is
    removed afterwards.
  - O(archive) is written only when the archive there does not already hold the image; next
    to it, C(<archive>.json) records the image id, size and sha256 that nodes and the
    controller check the transfer against. The archive is written under a temporary name and
    renamed, so a half-written archive is never taken for a whole one.
author: inferops.triton developers (@inferops)
options:
  name:
    description: The image on the host, C(name:tag).
    type: str
    required: true
  push_to:
    description: The registry reference to push to, C(registry:port/name:tag).
    type: str
  archive:
    description: The path of the gzipped archive to write on the host.
    type: path
  registry_username:
    description: With O(push_to), the registry login, when it needs one.
    type: str
  registry_password:
    description: With O(push_to), the password or token of O(registry_username).
    type: str
  force:
    description: Push or write even when the registry or archive already holds the image.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reads the registry or the archive record; reports whether it would push or write.
  diff_mode:
    support: full
    description: Shows the image id held before and after.
requirements:
  - The Docker CLI and a running Docker engine on the host
"""

EXAMPLES = r"""
- name: Push the builder's image to the fleet registry
  inferops.triton.image_export:
    name: inferops/tritonserver:rocm7.2-ubuntu
    push_to: registry.example.com:5000/inferops/tritonserver:rocm7.2-ubuntu
    registry_username: fleet
    registry_password: "{{ vault_registry_password }}"

- name: Save it for nodes without a registry
  inferops.triton.image_export:
    name: inferops/tritonserver:rocm7.2-ubuntu
    archive: /var/lib/inferops-triton/dist/tritonserver.tar.gz
"""

RETURN = r"""
image_id:
  description: The id of the host's image.
  type: str
  returned: always
  sample: sha256:9f4eb045b2c0180bc4c175679938653fc39d409e3279cb87c0f7c0db000716e5
digest:
  description: With O(push_to), the digest the push returned (null when nothing was pushed).
  type: str
  returned: with O(push_to)
  sample: registry.example.com:5000/inferops/tritonserver@sha256:a93c63db1af487008bf126f3ab7f426d
sha256:
  description: With O(archive), the sha256 of the archive (null in check mode before it exists).
  type: str
  returned: with O(archive)
size:
  description: With O(archive), its size in bytes.
  type: int
  returned: with O(archive)
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.image._image import (
    ImageError,
    ensure_pushed,
    ensure_saved,
    registry_session,
    split_ref,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            push_to=dict(type="str"),
            archive=dict(type="path"),
            registry_username=dict(type="str"),
            registry_password=dict(type="str", no_log=True),
            force=dict(type="bool", default=False),
        ),
        required_one_of=[("push_to", "archive")],
        mutually_exclusive=[("push_to", "archive")],
        required_together=[("registry_username", "registry_password")],
        supports_check_mode=True,
    )
    p = module.params
    docker_bin = module.get_bin_path("docker", required=True)

    def docker(args, data=None):
        return module.run_command([docker_bin, *args], data=data)

    try:
        if p["push_to"]:
            with registry_session(docker, split_ref(p["push_to"])[0], p["registry_username"],
                                  p["registry_password"]) as authed:
                result = ensure_pushed(authed, p["name"], p["push_to"], module.check_mode,
                                       p["force"])
            before = result["previous_remote_id"]
        else:
            result = ensure_saved(docker, p["name"], p["archive"], module.check_mode,
                                  p["force"])
            before = result["previous_image_id"]
    except (ImageError, OSError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    if module._diff:
        result["diff"] = {"before": {"image_id": before}, "after": {"image_id": result["image_id"]}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
