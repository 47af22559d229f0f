# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: model_configs
short_description: Validate triton_models and render each config.pbtxt
version_added: 0.1.0
description:
  - Checks every entry's C(config), the protobuf JSON form of Triton's C(ModelConfig),
    against the schema in C(tritonclient) (field names, types, enum values), then
    renders canonical C(config.pbtxt) text.
  - Expands the entry's conveniences - C(accelerator) (C(migraphx), its parameter keys
    checked) and C(instances_per_gpu) - for the host's flavour, and checks the version
    policy against the versions given and that no MIGraphX cache is inside a repository.
  - All errors are reported at once; each names the entry, the field path, the value
    and what would be valid.
options:
  _input:
    description: The C(triton_models) list.
    type: list
    elements: dict
    required: true
  default_backend:
    description: Backend set on configs that name neither C(backend) nor C(platform).
    type: str
    default: ""
  flavour:
    description:
      - The host's server flavour. C(rocm) renders C(backend onnxruntime) with the entry's
        MIGraphX accelerator and C(instances_per_gpu) over O(gpus); C(cpu) renders the same
        entry for the CPU flavour (C(onnxruntime_cpu), C(KIND_CPU), no accelerator).
    type: str
    default: rocm
    choices: [rocm, cpu]
  gpus:
    description: The host's GPU indices (from C(rocm_facts)), for C(instances_per_gpu).
    type: list
    elements: int
    default: []
  repository_paths:
    description: Model repository paths (host and container) no MIGraphX cache may be inside.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Render the model configurations on the controller
  ansible.builtin.set_fact:
    rendered: "{{ triton_models | inferops.triton.model_configs(default_backend='onnxruntime') }}"
"""

RETURN = r"""
_value:
  description: One item per model, with C(name) and C(pbtxt) (the config.pbtxt text).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.models._config_controller import (
    ModelConfigError,
    render_model_configs,
    schema,
)

# Triton's schema (protobuf and model_config_pb2, about 45 ms) loads with this file rather
# than on first use, so that the preload callback, which loads this collection's filters in
# ansible-playbook itself, leaves every forked worker that validates a host's models with it
# loaded. A controller without it learns so from the filter's error.
try:
    schema()
except ModelConfigError:
    pass


def model_configs(models, default_backend="", flavour="rocm", gpus=None, repository_paths=()):
    try:
        return render_model_configs(models, default_backend, flavour, gpus, repository_paths)
    except ModelConfigError as exc:
        raise AnsibleFilterError(f"invalid triton_models:\n{exc}") from None


class FilterModule:
    def filters(self):
        return {"model_configs": model_configs}
