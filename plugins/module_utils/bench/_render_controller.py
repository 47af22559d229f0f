# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's files and words: ``summary.csv`` (:func:`write_summary_csv`), the
fleet's ``summary.json`` (:func:`fleet_summary`, :func:`write_summary_json`), ``report.md``
(:func:`render_report_md`), ``cells.csv`` (:func:`write_cells_csv`: what the server and the
GPU did in each cell), ``report.png`` (:func:`plot_png`) and the one line a failed gate says
(:func:`regression_message`). Each file is replaced atomically, mode 0644.

Latencies are microseconds in the data and milliseconds in the report. matplotlib is
imported inside :func:`plot_png`, and its absence only skips the plot.
"""

from __future__ import annotations

import csv
import io
import json

from ansible_collections.inferops.triton.plugins.module_utils.bench._load_controller import (
    CELL_KEYS,
    NUMBER_KEYS,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._results_controller import (
    LOAD_KEYS,
)
from ansible_collections.inferops.triton.plugins.module_utils.common._files import write_atomic

CSV_COLUMNS = ("host", "model", "batch_size", "concurrency", "request_rate", "stable",
               *NUMBER_KEYS, "csv")
CELL_CSV_COLUMNS = ("host", "model", "batch_size", *CELL_KEYS, "server_reason", "gpu_reason",
                    "csv")
# The report's files are for people to read.
REPORT_MODE = 0o644

_LOAD_LABELS = {"concurrency": "concurrency", "request_rate": "request rate"}
_METRIC_LABELS = {"throughput_infer_per_sec": ("throughput", "infer/s", 1.0),
                  "p99_latency_us": ("p99 latency", "ms", 1000.0)}


# --------------------------------------------------------------------------- files

def write_text(path, text: str) -> None:
    """A report file, replaced atomically, readable by everyone (0644)."""
    write_atomic(str(path), text, mode=REPORT_MODE)


def render_summary_csv(rows: list[dict], columns=CSV_COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: ("" if row.get(key) is None else row.get(key))
                         for key in columns})
    return out.getvalue()


def write_summary_csv(rows: list[dict], path) -> None:
    """The rows as CSV: :data:`CSV_COLUMNS`, empty cells for missing numbers."""
    write_text(path, render_summary_csv(rows))


def write_cells_csv(cells: list[dict], path) -> None:
    """The cells (``_load_controller.fleet_cells``) as CSV: :data:`CELL_CSV_COLUMNS`, empty
    cells for unknown numbers, the reasons in their own columns."""
    write_text(path, render_summary_csv(cells, CELL_CSV_COLUMNS))


def fleet_summary(run: dict, rows: list[dict], comparison: dict | None = None,
                  cells: list[dict] | None = None) -> dict:
    """The fleet's ``<run id>/summary.json`` (another shape than a host's, which
    ``_results_controller.host_summary`` builds)::

        {"run_id": str,
         "hosts": {host: {"started", "ended", "measurement_seconds", "metadata"}},
         "rows": [:func:`fleet_rows`],
         "cells": [:func:`fleet_cells`],
         "comparison": :func:`compare`'s result, or None when no baseline was given}
    """
    hosts = {}
    for host, summary in run["hosts"].items():
        hosts[host] = {key: summary.get(key) for key in
                       ("started", "ended", "measurement_seconds")}
        hosts[host]["metadata"] = summary.get("metadata") or {}
    return {"run_id": run["run_id"], "hosts": hosts, "rows": rows, "cells": cells or [],
            "comparison": comparison}


def write_summary_json(run: dict, rows: list[dict], path, comparison: dict | None = None,
                       cells: list[dict] | None = None) -> None:
    """:func:`fleet_summary` as JSON (two-space indent, sorted keys)."""
    write_text(path, json.dumps(fleet_summary(run, rows, comparison, cells), indent=2,
                                sort_keys=True) + "\n")


# --------------------------------------------------------------------------- report.md

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


def cell_text(cell: dict) -> str:
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


def _number(value, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _cells_lines(cells: list[dict]) -> list[str]:
    """The table of what the server and the GPU did in each cell of a model, then why
    columns are empty (one line per host and reason)."""
    body = [[_md(c["host"]), str(c["batch_size"]), _number(c["seconds"], 1),
             _number(c["requests"], 0), _number(c["inferences"], 0), _number(c["failures"], 0),
             _ms(c["server_queue_us"]), _ms(c["server_compute_us"]),
             _number(c["gpu_power_w"], 1), _number(c["gpu_activity_pct"], 1),
             _number(c["gpu_energy_j"], 1),
             "" if c["inferences_per_joule"] is None else f"{c['inferences_per_joule']:.3g}"]
            for c in cells]
    lines = ["Per cell (one perf_analyzer run over the whole load range, warm-up included), as "
             "the server counted it on its metrics port and as AMD's device metrics exporter "
             "read the GPU during it:", ""]
    lines += _table(["host", "batch", "s", "requests", "inferences", "failures",
                     "server queue ms/req", "server compute ms/req", "GPU W", "GPU busy %",
                     "GPU J", "infer/J"], ["l"] + ["r"] * 11, body)
    reasons: dict[tuple, list] = {}
    for cell in cells:
        for side, key in (("server columns", "server_reason"), ("GPU columns", "gpu_reason")):
            if cell.get(key):
                reasons.setdefault((cell["host"], side, cell[key]), []).append(
                    str(cell["batch_size"]))
    if reasons:
        lines.append("")
        lines += [f"- {_md(host)} batch {', '.join(batches)}: {side} empty - {_md(reason)}"
                  for (host, side, reason), batches in reasons.items()]
    return lines + [""]


def render_report_md(run: dict, rows: list[dict], comparison: dict | None = None,
                     cells: list[dict] | None = None) -> str:
    """The Markdown report: a table per model (and under it, from ``cells``, what the
    server and the GPU did in each of its cells, and why columns are empty), a metadata table
    per host and, when a baseline was compared (``comparison`` from :func:`compare`), the
    regressions."""
    run_cells = cells or []
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
        model_cells = [cell for cell in run_cells if cell["model"] == model]
        if model_cells:
            lines += _cells_lines(model_cells)
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
            lines.append(f"- {_md(cell_text(cell))}: "
                         + "; ".join(_format_change(entry) for entry in entries))
    else:
        lines.append("None.")
    lines.append("")
    if comparison["missing"]:
        lines += ["Baseline cells without a stable result in this run:", ""]
        lines += [f"- {_md(cell_text(cell))} ({cell['reason']})"
                  for cell in comparison["missing"]]
        lines.append("")
    if comparison["new"]:
        lines += ["Cells not in the baseline:", ""]
        lines += [f"- {_md(cell_text(cell))}" for cell in comparison["new"]]
        lines.append("")
    return lines


def regression_message(comparison: dict) -> str:
    """One line for a failed gate: each regressed cell and by how much."""
    groups = _grouped_regressions(comparison["regressions"])
    baseline = comparison.get("baseline_run_id") or "the baseline"
    noun = "cell" if len(groups) == 1 else "cells"
    details = "; ".join(f"{cell_text(cell)}: " + ", ".join(_format_change(e) for e in entries)
                        for cell, entries in groups)
    return f"{len(groups)} {noun} regressed against run {baseline}: {details}"


# --------------------------------------------------------------------------- report.png

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
