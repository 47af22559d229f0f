#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: json_merge
short_description: Merge keys into a JSON object file without overwriting the rest
version_added: 0.1.0
description:
  - Lays O(content) over the JSON object in O(path); nested objects merge key by key, and
    keys that other tools wrote stay as they are. Used for Docker's C(daemon.json).
  - The file is rewritten (sorted keys, two-space indent) only when the merged object
    differs from what the file holds.
author: inferops.triton developers (@inferops)
options:
  path:
    description: The JSON file; created when missing.
    type: path
    required: true
  content:
    description: Keys to set.
    type: dict
    required: true
  mode:
    description: File mode when the file is written.
    type: raw
    default: "0644"
extends_documentation_fragment:
  - inferops.triton.attributes
"""

EXAMPLES = r"""
- name: Keep container logs bounded
  inferops.triton.json_merge:
    path: /etc/docker/daemon.json
    content:
      log-driver: json-file
      log-opts:
        max-size: 50m
"""

RETURN = r"""
content:
  description: The merged object now in the file (or that would be, in check mode).
  type: dict
  returned: always
  sample: {"log-driver": "json-file"}
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils._jsonfile import merge_file


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            content=dict(type="dict", required=True),
            mode=dict(type="raw", default="0644"),
        ),
        supports_check_mode=True,
    )
    try:
        merged = merge_file(module, module.params["path"], module.params["content"],
                            module.params["mode"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": merged["content_changed"] or merged["mode_changed"],
              "content": merged["content"]}
    if "diff" in merged:
        result["diff"] = merged["diff"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
