# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rolling upgrade's records: the one each host of the rollout leaves (``rollout_result``,
made by ``host_record``), the summary of them all, and the rule that stops it."""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean

# updated: the new version serves; current: it already did; rolled back: the new version
# failed and the old one serves again; rollback failed: neither serves; not reached: the
# rollout stopped before the host's batch.
OUTCOMES = ("updated", "current", "rolled back", "rollback failed", "not reached")
PASSED = ("updated", "current")


# How a host's switch ended, as the rollout role's tasks know it: the new version passed
# its gate, or it failed and the rollback point was put back (or that failed too).
STAGES = ("switched", "rolled back", "rollback failed")


class RolloutError(ValueError):
    pass


def _image(held) -> dict:
    held = held or {}
    return {"image": held.get("image_ref"), "image_id": held.get("image_id")}


def host_record(stage, host, changed=None, before=None, switched=None, restored=None,
                image_changed=False, models_changed=None, models_removed=None, error="",
                rollback_error="", started=None, ended=None) -> dict:
    """The record a host of the rollout keeps (``rollout_result``) and summary.json lists.

    ``stage``: one of STAGES. ``changed``: what the switch changed (image, models, server,
    each true or false): a switch that changed something is ``updated``, else ``current``.
    ``before``: the rollback point (triton_rollback's result); ``switched``: the new image
    (``image_ref``, ``image_id``); ``restored``: the image the rollback put back, which is
    the image after when the switch failed. ``passed``: whether the host took the new
    version: the verdict the batch's failure and the playbook's end read."""
    if stage not in STAGES:
        raise RolloutError(f"{host}: the rollout stage {stage!r} is not one of "
                           f"{', '.join(STAGES)}")
    if stage == "switched":
        changes = (changed or {}).values()
        outcome = "updated" if any(boolean(flag) for flag in changes) else "current"
    else:
        outcome = stage
    return {
        "host": host,
        "outcome": outcome,
        "passed": outcome in PASSED,
        "before": _image(before),
        "after": _image(switched if stage == "switched" else restored),
        "image_changed": boolean(image_changed),
        "models_changed": list(models_changed or []),
        "models_removed": list(models_removed or []),
        "error": error or None,
        "rollback_error": rollback_error or None,
        "started": started,
        "ended": ended,
    }


def should_stop(outcomes: list, max_fail_percentage) -> bool:
    """True when more than ``max_fail_percentage`` of a batch's hosts did not pass, as
    Ansible's own max_fail_percentage counts a batch (0: any failure stops)."""
    try:
        limit = float(max_fail_percentage)
    except (TypeError, ValueError):
        raise RolloutError(f"rollout_max_fail_percentage: {max_fail_percentage!r} is not a "
                           "number between 0 and 100") from None
    if not 0 <= limit <= 100:
        raise RolloutError(f"rollout_max_fail_percentage: {max_fail_percentage!r} is not "
                           "between 0 and 100")
    if not outcomes:
        return False
    failed = sum(1 for outcome in outcomes if outcome not in PASSED)
    return failed * 100 > limit * len(outcomes)


def _short(image_id):
    return image_id.split(":", 1)[-1][:12] if image_id else "-"


def summarize(hosts: list, results: dict, batches: list, rollout_id: str,
              max_fail_percentage, stopped: bool) -> dict:
    """The rollout's summary: every host in inventory order with its record (or 'not
    reached'), the count per outcome, and ``lines``, a table to print."""
    rows = []
    for host in hosts:
        record = results.get(host)
        if not record:
            rows.append({"host": host, "outcome": "not reached"})
            continue
        if record.get("outcome") not in OUTCOMES:
            raise RolloutError(f"{host}: rollout_result.outcome {record.get('outcome')!r} is "
                               f"not one of {', '.join(OUTCOMES)}")
        rows.append(dict(record, host=host))
    counts = {outcome: sum(1 for row in rows if row["outcome"] == outcome)
              for outcome in OUTCOMES}
    batch_of = {host: index for index, batch in enumerate(batches, 1) for host in batch}
    lines = [f"rollout {rollout_id}: " + ", ".join(
        f"{count} {outcome}" for outcome, count in counts.items() if count)
        + (" - stopped" if stopped else "")]
    for row in rows:
        before, after = row.get("before") or {}, row.get("after") or {}
        line = (f"{row['host']}: {row['outcome']}"
                + (f" (batch {batch_of[row['host']]})" if row["host"] in batch_of else ""))
        if row["outcome"] != "not reached":
            line += (f"; {before.get('image') or '-'} ({_short(before.get('image_id'))})"
                     f" -> {after.get('image') or '-'} ({_short(after.get('image_id'))})")
            changed = row.get("models_changed") or []
            if changed:
                line += "; models " + ", ".join(changed)
        if row.get("error"):
            line += f"; failed at {row['error']}"
        if row.get("rollback_error"):
            line += f"; rollback failed at {row['rollback_error']}"
        lines.append(line)
    return {"rollout": rollout_id, "stopped": bool(stopped),
            "max_fail_percentage": float(max_fail_percentage), "batches": batches,
            "counts": counts, "hosts": rows, "lines": lines}
