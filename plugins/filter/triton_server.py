# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The triton_server role's filters over module_utils/server, each documented in the .yml
of its own name beside this file: triton_api_headers, triton_journal_errors,
triton_server_plan, triton_api_refusals and triton_server_instances."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.inferops.triton.plugins.module_utils.server._placement import (
    ServiceError,
    instances,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._plan import (
    change_plan,
    refusals,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._service import journal_errors
from ansible_collections.inferops.triton.plugins.module_utils.server._unit import api_headers


def triton_api_headers(restricted_apis, key="Triton-Admin-Key", value=""):
    return api_headers(list(restricted_apis or []), str(key), value)


def triton_journal_errors(text, limit=8):
    return journal_errors(str(text or ""), int(limit))


def triton_server_plan(control_mode, image_changed=False, repository_changed=False,
                       changed_models=None, removed_models=None):
    return change_plan(boolean(image_changed, strict=False),
                       boolean(repository_changed, strict=False), str(control_mode),
                       list(changed_models or []), list(removed_models or []))


def triton_api_refusals(results, instances=1):
    return refusals(list(results or []), int(instances))


def triton_server_instances(gpu_mode, name, http_port, grpc_port, metrics_port, port_step,
                            gpu_indices=None, rocm=None):
    settings = {"gpu_mode": str(gpu_mode), "name": str(name), "http_port": int(http_port),
                "grpc_port": int(grpc_port), "metrics_port": int(metrics_port),
                "port_step": int(port_step), "gpu_indices": [int(i) for i in gpu_indices or []]}
    try:
        return instances(settings, dict(rocm or {}))
    except ServiceError as exc:
        raise AnsibleFilterError(f"triton_server_instances: {exc}") from None


class FilterModule:
    def filters(self):
        return {"triton_api_headers": triton_api_headers,
                "triton_journal_errors": triton_journal_errors,
                "triton_server_plan": triton_server_plan,
                "triton_api_refusals": triton_api_refusals,
                "triton_server_instances": triton_server_instances}
