# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: rocminfo_agents
short_description: The HSA agents that rocminfo lists
version_added: 0.1.0
description:
  - Parses the output of C(rocminfo) into one mapping per agent (CPU and GPU), with at least
    C(name) (e.g. C(gfx942)), C(marketing_name), C(device_type) (C(CPU) or C(GPU)), C(uuid),
    C(node) and, where printed, C(compute_units).
  - Output that lists no agent (for instance rocminfo's message when the amdgpu module is not
    loaded) gives an empty list.
options:
  _input:
    description: The text rocminfo printed.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The GPU agents
  ansible.builtin.set_fact:
    gpu_agents: "{{ rocminfo.stdout | inferops.triton.rocminfo_agents
                    | selectattr('device_type', 'equalto', 'GPU') | list }}"
"""

RETURN = r"""
_value:
  description: One mapping per agent, in rocminfo's order.
  type: list
  elements: dict
"""

from ansible_collections.inferops.triton.plugins.module_utils.rocm._facts import parse_rocminfo


def rocminfo_agents(text):
    return parse_rocminfo(str(text or ""))


class FilterModule:
    def filters(self):
        return {"rocminfo_agents": rocminfo_agents}
