# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The regression gate of the fleet report: a run's rows against a baseline run's, cell by
cell (host, model, batch size, load level), with the two thresholds (:func:`compare`,
:func:`validate_thresholds`). The words for people are in ``_render_controller``.
"""

from __future__ import annotations

import math

from ansible_collections.inferops.triton.plugins.module_utils.bench._results_controller import (
    BenchReportError,
)


def _cell_key(row: dict) -> tuple:
    load = row["load"]
    return (row["host"], row["model"], row["batch_size"], load, row[load])


def _cell(row: dict) -> dict:
    """The identity of a row: host, model, batch_size and its load key with its value."""
    return {"host": row["host"], "model": row["model"], "batch_size": row["batch_size"],
            row["load"]: row[row["load"]]}


def validate_thresholds(max_throughput_drop_pct, max_p99_rise_pct) -> tuple[float, float]:
    """The two thresholds as floats: a drop of 0 to 100 percent, a rise of 0 or more."""
    checked = []
    for name, value, upper in (("max_throughput_drop_pct", max_throughput_drop_pct, 100.0),
                               ("max_p99_rise_pct", max_p99_rise_pct, None)):
        limits = "between 0 and 100" if upper else "0 or more"
        if isinstance(value, bool):
            raise BenchReportError(f"{name} must be a percentage {limits}, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise BenchReportError(f"{name} must be a percentage {limits}, "
                                   f"got {value!r}") from None
        if math.isnan(number) or number < 0 or (upper is not None and number > upper):
            raise BenchReportError(f"{name} must be a percentage {limits}, got {value!r}")
        checked.append(number)
    return checked[0], checked[1]


def compare(current_rows: list[dict], baseline_rows: list[dict], max_throughput_drop_pct,
            max_p99_rise_pct, baseline_run_id: str | None = None) -> dict:
    """Compare stable cells matched on (host, model, batch size, load key, load value).

    A cell regresses when its throughput dropped by more than ``max_throughput_drop_pct``
    percent or its p99 latency rose by more than ``max_p99_rise_pct`` percent (a cell can
    regress on both: one entry each). Metrics either side lacks are not compared.

    Returns ``{"regressions": [{host, model, batch_size, concurrency|request_rate, metric,
    baseline, current, change_pct, allowed_pct}], "compared": n, "missing": [cells of the
    baseline with no stable result now, with a ``reason``], "new": [stable cells the baseline
    has no stable result for], "baseline_run_id", "max_throughput_drop_pct",
    "max_p99_rise_pct"}``.
    """
    max_drop, max_rise = validate_thresholds(max_throughput_drop_pct, max_p99_rise_pct)
    current = {_cell_key(row): row for row in current_rows}
    baseline = {_cell_key(row): row for row in baseline_rows if row["stable"]}
    regressions, missing, compared = [], [], 0
    for key, base in baseline.items():
        now = current.get(key)
        if now is None or not now["stable"]:
            reason = "not measured" if now is None else "not stable"
            missing.append(dict(_cell(base), reason=reason))
            continue
        compared += 1
        # (metric, allowed change in percent, whether a higher value is better)
        for metric, allowed, higher_is_better in (("throughput_infer_per_sec", -max_drop, True),
                                                  ("p99_latency_us", max_rise, False)):
            before, after = base.get(metric), now.get(metric)
            if before is None or after is None or before <= 0:
                continue
            pct = (after - before) / before * 100
            if (pct < allowed) if higher_is_better else (pct > allowed):
                regressions.append(dict(_cell(now), metric=metric, baseline=before,
                                        current=after, change_pct=round(pct, 2),
                                        allowed_pct=allowed))
    new = [_cell(row) for key, row in current.items() if row["stable"] and key not in baseline]
    return {"regressions": regressions, "compared": compared, "missing": missing, "new": new,
            "baseline_run_id": baseline_run_id, "max_throughput_drop_pct": max_drop,
            "max_p99_rise_pct": max_rise}
