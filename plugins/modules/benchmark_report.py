#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: benchmark_report
short_description: Fleet report of a benchmark run, and a regression gate against a baseline run
version_added: 0.1.0
description:
  - Reads the C(summary.json) of every host of a benchmark run (the benchmark role fetches
    them to C(<run_dir>/<host>/summary.json)) and writes, into O(run_dir), C(summary.csv)
    (one row per host, model, batch size and load level), C(summary.json) (the rows, each
    host's metadata and start and end, the cells and the comparison), C(report.md) (a table
    per model, under it what the server and the GPU did in each of its cells, and a table of
    what was measured on each host), C(cells.csv) (one row per host, model and batch size,
    with the server's requests, inferences, failures, queue and compute time per request, the
    GPU's power, activity and energy and the inferences per joule, and the reason for each
    empty side) and C(report.png) (throughput against p99 latency, one curve per host).
  - With O(baseline), compares the run with an earlier run, cell by cell (host, model,
    batch size and concurrency or request rate). A cell regresses when its throughput
    dropped by more than O(max_throughput_drop_pct) percent or its p99 latency rose by more
    than O(max_p99_rise_pct) percent. Cells that did not stabilise are not compared; baseline
    cells without a stable result now are returned in RV(missing) and warned about.
  - With O(fail_on_regression=true) the module fails when a cell regressed, listing each
    cell and by how much, after writing the files (the report shows the regressions).
  - Meant to run on the controller, once per play (C(delegate_to=localhost) and
    C(run_once=true) on the task). The plot needs matplotlib in the Python that runs the
    module (it is in the collection's C(requirements/controller.txt)); without it the module
    warns and writes the other files.
  - Always returns C(changed=false). The files are the measurement's outputs, rewritten on
    every call, not state kept on a host.
author: inferops.triton developers (@inferops)
options:
  run_dir:
    description:
      - The run directory, C(<benchmark_results_dir>/<run id>), holding one directory per
        host.
    type: path
    required: true
  hosts:
    description:
      - The hosts to report on, each a directory of O(run_dir) with a C(summary.json).
      - Unset or empty reports every directory of O(run_dir); each must hold a C(summary.json).
      - Baseline cells of other hosts are not compared.
    type: list
    elements: str
  baseline:
    description:
      - The run to compare with - a run directory (a value holding C(/) or starting with
        C(~) or C(.)), or a run id, looked up under O(results_dir).
      - Unset or empty compares nothing.
    type: str
  results_dir:
    description:
      - Where run ids given in O(baseline) are looked up.
      - Defaults to the parent directory of O(run_dir).
    type: path
  max_throughput_drop_pct:
    description:
      - The largest throughput drop, in percent of the baseline (0 to 100), that is not a
        regression.
    type: float
    default: 10
  max_p99_rise_pct:
    description:
      - The largest p99 latency rise, in percent of the baseline (0 or more), that is not a
        regression.
    type: float
    default: 20
  plot:
    description: Draw C(report.png) (needs matplotlib; warns and skips the plot without it).
    type: bool
    default: true
  fail_on_regression:
    description: Fail, after writing the files, when a cell regressed against O(baseline).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description:
      - Reads the run and the baseline and returns the comparison (failing on a regression
        as a real run would); writes no file.
      - A run directory that does not exist (the benchmark role measures nothing in check
        mode) is a warning, not an error.
  diff_mode:
    support: none
    description: Writes measurement outputs, not host state; there is no diff to show.
notes:
  - Latencies are microseconds in C(summary.csv) and C(summary.json) (as perf_analyzer
    writes them), milliseconds in C(report.md), C(report.png) and the failure message.
  - A cell regressed on both metrics is listed once per metric in RV(regressions).
seealso:
  - name: perf_analyzer
    description: The tool whose measurements are reported.
    link: https://github.com/triton-inference-server/perf_analyzer/blob/main/README.md
"""

EXAMPLES = r"""
- name: Report the run, and fail when a cell regressed against the previous run
  inferops.triton.benchmark_report:
    run_dir: "{{ benchmark_results_dir }}/{{ run_id }}"
    hosts: "{{ ansible_play_hosts }}"
    baseline: 20261201T081500Z
    max_throughput_drop_pct: 10
    max_p99_rise_pct: 20
  delegate_to: localhost
  run_once: true
  register: report

- name: Compare with a kept reference run without failing the play
  inferops.triton.benchmark_report:
    run_dir: /srv/benchmarks/20261202T081500Z
    baseline: /srv/benchmarks/reference/20261115T090000Z
    fail_on_regression: false
  delegate_to: localhost
  run_once: true
  register: report

- name: Show the regressed cells
  ansible.builtin.debug:
    msg: "{{ report.regressions }}"
  run_once: true
"""

RETURN = r"""
run_id:
  description: The run id the host summaries carry (the directory name when they carry none).
  type: str
  returned: always
  sample: 20261202T081500Z
files:
  description:
    - The files written (in check mode, that would be written) into O(run_dir).
    - C(report.png) only when it was drawn.
  type: list
  elements: str
  returned: always
  sample:
    - /srv/benchmarks/20261202T081500Z/summary.csv
    - /srv/benchmarks/20261202T081500Z/summary.json
    - /srv/benchmarks/20261202T081500Z/report.md
    - /srv/benchmarks/20261202T081500Z/cells.csv
    - /srv/benchmarks/20261202T081500Z/report.png
rows:
  description:
    - How many rows (host, model, batch size, load level) the report holds, unstable ones
      included.
  type: int
  returned: always
  sample: 8
compared:
  description: How many cells were stable in both runs and compared (0 without O(baseline)).
  type: int
  returned: always
  sample: 8
baseline_run_id:
  description: The baseline's run id; null without O(baseline).
  type: str
  returned: always
  sample: 20261201T081500Z
regressions:
  description:
    - One entry per regressed metric of a cell, with C(concurrency) or C(request_rate) as
      the run measured it. C(baseline) and C(current) are in infer/s for
      C(throughput_infer_per_sec) and microseconds for C(p99_latency_us); C(change_pct) is
      the change in percent of the baseline, C(allowed_pct) the limit it went past.
  type: list
  elements: dict
  returned: always
  sample:
    - host: node2
      model: resnet50
      batch_size: 1
      concurrency: 2
      metric: throughput_infer_per_sec
      baseline: 25.537
      current: 12.1
      change_pct: -52.62
      allowed_pct: -10.0
missing:
  description:
    - Stable cells of the baseline with no stable result in this run, and why
      (C(not measured) or C(not stable)).
  type: list
  elements: dict
  returned: always
  sample:
    - host: node1
      model: resnet50
      batch_size: 8
      concurrency: 2
      reason: not stable
new:
  description: Stable cells of this run that the baseline has no stable result for.
  type: list
  elements: dict
  returned: always
  sample: []
report:
  description: The Markdown report (the content of C(report.md)).
  type: str
  returned: always
  sample: "# Benchmark run 20261202T081500Z\n..."
plot:
  description: Whether C(report.png) was (in check mode, would be) drawn.
  type: bool
  returned: always
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.bench._render_controller import (
    regression_message,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._report_controller import (
    make_report,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._results_controller import (
    BenchReportError,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            run_dir=dict(type="path", required=True),
            hosts=dict(type="list", elements="str"),
            baseline=dict(type="str"),
            results_dir=dict(type="path"),
            max_throughput_drop_pct=dict(type="float", default=10),
            max_p99_rise_pct=dict(type="float", default=20),
            plot=dict(type="bool", default=True),
            fail_on_regression=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = make_report(
            params["run_dir"], hosts=params["hosts"], baseline=params["baseline"],
            results_dir=params["results_dir"],
            max_throughput_drop_pct=params["max_throughput_drop_pct"],
            max_p99_rise_pct=params["max_p99_rise_pct"], plot=params["plot"],
            check_mode=module.check_mode)
    except (BenchReportError, OSError) as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings"):
        module.warn(warning)
    comparison = result.pop("comparison")
    if params["fail_on_regression"] and result["regressions"]:
        where = "" if module.check_mode else f" (report: {params['run_dir']}/report.md)"
        module.fail_json(msg=regression_message(comparison) + where, changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
