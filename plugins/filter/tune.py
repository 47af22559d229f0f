# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Autotune's rules for plays: tuned_models, tune_target and tune_canary_refusal, each
documented in the .yml of its own name beside this file."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.tune._record_controller import (
    TuneError,
    canary_refusal,
    load_records,
    messages,
    target_of,
    tuned_models,
)


def tuned_models_filter(models, tuned_dir, flavour, rocm=None, image_id=None):
    try:
        records = load_records(tuned_dir)
        tuning = tuned_models(list(models or []), records, str(flavour), rocm or {},
                              image_id or None)
    except TuneError as exc:
        raise AnsibleFilterError(f"tuned_models: {exc}") from None
    return dict(tuning, messages=messages(tuning))


def tune_target(flavour, rocm=None):
    try:
        return target_of(str(flavour), rocm or {})
    except TuneError as exc:
        raise AnsibleFilterError(f"tune_target: {exc}") from None


def tune_canary_refusal(canaries, fleet, variable="tune_hosts"):
    return canary_refusal(list(canaries or []), list(fleet or []), variable)


class FilterModule:
    def filters(self):
        return {"tuned_models": tuned_models_filter, "tune_target": tune_target,
                "tune_canary_refusal": tune_canary_refusal}
