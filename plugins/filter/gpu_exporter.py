# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gpu_exporter role's filters over module_utils/monitoring/_exporter_controller, each
documented in the .yml of its own name beside this file: gpu_exporter_plan and
gpu_exporter_units (which the rocm role asks too)."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.common._plain import plain as _plain
from ansible_collections.inferops.triton.plugins.module_utils.monitoring._exporter_controller import (  # noqa: E501
    ExporterError,
    plan,
    units,
)


def gpu_exporter_plan(settings, facts):
    if not isinstance(settings, Mapping) or not isinstance(facts, Mapping):
        raise AnsibleFilterError("gpu_exporter_plan: expected the role's settings and the "
                                 "host's ansible_facts (gather the facts)")
    try:
        return plan(_plain(settings), _plain(facts))
    except ExporterError as exc:
        raise AnsibleFilterError(str(exc)) from None


def gpu_exporter_units(methods):
    try:
        return units(_plain(methods))
    except ExporterError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"gpu_exporter_plan": gpu_exporter_plan,
                "gpu_exporter_units": gpu_exporter_units}
