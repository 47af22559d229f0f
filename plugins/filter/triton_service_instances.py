# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: triton_service_instances
short_description: The Triton servers a host would run, checked against its GPUs
version_added: 0.1.0
description:
  - Works out, on the controller, the servers M(inferops.triton.triton_service) would run on
    a host - per server its unit, GPU indices, devices, group ids, environment and ports -
    from the role's settings and the host's M(inferops.triton.rocm_facts).
  - Raises an error naming the variable, its value and what would be valid (a GPU index the
    host does not have, a GPU mode on a host without GPUs, restricted APIs without a key), so
    the pre-flight stops before any host changes.
options:
  _input:
    description: The settings, keyed as the options of M(inferops.triton.triton_service).
    type: dict
    required: true
  rocm:
    description: C(ansible_facts.rocm) of the host; none for C(gpu_mode=none).
    type: dict
"""

EXAMPLES = r"""
- name: Check the passthrough settings against the host's GPUs
  ansible.builtin.set_fact:
    servers: "{{ settings | inferops.triton.triton_service_instances(ansible_facts.rocm) }}"
"""

RETURN = r"""
_value:
  description: >-
    One dict per server - C(unit), C(index), C(gpus), C(devices), C(groups), C(env),
    C(ports).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.server._service import (
    ServiceError,
    journal_errors,
    render,
)

DEFAULTS = {
    "name": "triton-server", "container_name": "triton-server", "image": "image",
    "model_repository": "/var/lib/inferops-triton/models", "http_port": 8000,
    "grpc_port": 8001, "metrics_port": 8002, "port_step": 10, "bind_address": "0.0.0.0",
    "shm_size": "1g", "gpu_mode": "none", "gpu_indices": [], "models": [], "env": {},
    "model_control_mode": "none", "load_models": ["*"], "strict_readiness": True,
    "exit_on_error": False, "log_verbose": 0, "extra_args": [], "restricted_apis": [],
    "restricted_key": "Triton-Admin-Key", "restricted_value": None, "start_timeout": 600,
    "stop_timeout": 60, "restart_max_delay": 120,
    "migraphx_cache_dir": "/var/cache/inferops-triton/migraphx",
}


def triton_service_instances(settings, rocm=None):
    merged = dict(DEFAULTS)
    merged.update({key: value for key, value in dict(settings).items() if value is not None})
    try:
        return render(merged, rocm)["instances"]
    except ServiceError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"triton_service_instances": triton_service_instances,
                "triton_journal_errors": journal_errors}
