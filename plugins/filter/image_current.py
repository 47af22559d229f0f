# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: image_current
short_description: Whether every host holds an image with the given provenance
version_added: 0.1.0
description:
  - >-
    Takes the M(inferops.triton.image_info) results of the play's hosts and tells whether each
    holds O(ref) with the C(org.inferops.triton.provenance) label O(provenance) - the label
    P(inferops.triton.image_provenance#filter) computes and the image modules write.
  - A host whose result has no C(images) (it did not read them) does not hold it, and no
    host does when O(provenance) is empty.
options:
  _input:
    description: One M(inferops.triton.image_info) result per host.
    type: list
    elements: dict
    required: true
  ref:
    description: The image reference, as given to M(inferops.triton.image_info) in C(names).
    type: str
    required: true
  provenance:
    description: The provenance the image must carry, C(sha256:<hex>).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Whether the whole play holds the current CPU image
  ansible.builtin.set_fact:
    fleet_current: >-
      {{ ansible_play_hosts | map('extract', hostvars) | map(attribute='held', default={})
         | inferops.triton.image_current('inferops/tritonserver:cpu', stamp['provenance']) }}
  run_once: true
"""

RETURN = r"""
_value:
  description: True when every host holds the image with that provenance.
  type: bool
"""

from ansible_collections.inferops.triton.plugins.module_utils.image._image import all_hold


def image_current(results, ref, provenance):
    return all_hold(list(results or []), str(ref), provenance or None)


class FilterModule:
    def filters(self):
        return {"image_current": image_current}
