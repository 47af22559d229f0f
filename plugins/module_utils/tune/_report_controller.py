# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tuned file's report: a table of the candidates, the baseline and the chosen point
(Markdown), and the Pareto front of throughput against latency at the objective's
percentile (PNG, when matplotlib is importable).

Latencies are microseconds in the data and milliseconds in the report.

Controller-side: runs where the play is driven, never on a host.
"""

from __future__ import annotations

import io

from ansible_collections.inferops.triton.plugins.module_utils.tune._record_controller import (
    pareto,
)


def _values_text(values) -> str:
    if not values:
        return "-"
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items()))


def _objective_text(objective: dict) -> str:
    percentile = objective.get("percentile", 99)
    if objective.get("kind") == "throughput":
        return f"the highest throughput with p{percentile} latency <= {objective['slo_ms']} ms"
    return f"the lowest p{percentile} latency at >= {objective['rate']} infer/s"


def _best(entry, key):
    score = entry.get("score")
    if not score:
        return "-", "-", "-"
    point = score["point"]
    load = point.get("concurrency") or point.get("request_rate")
    latency = point.get(key)
    return (f"{point['throughput_infer_per_sec']:.1f}",
            "-" if latency is None else f"{latency / 1000:.1f}", str(load))


def _measured_text(tuned: dict) -> str:
    strategy = tuned.get("strategy", "coordinate")
    text = (f"measured {tuned['measurements']} times, the given candidates"
            if not tuned.get("grid") else
            f"measured {tuned['measurements']} times; the grid has {tuned['grid']} candidates "
            f"({strategy} search, {tuned['passes']} pass(es))")
    noise = tuned.get("noise") or {}
    if noise.get("measured") is not None:
        text += (f"; noise: {noise['measured']:.1%} between the start's two measurements, "
                 f"threshold {noise['used']:.1%}")
    return text


def _score_text(record: dict) -> str:
    values = (record.get("score") or {}).get("values") or []
    if len(values) < 2:
        return ""
    return (f" ({record['score']['value']:.1f} mean of " + ", ".join(
        "missed" if v is None else f"{v:.1f}" for v in values) + ")")


def _miss(entry: dict) -> str:
    points = entry.get("points") or []
    if points and all(p.get("stable") is False for p in points):
        return "no load level stabilised (perf_analyzer's max_trials)"
    return "misses the objective"


def render_md(record: dict) -> str:
    objective = record["objective"]
    percentile = int(objective.get("percentile", 99))
    key = f"p{percentile}_latency_us"
    tuned = record["tuned"]
    lines = [f"# Tuning {record['model']} on {record['target']}", "",
             f"- objective: {_objective_text(objective)}",
             f"- host: {tuned['host']}, {tuned['started']} to {tuned['ended']}",
             f"- image: {record['image']['ref']} ({record['image']['id']})",
             f"- ROCm: {tuned.get('rocm_version') or '-'}; perf_analyzer: "
             f"{tuned.get('perf_analyzer_version') or '-'}",
             f"- {_measured_text(tuned)}",
             f"- chosen: {_values_text(record.get('values'))}{_score_text(record)}", "",
             f"| | configuration | throughput (infer/s) | p{percentile} (ms) | at load | note |",
             "|---|---|---:|---:|---:|---|"]
    rows = []
    if record.get("baseline"):
        rows.append(("baseline", record["baseline"]))
    rows += [(str(number), entry) for number, entry in enumerate(record["candidates"], 1)]
    for label, entry in rows:
        throughput, latency, load = _best(entry, key)
        chosen = entry["values"] == record.get("values") and label != "baseline"
        note = entry.get("error") or ("chosen" if chosen else
                                      "" if entry.get("score") else _miss(entry))
        lines.append(f"| {label} | {_values_text(entry['values'])} | {throughput} | {latency} "
                     f"| {load} | {note} |")
    lines.append("")
    return "\n".join(lines)


def plot_png(record: dict) -> bytes | None:
    """Every measured point, the Pareto front over them, the chosen point and the baseline;
    None when matplotlib is not importable."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    percentile = int(record["objective"].get("percentile", 99))
    key = f"p{percentile}_latency_us"
    figure = Figure(figsize=(8, 5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    every = [p for entry in record["candidates"] for p in entry["points"]
             if p.get(key) is not None and p.get("throughput_infer_per_sec") is not None]
    axes.scatter([p["throughput_infer_per_sec"] for p in every],
                 [p[key] / 1000 for p in every], s=14, color="0.6", label="candidates")
    front = pareto(every, percentile)
    axes.plot([p["throughput_infer_per_sec"] for p in front], [p[key] / 1000 for p in front],
              marker="o", label="Pareto front")
    for label, score, marker in (("baseline", (record.get("baseline") or {}).get("score"),
                                  "s"), ("chosen", record.get("score"), "*")):
        if score:
            point = score["point"]
            axes.scatter([point["throughput_infer_per_sec"]], [point[key] / 1000], s=120,
                         marker=marker, label=label, zorder=3)
    slo = record["objective"].get("slo_ms")
    if slo is not None:
        axes.axhline(float(slo), linestyle="--", color="red", linewidth=1,
                     label=f"p{percentile} objective")
    axes.set_xlabel("throughput (infer/s)")
    axes.set_ylabel(f"p{percentile} latency (ms)")
    axes.set_title(f"{record['model']} on {record['target']}")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png")
    return image.getvalue()
