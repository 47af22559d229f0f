# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A benchmark run on the controller, read for the fleet report: every host's summary.json
of a run directory (:func:`load_run`, each checked by ``_results_controller``), the baseline
run a value names (:func:`resolve_baseline`), the run as rows, one per host x model x
batch size x load level (:func:`fleet_rows`), which the comparison and the report use, and
what the server and the GPU did in each cell (:func:`fleet_cells`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ansible_collections.inferops.triton.plugins.module_utils.bench._results_controller import (
    BenchReportError,
    check_host_summary,
    load_key,
)

# The numbers of a result the report keeps, shows and compares (None where perf_analyzer
# wrote none).
NUMBER_KEYS = (
    "throughput_infer_per_sec",
    "p50_latency_us",
    "p90_latency_us",
    "p95_latency_us",
    "p99_latency_us",
    "avg_latency_us",
    "server_queue_us",
    "server_compute_input_us",
    "server_compute_infer_us",
    "server_compute_output_us",
)


def load_run(run_dir, hosts=None) -> dict:
    """Every ``<host>/summary.json`` of a run directory (or only those of ``hosts``).

    Returns ``{"run_id": str, "dir": str, "hosts": {host: summary}}``, hosts in the order
    given or sorted by name. The run id is the one the summaries carry (the directory name
    when they carry none); summaries of different runs in one directory are an error.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BenchReportError(f"run directory {run_dir} does not exist or is not a directory")
    if hosts:
        names = list(dict.fromkeys(hosts))
    else:
        names = sorted(entry.name for entry in run_dir.iterdir() if entry.is_dir())
        if not names:
            raise BenchReportError(f"run directory {run_dir} holds no host directories "
                                   "(<run_dir>/<host>/summary.json)")
    summaries = {}
    for host in names:
        path = run_dir / host / "summary.json"
        if not path.is_file():
            what = "no results directory" if not path.parent.is_dir() else "no summary.json"
            raise BenchReportError(f"host {host}: {what} in run {run_dir.name} (expected {path})")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise BenchReportError(f"host {host}: cannot read {path}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise BenchReportError(f"host {host}: {path} is not valid JSON: {exc}") from exc
        check_host_summary(data, path)
        summaries[host] = data
    run_ids = {host: data.get("run_id") for host, data in summaries.items() if data.get("run_id")}
    if len(set(run_ids.values())) > 1:
        listed = ", ".join(f"{host}: {run_id}" for host, run_id in run_ids.items())
        raise BenchReportError(f"run directory {run_dir} mixes summaries of different runs "
                               f"({listed})")
    run_id = next(iter(run_ids.values()), None) or run_dir.name
    return {"run_id": str(run_id), "dir": str(run_dir), "hosts": summaries}


def resolve_baseline(value: str, results_dir) -> Path:
    """A baseline run directory: ``value`` as a path (when it holds a ``/`` or starts with
    ``~`` or ``.``) or as a run id under ``results_dir``."""
    value = str(value).strip()
    if not value:
        raise BenchReportError("baseline is empty: give a run directory or a run id")
    if os.sep in value or "/" in value or value.startswith(("~", ".")):
        path = Path(os.path.expanduser(value))
        if not path.is_dir():
            raise BenchReportError(f"baseline {value}: no such run directory")
        return path
    results_dir = Path(results_dir)
    path = results_dir / value
    if path.is_dir():
        return path
    found = sorted(entry.name for entry in results_dir.iterdir()
                   if entry.is_dir()) if results_dir.is_dir() else []
    listed = ", ".join(found) if found else "none"
    raise BenchReportError(f"baseline {value}: no run with that id in {results_dir} "
                           f"(runs found: {listed})")


# --------------------------------------------------------------------------- rows

def _sort_key(row: dict) -> tuple:
    return (row["model"], row["batch_size"], row["load"], row[row["load"]])


def fleet_rows(run: dict) -> list[dict]:
    """One row per host x model x batch size x load level.

    Each row: ``host``, ``model``, ``batch_size``, ``load`` (``"concurrency"`` or
    ``"request_rate"``) and that key with its value, every key of :data:`NUMBER_KEYS` (None
    when perf_analyzer did not write it), ``stable`` and ``csv`` (the raw file). Cells that
    did not stabilise are rows with ``stable: false`` and no numbers; a cell listed both as a
    result and as unstable keeps its numbers but is not stable. Hosts in run order, then by
    model, batch size and load level.
    """
    rows = []
    for host, summary in run["hosts"].items():
        unstable = set()
        for entry in summary.get("unstable") or []:
            load = load_key(entry, host)
            unstable.add((entry["model"], entry["batch_size"], load, entry[load]))
        host_rows = []
        for entry in summary.get("results") or []:
            load = load_key(entry, host)
            cell = (entry["model"], entry["batch_size"], load, entry[load])
            row = {"host": host, "model": entry["model"], "batch_size": entry["batch_size"],
                   "load": load, load: entry[load], "stable": cell not in unstable}
            row.update({key: entry.get(key) for key in NUMBER_KEYS})
            row["csv"] = entry.get("csv")
            host_rows.append(row)
            unstable.discard(cell)
        for model, batch_size, load, value in unstable:
            row = {"host": host, "model": model, "batch_size": batch_size, "load": load,
                   load: value, "stable": False}
            row.update(dict.fromkeys(NUMBER_KEYS))
            row["csv"] = None
            host_rows.append(row)
        rows.extend(sorted(host_rows, key=_sort_key))
    return rows


# --------------------------------------------------------------------------- cells

# What the server and the GPU did in a cell, as the report shows it (None where unknown):
# seconds between the readings, the server's counter differences (queue and compute time
# per request, in microseconds) and the GPU's means, energy and inferences per joule.
CELL_KEYS = (
    "seconds",
    "requests",
    "failures",
    "inferences",
    "server_queue_us",
    "server_compute_us",
    "gpu_power_w",
    "gpu_activity_pct",
    "gpu_energy_j",
    "inferences_per_joule",
)
# a cell's key -> (part of the cell's ``observed``, key in it)
_CELL_SOURCES = {
    "requests": ("server", "requests"),
    "failures": ("server", "failures"),
    "inferences": ("server", "inferences"),
    "server_queue_us": ("server", "queue_us"),
    "server_compute_us": ("server", "compute_us"),
    "gpu_power_w": ("gpu", "power_w"),
    "gpu_activity_pct": ("gpu", "activity_pct"),
    "gpu_energy_j": ("gpu", "energy_j"),
}


def fleet_cells(run: dict) -> list[dict]:
    """One entry per host x model x batch size that a host summary's ``cells`` holds: ``host``,
    ``model``, ``batch_size``, every key of :data:`CELL_KEYS`, ``server_reason`` and
    ``gpu_reason`` (why the server's or the GPU's columns are empty, None when they are not)
    and ``csv``. Hosts in run order, then by model and batch size; a summary without
    ``cells`` (written before the role read the server and the GPU) adds none."""
    cells = []
    for host, summary in run["hosts"].items():
        host_cells = []
        for entry in summary.get("cells") or []:
            parts = {"server": entry.get("server") or {}, "gpu": entry.get("gpu") or {}}
            cell = {"host": host, "model": entry["model"], "batch_size": entry["batch_size"],
                    "seconds": entry.get("seconds"),
                    "inferences_per_joule": entry.get("inferences_per_joule")}
            cell.update({key: parts[part].get(name)
                         for key, (part, name) in _CELL_SOURCES.items()})
            cell["server_reason"] = entry.get("server_reason")
            cell["gpu_reason"] = entry.get("gpu_reason")
            cell["csv"] = entry.get("csv")
            host_cells.append(cell)
        cells.extend(sorted(host_cells, key=lambda c: (c["model"], c["batch_size"])))
    return cells
