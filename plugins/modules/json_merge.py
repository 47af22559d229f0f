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

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils._jsonfile import plan


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            content=dict(type="dict", required=True),
            mode=dict(type="raw", default="0644"),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    existing = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            existing = handle.read()
    try:
        before, after = plan(existing, module.params["content"])
    except ValueError as exc:
        module.fail_json(msg=f"{path} is not a JSON object ({exc}); fix or remove it first")
    result = {"changed": before != after, "content": json.loads(after)}
    if module._diff:
        result["diff"] = {"before": before, "after": after,
                          "before_header": path, "after_header": path}
    if result["changed"] and not module.check_mode:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".inferops-tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(after)
        module.atomic_move(tmp, path)
    file_args = module.load_file_common_arguments({"path": path, "mode": module.params["mode"]})
    if not module.check_mode or os.path.exists(path):
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
