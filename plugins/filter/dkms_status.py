# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: dkms_status
short_description: The modules that dkms status lists
version_added: 0.1.0
description:
  - >-
    Parses C(dkms status) output, in both the older C(module, version, kernel, arch: status)
    and the newer C(module/version, kernel, arch: status) forms, into mappings with
    C(module), C(version), C(kernel), C(arch), C(status) (e.g. C(installed), C(built),
    C(added)) and C(detail) (what follows the status, if anything).
options:
  _input:
    description: The text dkms status printed.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: amdgpu built for the running kernel
  ansible.builtin.set_fact:
    amdgpu_built: "{{ dkms.stdout | inferops.triton.dkms_status
                      | selectattr('kernel', 'equalto', ansible_facts['kernel']) | list }}"
"""

RETURN = r"""
_value:
  description: One mapping per module line.
  type: list
  elements: dict
"""

from ansible_collections.inferops.triton.plugins.module_utils.rocm._facts import parse_dkms_status


def dkms_status(text):
    return parse_dkms_status(str(text or ""))


class FilterModule:
    def filters(self):
        return {"dkms_status": dkms_status}
