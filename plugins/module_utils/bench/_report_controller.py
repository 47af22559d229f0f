# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report of a benchmark run, on the controller, and its regression gate.

A run directory holds one directory per host, each with the ``summary.json`` the benchmark
role wrote (the perf_analyzer numbers of every model x batch x load level, plus what was
measured: image, ROCm, GPU, perf_analyzer version; built and checked in
``_results_controller``). This module turns a run into rows (one
per host x model x batch x load level), writes them as CSV and JSON, renders a Markdown
report and a throughput / p99 latency plot, and compares a run with a baseline run.

Latencies are microseconds in the data and milliseconds in the report. Standard library
only; matplotlib is imported inside :func:`plot_png`, and its absence only skips the plot.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
import os
from pathlib import Path

from ansible_collections.inferops.triton.plugins.module_utils.bench._results_controller import (
    LOAD_KEYS,
    BenchReportError,
    check_host_summary,
    load_key,
)
from ansible_collections.inferops.triton.plugins.module_utils.common._files import write_atomic

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
CSV_COLUMNS = ("host", "model", "batch_size", "concurrency", "request_rate", "stable",
               *NUMBER_KEYS, "csv")
OUTPUT_FILES = ("summary.csv", "summary.json", "report.md", "report.png")
# The report's files are for people to read.
REPORT_MODE = 0o644

_LOAD_LABELS = {"concurrency": "concurrency", "request_rate": "request rate"}
_METRIC_LABELS = {"throughput_infer_per_sec": ("throughput", "infer/s", 1.0),
                  "p99_latency_us": ("p99 latency", "ms", 1000.0)}


# --------------------------------------------------------------------------- loading

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


# --------------------------------------------------------------------------- rows

def _cell_key(row: dict) -> tuple:
    load = row["load"]
    return (row["host"], row["model"], row["batch_size"], load, row[load])


def _cell(row: dict) -> dict:
    """The identity of a row: host, model, batch_size and its load key with its value."""
    return {"host": row["host"], "model": row["model"], "batch_size": row["batch_size"],
            row["load"]: row[row["load"]]}


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


# --------------------------------------------------------------------------- writing

def _write_text(path, text: str) -> None:
    """A report file, replaced atomically, readable by everyone (0644)."""
    write_atomic(str(path), text, mode=REPORT_MODE)


def render_summary_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: ("" if row.get(key) is None else row.get(key))
                         for key in CSV_COLUMNS})
    return out.getvalue()


def write_summary_csv(rows: list[dict], path) -> None:
    """The rows as CSV: :data:`CSV_COLUMNS`, empty cells for missing numbers."""
    _write_text(path, render_summary_csv(rows))


def fleet_summary(run: dict, rows: list[dict], comparison: dict | None = None) -> dict:
    """The fleet's ``<run id>/summary.json`` (another shape than a host's, which
    ``_results_controller.host_summary`` builds)::

        {"run_id": str,
         "hosts": {host: {"started", "ended", "measurement_seconds", "metadata"}},
         "rows": [:func:`fleet_rows`],
         "comparison": :func:`compare`'s result, or None when no baseline was given}
    """
    hosts = {}
    for host, summary in run["hosts"].items():
        hosts[host] = {key: summary.get(key) for key in
                       ("started", "ended", "measurement_seconds")}
        hosts[host]["metadata"] = summary.get("metadata") or {}
    return {"run_id": run["run_id"], "hosts": hosts, "rows": rows, "comparison": comparison}


def write_summary_json(run: dict, rows: list[dict], path, comparison: dict | None = None) -> None:
    """:func:`fleet_summary` as JSON (two-space indent, sorted keys)."""
    _write_text(path, json.dumps(fleet_summary(run, rows, comparison), indent=2,
                                 sort_keys=True) + "\n")


# --------------------------------------------------------------------------- report

def _ms(value) -> str:
    return "" if value is None else f"{value / 1000:.1f}"


def _compute_us(row: dict):
    parts = [row.get(key) for key in ("server_compute_input_us", "server_compute_infer_us",
                                      "server_compute_output_us")]
    present = [part for part in parts if part is not None]
    return sum(present) if present else None


def _md(value) -> str:
    text = "-" if value is None or value == "" else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _load_text(row: dict, with_name: bool) -> str:
    value = row[row["load"]]
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{_LOAD_LABELS[row['load']]} {text}" if with_name else text


def _short_id(value) -> str | None:
    if not value:
        return None
    text = str(value)
    algo, sep, digest = text.partition(":")
    return f"{algo}:{digest[:12]}" if sep else text[:12]


def _metadata_cells(summary: dict) -> list:
    meta = summary.get("metadata") or {}
    image = meta.get("server_image")
    image_id = _short_id(meta.get("server_image_id"))
    if image and image_id:
        image = f"{image} ({image_id})"
    count = meta.get("gpu_count") or 0
    gpu = f"{meta.get('gpu_model') or 'GPU'} \u00d7 {count}" if count else "none"
    configs = meta.get("model_config_sha256") or {}
    config = ", ".join(f"{model} {str(digest)[:12]}" for model, digest in sorted(configs.items()))
    return [image or image_id, meta.get("server_image_digest"), meta.get("rocm_version"), gpu,
            meta.get("perf_analyzer_version"), config, summary.get("started"),
            summary.get("ended")]


def _table(header: list[str], align: list[str], body: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines


def _format_change(entry: dict) -> str:
    label, unit, scale = _METRIC_LABELS[entry["metric"]]
    return (f"{label} {entry['baseline'] / scale:.1f} -> {entry['current'] / scale:.1f} {unit} "
            f"({entry['change_pct']:+.1f}%, allowed {entry['allowed_pct']:+g}%)")


def _cell_text(cell: dict) -> str:
    load = next(key for key in LOAD_KEYS if key in cell)
    row = dict(cell, load=load)
    return (f"{cell['host']} {cell['model']} batch {cell['batch_size']} "
            f"{_load_text(row, with_name=True)}")


def _grouped_regressions(regressions: list[dict]) -> list[tuple[dict, list[dict]]]:
    groups: dict[tuple, tuple[dict, list]] = {}
    for entry in regressions:
        load = next(key for key in LOAD_KEYS if key in entry)
        key = (entry["host"], entry["model"], entry["batch_size"], load, entry[load])
        cell = {"host": entry["host"], "model": entry["model"],
                "batch_size": entry["batch_size"], load: entry[load]}
        groups.setdefault(key, (cell, []))[1].append(entry)
    return list(groups.values())


def render_report_md(run: dict, rows: list[dict], comparison: dict | None = None) -> str:
    """The Markdown report: a table per model, a metadata table per host and, when a
    baseline was compared (``comparison`` from :func:`compare`), the regressions."""
    hosts = run["hosts"]
    protocols = sorted({str((s.get("metadata") or {}).get("protocol")) for s in hosts.values()
                        if (s.get("metadata") or {}).get("protocol")})
    lines = [f"# Benchmark run {run['run_id']}", ""]
    stable = sum(1 for row in rows if row["stable"])
    intro = (f"{len(hosts)} host{'s' if len(hosts) != 1 else ''}, {len(rows)} cells "
             f"({stable} stable), measured by perf_analyzer")
    if protocols:
        intro += f" over {', '.join(protocols)}"
    lines += [intro + ". Throughput in inferences per second; latencies in milliseconds; "
              "server compute is input + infer + output.", ""]
    models = list(dict.fromkeys(row["model"] for row in sorted(rows, key=lambda r: r["model"])))
    for model in models:
        model_rows = [row for row in rows if row["model"] == model]
        loads = {row["load"] for row in model_rows}
        mixed = len(loads) > 1
        load_header = "load" if mixed else _LOAD_LABELS[loads.pop()]
        body = []
        for row in model_rows:
            cells = [_md(row["host"]), str(row["batch_size"]), _load_text(row, mixed)]
            if not row["stable"] and row["throughput_infer_per_sec"] is None:
                cells += ["not stable"] + [""] * 6
            else:
                throughput = row["throughput_infer_per_sec"]
                cells += [("" if throughput is None else f"{throughput:.1f}")
                          + ("" if row["stable"] else " (not stable)"),
                          _ms(row["p50_latency_us"]), _ms(row["p90_latency_us"]),
                          _ms(row["p99_latency_us"]), _ms(row["server_queue_us"]),
                          _ms(_compute_us(row))]
            body.append(cells)
        lines += [f"## {model}", ""]
        lines += _table(["host", "batch", load_header, "infer/s", "p50 ms", "p90 ms", "p99 ms",
                         "server queue ms", "server compute ms"],
                        ["l", "r", "r", "r", "r", "r", "r", "r", "r"], body)
        lines.append("")
    if not rows:
        lines += ["No results.", ""]
    lines += ["## Hosts", ""]
    lines += _table(["host", "image", "digest", "ROCm", "GPU", "perf_analyzer",
                     "model config sha256", "started", "ended"], ["l"] * 9,
                    [[_md(host)] + [_md(cell) for cell in _metadata_cells(summary)]
                     for host, summary in hosts.items()])
    lines.append("")
    if comparison is not None:
        lines += _render_comparison(comparison)
    return "\n".join(lines).rstrip("\n") + "\n"


def _render_comparison(comparison: dict) -> list[str]:
    baseline = comparison.get("baseline_run_id") or "the baseline"
    lines = [f"## Regressions against {baseline}", "",
             f"Allowed: throughput down by at most {comparison['max_throughput_drop_pct']:g}%, "
             f"p99 latency up by at most {comparison['max_p99_rise_pct']:g}%; "
             f"{comparison['compared']} cells compared.", ""]
    groups = _grouped_regressions(comparison["regressions"])
    if groups:
        for cell, entries in groups:
            lines.append(f"- {_md(_cell_text(cell))}: "
                         + "; ".join(_format_change(entry) for entry in entries))
    else:
        lines.append("None.")
    lines.append("")
    if comparison["missing"]:
        lines += ["Baseline cells without a stable result in this run:", ""]
        lines += [f"- {_md(_cell_text(cell))} ({cell['reason']})"
                  for cell in comparison["missing"]]
        lines.append("")
    if comparison["new"]:
        lines += ["Cells not in the baseline:", ""]
        lines += [f"- {_md(_cell_text(cell))}" for cell in comparison["new"]]
        lines.append("")
    return lines


# --------------------------------------------------------------------------- plot

def plot_png(rows: list[dict], path, title: str | None = None) -> bool:
    """Throughput (x) against p99 latency in ms (y), one curve per host (per host x model x
    batch size when the rows hold several), points in load order. Stable rows only.

    Returns False, writing nothing, when matplotlib is not importable.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False
    points = [row for row in rows if row["stable"] and row["throughput_infer_per_sec"]
              is not None and row["p99_latency_us"] is not None]
    per_host = len({(row["model"], row["batch_size"]) for row in points}) > 1
    mixed = len({row["load"] for row in points}) > 1
    curves: dict[tuple, list[dict]] = {}
    for row in points:
        curves.setdefault((row["host"], row["model"], row["batch_size"], row["load"]),
                          []).append(row)
    figure = Figure(figsize=(8, 5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for (host, model, batch_size, load), curve in curves.items():
        curve.sort(key=lambda row: row[load])
        label = f"{host} {model} b{batch_size}" if per_host else host
        if mixed:
            label += f" ({_LOAD_LABELS[load]})"
        xs = [row["throughput_infer_per_sec"] for row in curve]
        ys = [row["p99_latency_us"] / 1000 for row in curve]
        (line,) = axes.plot(xs, ys, marker="o", label=label)
        for x, y, row in zip(xs, ys, curve):
            axes.annotate(_load_text(row, with_name=False), (x, y), textcoords="offset points",
                          xytext=(4, 4), fontsize=7, color=line.get_color())
    if curves:
        loads = sorted({_LOAD_LABELS[row["load"]] for row in points})
        axes.legend(fontsize=8, title_fontsize=8, title=f"points: {' / '.join(loads)}")
    else:
        axes.text(0.5, 0.5, "no stable results", ha="center", va="center",
                  transform=axes.transAxes)
    axes.set_xlabel("throughput (infer/s)")
    axes.set_ylabel("p99 latency (ms)")
    axes.set_title(title or "throughput against p99 latency")
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png")
    write_atomic(str(path), image.getvalue(), mode=REPORT_MODE)
    return True


# --------------------------------------------------------------------------- compare

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


def regression_message(comparison: dict) -> str:
    """One line for a failed gate: each regressed cell and by how much."""
    groups = _grouped_regressions(comparison["regressions"])
    baseline = comparison.get("baseline_run_id") or "the baseline"
    noun = "cell" if len(groups) == 1 else "cells"
    details = "; ".join(f"{_cell_text(cell)}: " + ", ".join(_format_change(e) for e in entries)
                        for cell, entries in groups)
    return f"{len(groups)} {noun} regressed against run {baseline}: {details}"


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


# --------------------------------------------------------------------------- the whole report

def make_report(run_dir, hosts=None, baseline=None, results_dir=None,
                max_throughput_drop_pct=10.0, max_p99_rise_pct=20.0, plot=True,
                check_mode=False) -> dict:
    """What the benchmark_report module does: load the run, compare it with the baseline
    (restricted to the run's hosts), write the four files into ``run_dir`` (none in check
    mode) and return what the module returns, plus ``warnings`` and ``comparison``."""
    max_drop, max_rise = validate_thresholds(max_throughput_drop_pct, max_p99_rise_pct)
    run_dir = Path(run_dir)
    warnings = []
    if check_mode and not run_dir.exists():
        # The benchmark role measures nothing in check mode, so its run directory is not there.
        warnings.append(f"run directory {run_dir} does not exist; nothing to report (in check "
                        "mode nothing was measured)")
        return {"run_id": run_dir.name, "files": [], "rows": 0, "regressions": [],
                "missing": [], "new": [], "compared": 0, "baseline_run_id": None,
                "report": "", "plot": False, "warnings": warnings, "comparison": None}
    run = load_run(run_dir, hosts)
    rows = fleet_rows(run)
    comparison = None
    if baseline:
        base_dir = resolve_baseline(baseline, results_dir or run_dir.parent)
        if base_dir.resolve() == run_dir.resolve():
            raise BenchReportError(f"baseline {baseline} is the run being reported "
                                   f"({run_dir}); name an earlier run")
        base_run = load_run(base_dir)
        base_rows = [row for row in fleet_rows(base_run) if row["host"] in run["hosts"]]
        comparison = compare(rows, base_rows, max_drop, max_rise, base_run["run_id"])
        if comparison["missing"]:
            warnings.append(f"{len(comparison['missing'])} cells of baseline run "
                            f"{base_run['run_id']} have no stable result in run "
                            f"{run['run_id']}, so they were not compared: "
                            + "; ".join(f"{_cell_text(cell)} ({cell['reason']})"
                                        for cell in comparison["missing"]))
    report = render_report_md(run, rows, comparison)
    files = [str(run_dir / name) for name in OUTPUT_FILES[:3]]
    plotted = False
    if not check_mode:
        write_summary_csv(rows, run_dir / "summary.csv")
        write_summary_json(run, rows, run_dir / "summary.json", comparison)
        _write_text(run_dir / "report.md", report)
    if plot:
        if check_mode:
            plotted = importlib.util.find_spec("matplotlib") is not None
        else:
            plotted = plot_png(rows, run_dir / "report.png",
                               title=f"Run {run['run_id']}: throughput against p99 latency")
        if plotted:
            files.append(str(run_dir / "report.png"))
        else:
            warnings.append("matplotlib is not importable by the controller's Python, so "
                            "report.png was not drawn; install matplotlib (it is in "
                            "requirements/controller.txt) or set plot=false")
    return {
        "run_id": run["run_id"],
        "files": files,
        "rows": len(rows),
        "regressions": comparison["regressions"] if comparison else [],
        "missing": comparison["missing"] if comparison else [],
        "new": comparison["new"] if comparison else [],
        "compared": comparison["compared"] if comparison else 0,
        "baseline_run_id": comparison["baseline_run_id"] if comparison else None,
        "report": report,
        "plot": plotted,
        "warnings": warnings,
        "comparison": comparison,
    }
