#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: apt_keyring
short_description: Install an apt signing key, checked against pinned fingerprints
version_added: 0.1.0
description:
  - Downloads an OpenPGP public key, converts it as C(gpg --dearmor) does (without needing gpg
    on the host), checks that every primary key in it is one of O(fingerprints), and writes it
    to O(dest) for an apt source's C(Signed-By).
  - The file is rewritten only when its bytes differ. A key whose fingerprint is not pinned is
    refused and nothing is written, so a tampered or swapped key never reaches apt.
  - The diff shows the fingerprints and SHA-256 of the keyring before and after.
author: inferops.triton developers (@inferops)
options:
  url:
    description: Where the key is published (armored or binary).
    type: str
    required: true
  dest:
    description: The keyring file, e.g. C(/etc/apt/keyrings/rocm.gpg).
    type: path
    required: true
  fingerprints:
    description:
      - The primary key fingerprints (40 hex digits, spaces ignored) the key must carry.
      - Every primary key in the download must be listed here.
    type: list
    elements: str
    required: true
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the download.
    type: int
    default: 30
  mode:
    description: File mode of O(dest).
    type: raw
    default: "0644"
extends_documentation_fragment:
  - inferops.triton.attributes
"""

EXAMPLES = r"""
- name: AMD's ROCm signing key
  inferops.triton.apt_keyring:
    url: https://repo.radeon.com/rocm/rocm.gpg.key
    dest: /etc/apt/keyrings/rocm.gpg
    fingerprints:
      - CA8BB4727A47B4D09B4EE8969386B48A1A693C5C
"""

RETURN = r"""
fingerprints:
  description: The primary key fingerprints of the installed key.
  type: list
  elements: str
  returned: success
  sample: ["CA8BB4727A47B4D09B4EE8969386B48A1A693C5C"]
sha256:
  description: SHA-256 of the binary keyring.
  type: str
  returned: success
check_mode:
  description:
    - Whether the module ran in check mode, so nothing was written. Roles use it to tell that
      the repositories the key signs are not configured yet, whether check mode came from
      C(--check) or from a C(check_mode) keyword (which does not set C(ansible_check_mode)).
  type: bool
  returned: success
"""

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url

from ansible_collections.inferops.triton.plugins.module_utils.common._files import write_atomic
from ansible_collections.inferops.triton.plugins.module_utils.common._openpgp import (
    OpenPgpError,
    dearmor,
    normalise_fingerprint,
    primary_fingerprints,
)


def describe(data):
    if data is None:
        return "(absent)\n"
    try:
        prints = primary_fingerprints(data)
    except OpenPgpError as exc:
        prints = [f"unreadable: {exc}"]
    lines = [f"fingerprint: {value}" for value in prints]
    lines.append(f"sha256: {hashlib.sha256(data).hexdigest()}")
    return "\n".join(lines) + "\n"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            dest=dict(type="path", required=True),
            fingerprints=dict(type="list", elements="str", required=True),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="int", default=30),
            mode=dict(type="raw", default="0644"),
        ),
        supports_check_mode=True,
    )
    url, dest = module.params["url"], module.params["dest"]
    pinned = [normalise_fingerprint(value) for value in module.params["fingerprints"]]
    bad = [value for value in pinned if len(value) != 40
           or any(c not in "0123456789ABCDEF" for c in value)]
    if not pinned or bad:
        module.fail_json(msg=f"fingerprints: {bad or pinned!r} must be 40-hex-digit OpenPGP v4 "
                             "fingerprints, at least one")

    response, info = fetch_url(module, url, timeout=module.params["timeout"])
    if info.get("status") != 200 or response is None:
        module.fail_json(msg=f"could not download the key from {url}: "
                             f"{info.get('status')} {info.get('msg')}")
    try:
        key = dearmor(response.read())
        found = primary_fingerprints(key)
    except OpenPgpError as exc:
        module.fail_json(msg=f"the key at {url} is not usable: {exc}")
    unpinned = [value for value in found if value not in pinned]
    if unpinned:
        module.fail_json(
            msg=f"the key at {url} has primary key {', '.join(unpinned)}, which is not among the "
                f"pinned fingerprints {', '.join(pinned)}; nothing was written. If the publisher "
                "rotated its key, check the new fingerprint out of band and pin it.",
            found=found, pinned=pinned)

    existing = None
    if os.path.exists(dest):
        with open(dest, "rb") as handle:
            existing = handle.read()
    changed = existing != key
    result = {"changed": changed, "fingerprints": found,
              "sha256": hashlib.sha256(key).hexdigest(), "check_mode": module.check_mode}
    if module._diff:
        result["diff"] = {"before": describe(existing), "after": describe(key),
                          "before_header": dest, "after_header": dest}
    if changed and not module.check_mode:
        directory = os.path.dirname(dest)
        if not os.path.isdir(directory):
            module.fail_json(msg=f"{directory} does not exist; create it first")
        write_atomic(dest, key, move=module.atomic_move)
    if not module.check_mode or existing is not None:
        file_args = module.load_file_common_arguments({"path": dest,
                                                       "mode": module.params["mode"]})
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
