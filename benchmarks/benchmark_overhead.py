"""Overhead of the benchmark role: its wall time over perf_analyzer's own measurement windows.

On one lab node converged by site.yml (lab/demo.py, benchmark off: the real CPU-flavour
server), a warm-up run of playbooks/benchmark.yml builds the slim client image; then one
timed run of the same playbook measures a sweep (the demo's resnet50 at several batch sizes
over a concurrency range, the role's stability settings):

- wall: the ansible-playbook process, start to end - facts, the client check, every cell,
  fetching the raw files, the per-host summary, the fleet report and its plot;
- measured: the sum, over cells and load levels, of the measurement windows perf_analyzer
  itself ran (``measurement_seconds`` in the host's summary.json: its ``Pass`` lines times
  the 1.2 x --measurement-interval each window lasts; the profile export's window
  boundaries agree within 2%, tests/unit/plugins/module_utils/bench/test_perf_run.py);
- perf_analyzer: the wall time of the perf_analyzer runs (container start included), so
  the rest splits into perf_analyzer's own (start, warm-up, gaps between windows) and the
  role's (Ansible).

Prints wall / measured (target 1.25 or less).

    .venv/bin/python benchmarks/benchmark_overhead.py [--batch-sizes 1,4,8]
        [--concurrency 1:3] [--interval-ms 5000] [--keep-node]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lab"))
import demo  # noqa: E402
import labctl  # noqa: E402

NODE = "inferops-bench-overhead"
TARGET = 1.25


def play(inventory: Path, results: Path, playbook: str, variables: dict,
         model_url: str = "") -> tuple[float, str]:
    env = dict(os.environ, INFEROPS_RESULTS_DIR=str(results), INFEROPS_DEMO_MODEL_URL=model_url,
               ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), str(ROOT / playbook),
           "-i", str(inventory), "-e", json.dumps(variables)]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{playbook} failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return wall, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="1,4,8")
    parser.add_argument("--concurrency", default="1:3")
    parser.add_argument("--interval-ms", type=int, default=5000)
    parser.add_argument("--keep-node", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="inferops-bench-overhead-"))
    inventory = work / "inventory"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text(
        f"triton_nodes:\n  hosts:\n    {NODE}:\n"
        "      ansible_connection: community.docker.docker\n")
    (inventory / "group_vars").symlink_to(ROOT / "inventory" / "demo" / "group_vars")
    results = work / "results"
    labctl.node_down(NODE)
    try:
        labctl.cmd_engine(None)
        labctl.cmd_images(argparse.Namespace(names=labctl.DEMO_IMAGES))
        demo.ensure_model()
        server, url = demo.serve_models(demo.MODEL.parent, 0)
        labctl.node_up(NODE, [])
        try:
            play(inventory, results, "site.yml", {"benchmark_enabled": False}, url)
        finally:
            server.shutdown()
        sweep = {"benchmark_batch_sizes": [int(b) for b in args.batch_sizes.split(",")],
                 "benchmark_concurrency_range": args.concurrency,
                 "benchmark_measurement_interval_ms": args.interval_ms}
        # Warm-up: builds the client image on the node (a one-off, not the role's steady cost).
        play(inventory, results, "benchmark.yml",
             dict(sweep, benchmark_batch_sizes=[1], benchmark_concurrency_range="1",
                  benchmark_measurement_interval_ms=1000, benchmark_run_id="warm-up"))
        wall = play(inventory, results, "benchmark.yml", dict(sweep, benchmark_run_id="timed"))[0]
        summary = json.loads((results / "timed" / NODE / "summary.json").read_text())
    finally:
        if not args.keep_node:
            labctl.node_down(NODE)
    measured = summary["measurement_seconds"]
    perf = summary["perf_analyzer_seconds"]
    levels = len(summary["results"]) + len(summary["unstable"])
    print(f"sweep: resnet50, batch sizes {args.batch_sizes}, concurrency {args.concurrency}, "
          f"{args.interval_ms} ms windows: {levels} load levels, "
          f"{len(summary['unstable'])} unstable")
    print(f"wall time of the role (ansible-playbook benchmark.yml): {wall:8.1f} s")
    print(f"perf_analyzer runs (container start included):        {perf:8.1f} s")
    print(f"perf_analyzer's measurement windows (-v Pass lines):    {measured:8.1f} s")
    print(f"  perf_analyzer's own overhead: {perf - measured:.1f} s; "
          f"the role's: {wall - perf:.1f} s")
    ratio = wall / measured
    print(f"role wall time / measurement windows = {ratio:.3f} (target <= {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
