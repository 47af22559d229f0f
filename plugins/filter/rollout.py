# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rolling upgrade's records, summary and stop rule: rollout_host_record, rollout_summary
and rollout_should_stop, each documented in the .yml of its own name beside this file."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.rollout._rollout_controller import (
    RolloutError,
    host_record,
    should_stop,
    summarize,
)


def rollout_host_record(stage, **facts):
    try:
        return host_record(stage, **facts)
    except (RolloutError, TypeError) as exc:
        raise AnsibleFilterError(f"rollout_host_record: {exc}") from None


def rollout_summary(hosts, results, batches=None, rollout_id="", max_fail_percentage=0,
                    stopped=False):
    try:
        return summarize(list(hosts), dict(results or {}), list(batches or []),
                         str(rollout_id), max_fail_percentage, bool(stopped))
    except RolloutError as exc:
        raise AnsibleFilterError(str(exc)) from None


def rollout_should_stop(outcomes, max_fail_percentage=0):
    try:
        return should_stop(list(outcomes), max_fail_percentage)
    except RolloutError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"rollout_host_record": rollout_host_record, "rollout_summary": rollout_summary,
                "rollout_should_stop": rollout_should_stop}
