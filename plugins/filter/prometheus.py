# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The prometheus role's filters over module_utils/monitoring, each documented in the .yml of
its own name beside this file: prometheus_targets and prometheus_config."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.inferops.triton.plugins.module_utils.monitoring._exporter import (
    DEFAULT_PORT,
    UNITS,
    service_of,
)
from ansible_collections.inferops.triton.plugins.module_utils.monitoring._targets import (
    TargetsError,
    prometheus_config,
    scrape_targets,
)


def _get(variables, key, default=None):
    try:
        value = variables[key]
    except KeyError:
        return default
    return default if value is None else value


def prometheus_targets(names, hostvars):
    hosts = []
    for name in names or []:
        variables = hostvars[name]
        facts = _get(variables, "ansible_facts", {})
        exporter = boolean(_get(variables, "gpu_exporter_enabled", False), strict=False)
        method = str(_get(variables, "gpu_exporter_method", "package"))
        if exporter and method not in UNITS:
            raise AnsibleFilterError(f"prometheus_targets: host {name}: gpu_exporter_method "
                                     f"{method!r} is not one of {', '.join(UNITS)}")
        hosts.append({
            "name": str(name),
            "address": _get(variables, "prometheus_scrape_address")
            or _get(variables, "ansible_host"),
            "instances": _get(variables, "triton_server_instances"),
            "gpus": list((facts.get("rocm") or {}).get("gpus") or []),
            "exporter_port": int(_get(variables, "gpu_exporter_port", DEFAULT_PORT))
            if exporter else None,
            "exporter_service": service_of(method) if exporter else None,
        })
    try:
        return scrape_targets(hosts)
    except TargetsError as exc:
        raise AnsibleFilterError(f"prometheus_targets: {exc}") from None


def prometheus_config_filter(file_sd_dir, rule_files, scrape_interval="15s",
                             evaluation_interval="15s", scrape_timeout=None):
    return prometheus_config(str(file_sd_dir), [str(f) for f in rule_files or []],
                             str(scrape_interval), str(evaluation_interval),
                             str(scrape_timeout) if scrape_timeout else None)


class FilterModule:
    def filters(self):
        return {"prometheus_targets": prometheus_targets,
                "prometheus_config": prometheus_config_filter}
