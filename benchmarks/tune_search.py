"""Autotune on the lab, in one run: the coordinate search against the full grid, and the
tuned configuration against the guide's and against in-process ONNX Runtime.

On one lab node converged by site.yml (through lab/demo.py) in explicit model control, the
CPU flavour's real tritonserver serving the demo's ``resnet50``:

1. the ceiling: the same ONNX file run by onnxruntime in-process inside the server image
   (benchmarks/serving_efficiency.py's measurement: the server's onnxruntime build and
   cores), at each batch size up to the largest max_batch_size of the space; the best;
2. ``tune.yml`` with ``tune_strategy=grid``: every candidate of the space measured;
3. ``tune.yml`` with the default coordinate search over the same space, the guide's
   configuration (one instance, 100 us queue delay) measured in the same run as baseline.

Each candidate is one perf_analyzer sweep (the tune role's own measurement, batch-1
requests that the dynamic batcher groups); its score is the highest throughput whose p99
latency is within the objective. Printed: the measurements of each, the search's pick and
the grid's best (and the search's pick as the grid measured it: same configuration, the
other run's noise), and the tuned throughput over the in-process ceiling (target 0.95)
and over the guide's.

    .venv/bin/python benchmarks/tune_search.py [--slo-ms 1000] [--keep-node]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lab"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import labctl  # noqa: E402
import serving_efficiency as serving  # noqa: E402

NODE = serving.NODE
SPACE = {"instance_count": [1, 2], "max_batch_size": [8, 16],
         "max_queue_delay_microseconds": [0, 2000, 8000], "intra_op_thread_count": [0, 1, 2]}
TARGET_EFFICIENCY = 0.95
MAX_SHARE = 1 / 3


def tune(work, tuned_dir, strategy, args):
    variables = {
        "tune_hosts": NODE, "tune_space": SPACE, "tune_strategy": strategy,
        "tune_dir": str(tuned_dir), "tune_latency_slo_ms": args.slo_ms,
        "tune_concurrency_range": args.concurrency_range, "tune_protocol": "grpc",
        "tune_measurement_interval_ms": args.interval_ms, "tune_max_trials": 6,
        "tune_noise": args.noise,
        "triton_server_model_control_mode": "explicit"}
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), str(ROOT / "tune.yml"),
           "-i", str(work / "inventory"), "-e", json.dumps(variables)]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=7200,
                          check=False)
    if proc.returncode != 0:
        sys.exit(f"benchmark: tune.yml ({strategy}) failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    record = yaml.safe_load((tuned_dir / serving.MODEL / "cpu.yml").read_text())
    return record, time.monotonic() - start


def value(entry):
    return entry["score"]["value"] if entry and entry.get("score") else 0.0


def text(values):
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slo-ms", type=float, default=1000, help="the p99 objective")
    parser.add_argument("--concurrency-range", default="4:16:4")
    parser.add_argument("--interval-ms", type=int, default=2000)
    parser.add_argument("--noise", type=float, default=0.03)
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-node", action="store_true")
    parser.add_argument("--out", type=Path,
                        help="copy the two runs' tuned files, reports and plots here")
    args = parser.parse_args()

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-tune-") as work:
        work = Path(work)
        serving.make_inventory(work)
        try:
            labctl.log(f"converging {NODE} in explicit model control")
            serving.converge(work, {"triton_server_model_control_mode": "explicit"})
            facts = serving.server_facts()
            facts["sample"] = serving.put_sample(facts, args.seed)
            ceiling = {}
            for batch in sorted({1, 4, *SPACE["max_batch_size"]}):
                report = serving.in_process(facts, batch, args)
                ceiling[batch] = max(p["throughput"] for p in report["passes"])
            labctl.log("in-process: " + ", ".join(f"batch {b} {t:.1f}/s"
                                                  for b, t in ceiling.items()))
            grid, grid_s = tune(work, work / "grid", "grid", args)
            search, search_s = tune(work, work / "search", "coordinate", args)
            if args.out:
                for name in ("grid", "search"):
                    shutil.copytree(work / name, args.out / name, dirs_exist_ok=True)
        finally:
            if args.keep_node:
                labctl.log(f"{NODE} kept (lab/labctl.py node down {NODE} removes it)")
            else:
                labctl.node_down(NODE)

    best_in_process = max(ceiling.values())
    grid_best = max(grid["candidates"], key=value)
    picked = search["values"]
    picked_in_grid = next(c for c in grid["candidates"] if c["values"] == picked)
    tuned = value(search)
    guide = value(search["baseline"])
    share = search["tuned"]["measurements"] / grid["tuned"]["measurements"]
    reach = value(picked_in_grid) / value(grid_best)
    print(f"\nAutotune of {serving.MODEL} on {NODE} (CPU flavour), p99 <= {args.slo_ms:g} ms, "
          f"load {args.concurrency_range}")
    print(f"in-process onnxruntime: {best_in_process:.1f} infer/s (best of batch "
          f"{', '.join(map(str, ceiling))})")
    print(f"grid:   {grid['tuned']['measurements']} measurements in {grid_s:.0f} s; best "
          f"{value(grid_best):.1f} infer/s at {text(grid_best['values'])}")
    print(f"search: {search['tuned']['measurements']} measurements in {search_s:.0f} s "
          f"({search['tuned']['passes']} passes); picked {text(picked)}: {tuned:.1f} infer/s "
          f"in its run, {value(picked_in_grid):.1f} in the grid's")
    print("guide (instance_count=1, max_queue_delay_microseconds=100): " + (
        f"{guide:.1f} infer/s in the search's run" if guide else
        "no load level met the objective with a stable measurement in the search's run"))
    rows = [
        ("measurements, search / grid", share, f"<= {MAX_SHARE:.2f}", share <= MAX_SHARE),
        ("search's pick / grid's best, both as the grid measured them", reach,
         f">= {1 - args.noise:.2f}", reach >= 1 - args.noise),
        ("tuned served / in-process onnxruntime", tuned / best_in_process,
         f">= {TARGET_EFFICIENCY}", tuned / best_in_process >= TARGET_EFFICIENCY),
        # no stable level of the guide's configuration: nothing to compare, not a win
        ("tuned / guide's configuration, same run", tuned / guide if guide else float("nan"),
         ">= 1", bool(guide) and tuned >= guide),
    ]
    print()
    for label, ratio, want, met in rows:
        print(f"  {label:<62} {ratio:6.3f}  (target {want}: {'met' if met else 'NOT met'})")
    print(f"\nTotal run time {time.monotonic() - start:.0f} s")
    return 0 if all(met for *_rest, met in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
