# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: model_names
short_description: The names of triton_models, each checked as a model directory name
version_added: 0.1.0
description:
  - >-
    Returns the C(name) of each entry, in order - the models a server serves, its gate waits
    for and a benchmark sweeps.
  - >-
    Each name is checked by the rule the model repository and the controller's validation
    use (C(check_model_name) in C(module_utils/models/_repository.py)) - ASCII letters,
    digits, C(_), C(-) and C(.), not starting with C(.) or C(-), at most 128 characters.
    Every bad name is reported at once, with its entry's index.
options:
  _input:
    description: >-
      The C(triton_models) list (or any list of mappings with a C(name)); null gives an
      empty list.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: The models the server gate waits for
  ansible.builtin.set_fact:
    gate_models: "{{ triton_models | inferops.triton.model_names }}"
"""

RETURN = r"""
_value:
  description: The model names, in the entries' order.
  type: list
  elements: str
  sample: [resnet50, resnet50-next]
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.models import _repository


def model_names(models):
    try:
        return _repository.model_names(models)
    except _repository.RepositoryError as exc:
        raise AnsibleFilterError(f"invalid model names: {exc}") from None


class FilterModule:
    def filters(self):
        return {"model_names": model_names}
