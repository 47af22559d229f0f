# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: apt_without_candidate
short_description: The packages apt cannot install, from an apt-cache policy loop
version_added: 0.1.0
description:
  - >-
    Takes the C(results) of a registered loop that ran C(apt-cache policy <item>) for each
    package and returns the items whose output names no candidate version - a name apt knows
    but no source offers (C(Candidate: (none))) or one it does not know (no output at all).
  - Results without C(stdout) (skipped iterations) are left out.
options:
  _input:
    description: The registered loop's C(results).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Look the kernel headers up
  ansible.builtin.command:
    argv: [apt-cache, policy, "{{ item }}"]
  loop: ["linux-headers-{{ ansible_facts['kernel'] }}"]
  register: policy
  changed_when: false

- name: The ones no source offers
  ansible.builtin.debug:
    msg: "{{ policy.results | inferops.triton.apt_without_candidate }}"
"""

RETURN = r"""
_value:
  description: The loop items (package names) apt has no candidate for, in the loop's order.
  type: list
  elements: str
"""

from ansible_collections.inferops.triton.plugins.module_utils.rocm._repo_controller import (
    without_candidate,
)


def apt_without_candidate(results):
    return without_candidate(results)


class FilterModule:
    def filters(self):
        return {"apt_without_candidate": apt_without_candidate}
