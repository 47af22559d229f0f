#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: build_context
short_description: Pack a directory into a reproducible build-context tar
version_added: 0.1.0
description:
  - Packs O(src) into the tar archive O(dest) with sorted entries, zero times and
    owners, and normalised modes, so the archive depends only on the files' names,
    contents and executable bits.
  - The archive is written only when its bytes differ from O(dest); the roles run this
    on the controller once per fleet and copy the result to every host that builds.
author: inferops.triton developers (@inferops)
options:
  src:
    description: Directory holding the build context (with its C(Dockerfile)).
    type: path
    required: true
  dest:
    description: Path of the tar archive to write.
    type: path
    required: true
extends_documentation_fragment:
  - inferops.triton.attributes
"""

EXAMPLES = r"""
- name: Pack the server build context on the controller
  inferops.triton.build_context:
    src: ~/.cache/inferops.triton/server-context
    dest: ~/.cache/inferops.triton/server-context.tar
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
sha256:
  description: SHA-256 of the archive.
  type: str
  returned: always
  sample: 9f2c1b0e8d7a6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3
size:
  description: Size of the archive in bytes.
  type: int
  returned: always
  sample: 104857600
"""

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.common._files import (
    sha256_file,
    write_atomic,
)
from ansible_collections.inferops.triton.plugins.module_utils.image._image import (
    ImageError,
    pack_context,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path", required=True),
        ),
        supports_check_mode=True,
    )
    src, dest = module.params["src"], module.params["dest"]
    if not os.path.isdir(src):
        module.fail_json(msg=f"src {src} is not a directory")
    try:
        data = pack_context(src)
    except (OSError, ImageError) as exc:
        module.fail_json(msg=f"cannot pack {src}: {exc}")
    new = hashlib.sha256(data).hexdigest()
    old = sha256_file(dest)
    result = {"changed": new != old, "sha256": new, "size": len(data)}
    if module._diff:
        result["diff"] = {"before": {"sha256": old}, "after": {"sha256": new}}
    if result["changed"] and not module.check_mode:
        write_atomic(dest, data, move=module.atomic_move)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
