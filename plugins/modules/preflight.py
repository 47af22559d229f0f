#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: preflight
short_description: Check every input of a playbook's roles before any host changes
version_added: 0.1.0
description:
  - An action that runs on the controller only and never contacts the host.
  - For each role that I(playbook) runs (or each of I(roles)), checks the host's variables
    against the role's argument spec (C(meta/argument_specs.yml)), the host's variables
    taking precedence over the role's defaults as in a play; then the rules a spec cannot
    say, which relate variables to each other or to the host's GPUs - ports distinct and in
    range across the servers of a host, host paths absolute, benchmark ranges ordered and
    batch sizes within each model's C(max_batch_size), the model configurations against
    Triton's schema and model names that are directory names, image source settings
    complete, extra arguments that would override what a role sets, removed variables.
  - Fails with every problem of the host at once, each naming the variable, its value and
    what would be valid. The list of checks is in the collection's C(docs/preflight.md).
author: inferops.triton developers (@inferops)
options:
  playbook:
    description:
      - The playbook whose roles to check. C(site) leaves out C(rocm) unless C(rocm_enabled)
        and C(benchmark) when C(benchmark_enabled) is false.
    type: str
    choices: [site, rollout, benchmark]
    default: site
  roles:
    description: The roles to check, instead of a playbook's.
    type: list
    elements: str
extends_documentation_fragment:
  - inferops.triton.attributes.read_only
"""

EXAMPLES = r"""
- name: Check every input of site.yml's roles before any host changes
  inferops.triton.preflight:
    playbook: site
  register: _inferops_preflight

- name: Check one role's input when it runs on its own
  inferops.triton.preflight:
    roles: [triton_image]
"""

RETURN = r"""
roles:
  description: The roles whose input was checked.
  returned: always
  type: list
  elements: str
errors:
  description: Every problem found, one per line, each naming the variable.
  returned: always
  type: list
  elements: str
"""
