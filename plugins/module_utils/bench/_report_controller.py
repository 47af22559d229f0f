# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report of a benchmark run, on the controller, and its regression gate: what the
benchmark_report module does (:func:`make_report`), from the parts it is made of.

A run directory holds one directory per host, each with the ``summary.json`` the benchmark
role wrote (the perf_analyzer numbers of every model x batch x load level, plus what was
measured: image, ROCm, GPU, perf_analyzer version). The parts, one concern a file:

- ``_results_controller``: a host's ``summary.json``, built (the role's
  benchmark_host_summary filter) and checked, and ``BenchReportError``;
- ``_load_controller``: a run read from its directory, a baseline found, the run as
  rows (one per host x model x batch x load level) and as cells (what the server and the GPU
  did in each perf_analyzer run);
- ``_compare_controller``: the rows against a baseline's, with the thresholds;
- ``_render_controller``: the files (``summary.csv``, the fleet's ``summary.json``,
  ``report.md``, ``cells.csv``, ``report.png``) and the words of a failed gate.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ansible_collections.inferops.triton.plugins.module_utils.bench._compare_controller import (
    compare,
    validate_thresholds,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._load_controller import (
    fleet_cells,
    fleet_rows,
    load_run,
    resolve_baseline,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._render_controller import (
    cell_text,
    plot_png,
    render_report_md,
    write_cells_csv,
    write_summary_csv,
    write_summary_json,
    write_text,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._results_controller import (
    BenchReportError,
)

# Always written, then report.png when it is drawn.
OUTPUT_FILES = ("summary.csv", "summary.json", "report.md", "cells.csv", "report.png")


def make_report(run_dir, hosts=None, baseline=None, results_dir=None,
                max_throughput_drop_pct=10.0, max_p99_rise_pct=20.0, plot=True,
                check_mode=False) -> dict:
    """What the benchmark_report module does: load the run, compare it with the baseline
    (restricted to the run's hosts), write :data:`OUTPUT_FILES` into ``run_dir`` (none in
    check mode) and return what the module returns, plus ``warnings`` and ``comparison``."""
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
    cells = fleet_cells(run)
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
                            + "; ".join(f"{cell_text(cell)} ({cell['reason']})"
                                        for cell in comparison["missing"]))
    report = render_report_md(run, rows, comparison, cells)
    files = [str(run_dir / name) for name in OUTPUT_FILES[:4]]
    plotted = False
    if not check_mode:
        write_summary_csv(rows, run_dir / "summary.csv")
        write_summary_json(run, rows, run_dir / "summary.json", comparison, cells)
        write_text(run_dir / "report.md", report)
        write_cells_csv(cells, run_dir / "cells.csv")
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
