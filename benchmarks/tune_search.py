"""Autotune on the lab, in one run: the coordinate search against the full grid, and the
tuned configuration against the guide's and against in-process ONNX Runtime.

On one lab node converged by site.yml (through lab/demo.py) in explicit model control, the
CPU flavour's real tritonserver serving the demo's ``resnet50``:

1. the ceiling: the same ONNX file run by onnxruntime in-process inside the server image
   (benchmarks/serving_efficiency.py's measurement and summary: the server's onnxruntime
   build and cores, the median of the passes while the rest of the machine was quiet), at
   each batch size up to the largest max_batch_size of the space, before the served runs
   and again after them; the best batch size's;
2. ``tune.yml`` with ``tune_strategy=grid``: every candidate of the space measured once;
3. ``tune.yml`` with the default coordinate search over the same space (its start measured
   twice for the run's noise, its finalists measured again), the guide's configuration
   measured in the same run as baseline;
4. ``tune.yml`` with ``tune_strategy=given``: the guide's configuration, the search's pick
   and the grid's best measured side by side, in ``--rounds`` interleaved rounds. A single
   measurement on a 2-core machine is noisy, and the best of 36 single measurements is
   lucky by construction, so the comparisons are made on these rounds' means, and the
   noise is their own: the largest relative spread (max - min) / max among the repeated
   measurements of one configuration.

Each measurement is one perf_analyzer sweep (the tune role's own, batch-1 requests that
the dynamic batcher groups); its score is the highest throughput whose p99 latency is
within the objective. Printed: the measurements of each strategy, the search's pick and
the grid's best, the side-by-side means, and the ratios the issue names: search / grid
measurements (<= 1/3), the pick against the grid's best (within the noise), the tuned
throughput over the in-process ceiling (>= 0.95) and over the guide's (>= 1).

    .venv/bin/python benchmarks/tune_search.py [--slo-ms 1000] [--keep-node] [--out DIR]
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


def tune(work, name, strategy, args, **more):
    """One tune.yml run on the node; its tuned file and the seconds it took."""
    tuned_dir = work / name
    variables = {
        "tune_hosts": NODE, "tune_space": SPACE, "tune_strategy": strategy,
        "tune_dir": str(tuned_dir), "tune_latency_slo_ms": args.slo_ms,
        "tune_concurrency_range": args.concurrency_range, "tune_protocol": "grpc",
        "tune_measurement_interval_ms": args.interval_ms, "tune_max_trials": args.max_trials,
        "tune_noise": args.noise,
        "triton_server_model_control_mode": "explicit", **more}
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), str(ROOT / "tune.yml"),
           "-i", str(work / "inventory"), "-e", json.dumps(variables)]
    labctl.log(f"tune.yml, {strategy}")
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


def side_by_side(record, configurations):
    """Each configuration's measurements in the given run (a miss counts 0), their mean, and
    the run's noise: the largest relative spread among one configuration's measurements."""
    runs = {name: [value(c) for c in record["candidates"] if c["values"] == values]
            for name, values in configurations.items()}
    means = {name: sum(got) / len(got) for name, got in runs.items()}
    # the spread of the rounds that met the objective (a miss is no measure of the noise)
    met = [[v for v in got if v] for got in runs.values()]
    noise = max((max(got) - min(got)) / max(got) for got in met if len(got) > 1)
    return runs, means, noise


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slo-ms", type=float, default=1000, help="the p99 objective")
    parser.add_argument("--concurrency-range", default="4:8:4")
    parser.add_argument("--interval-ms", type=int, default=4000)
    parser.add_argument("--max-trials", type=int, default=6)
    parser.add_argument("--noise", type=float, default=0.03,
                        help="the search's noise floor (it measures its own)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="side-by-side rounds of the guide, the pick and the grid's best")
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-node", action="store_true")
    parser.add_argument("--out", type=Path,
                        help="copy the runs' tuned files, reports and plots here")
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
            batches = sorted({1, 4, *SPACE["max_batch_size"]})
            inproc = {batch: serving.in_process(facts, batch, args) for batch in batches}
            search, search_s = tune(work, "search", "coordinate", args)
            grid, grid_s = tune(work, "grid", "grid", args)
            grid_best = max(grid["candidates"], key=value)["values"]
            configurations = {"guide": search["baseline"]["values"],
                              "search's pick": search["values"], "grid's best": grid_best}
            distinct = list({text(v): v for v in configurations.values()}.values())
            compare, compare_s = tune(work, "compare", "given", args,
                                      tune_candidates=distinct * args.rounds, tune_baseline={})
            # after the served runs too, so that the machine's drift hits both sides
            for batch in batches:
                inproc[batch]["passes"] += serving.in_process(facts, batch, args)["passes"]
            if args.out:
                for name in ("grid", "search", "compare"):
                    shutil.copytree(work / name, args.out / name, dirs_exist_ok=True)
        finally:
            if args.keep_node:
                labctl.log(f"{NODE} kept (lab/labctl.py node down {NODE} removes it)")
            else:
                labctl.node_down(NODE)

    for local in inproc.values():
        serving.summarize(local)
    ceiling = {batch: local["throughput"] for batch, local in inproc.items()}
    best_in_process = max(ceiling.values())
    runs, means, noise = side_by_side(compare, configurations)
    search_noise = search["tuned"]["noise"]
    share = search["tuned"]["measurements"] / grid["tuned"]["measurements"]
    reach = means["search's pick"] / means["grid's best"]
    tuned, guide = means["search's pick"], means["guide"]
    print(f"\nAutotune of {serving.MODEL} on {NODE} (CPU flavour), p99 <= {args.slo_ms:g} ms, "
          f"load {args.concurrency_range}, {args.interval_ms} ms windows")
    print(f"in-process onnxruntime: {best_in_process:.1f} infer/s, the best batch size's "
          f"median of its quiet passes, before and after the served runs ("
          + "; ".join(f"batch {b}: {t:.1f} of "
                      + " ".join(f"{p['throughput']:.1f}" for p in inproc[b]["passes"])
                      for b, t in ceiling.items()) + ")")
    print(f"grid:   {grid['tuned']['measurements']} measurements in {grid_s:.0f} s; best single "
          f"measurement {value(max(grid['candidates'], key=value)):.1f} infer/s at "
          f"{text(grid_best)}")
    measured = search_noise.get("measured")
    print(f"search: {search['tuned']['measurements']} measurements in {search_s:.0f} s "
          f"({search['tuned']['passes']} passes; its start twice: noise "
          f"{'-' if measured is None else f'{measured:.1%}'}, threshold "
          f"{search_noise['used']:.1%}; {len(search['tuned']['finalists'])} finalists "
          f"measured again); picked {text(search['values'])}: {value(search):.1f} infer/s "
          f"(mean in its run)")
    print(f"side by side, {args.rounds} rounds in {compare_s:.0f} s (infer/s under the "
          f"objective per round; a miss is 0):")
    for name, values in configurations.items():
        print(f"  {name:<14} {text(values):<100} "
              f"{', '.join(f'{v:.1f}' for v in runs[name])}  mean {means[name]:.1f}")
    print(f"  noise: the largest spread of one configuration's rounds, {noise:.1%}")
    rows = [
        ("measurements, search / grid", share, f"<= {MAX_SHARE:.2f}", share <= MAX_SHARE),
        ("search's pick / grid's best, side-by-side means", reach,
         f">= {1 - noise:.3f} (within the noise)", reach >= 1 - noise),
        ("tuned served / in-process onnxruntime", tuned / best_in_process,
         f">= {TARGET_EFFICIENCY}", tuned / best_in_process >= TARGET_EFFICIENCY),
        ("tuned / guide's configuration, side-by-side means",
         tuned / guide if guide else float("inf"), ">= 1", tuned >= guide),
    ]
    print()
    for label, ratio, want, met in rows:
        print(f"  {label:<52} {ratio:6.3f}  (target {want}: {'met' if met else 'NOT met'})")
    print(f"\nTotal run time {time.monotonic() - start:.0f} s")
    return 0 if all(met for *_rest, met in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
