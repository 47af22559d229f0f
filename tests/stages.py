"""`make test`: every stage CI runs, in phases of parallel tracks, timed.

Each phase runs its tracks side by side, and a track runs its stages one after the other:

0. the controller's venv, alone;
1. the static checks and unit tests (lint, sanity, build, unit, conformance), which keep
   one core busy | the lab, which waits mostly on Docker, then molecule's rocm scenario
   (apt on three nodes) on the other core;
2. molecule's fleet and default scenarios, then the integration tests, one after the
   other. Tests that measure must not share the machine: beside another track they starve
   the benchmarks they measure (with two pytest-xdist workers, perf_analyzer's windows
   recorded no request). The integration tests keep the two cores only about half busy
   (measured by cgroup: 1372 CPU-s in 1287 s), so tracks that keep the measuring tests
   apart are the next step; a first try that split the demo node's tests converged it
   twice and was slower (624 s against 563 s in turn).

Each stage is `make <stage>` with its output in build/test-logs/<stage>.log; a failed
stage's log is printed whole. A failed track stops at its failed stage; the other tracks of
the phase finish, and no later phase starts. The end is a table of the stages' times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "build" / "test-logs"
PHASES = [
    [["venv"]],  # first, alone: both tracks of the next phase need it
    [["lint", "sanity", "build", "unit", "conformance"], ["lab", "molecule-rocm"]],
    [["molecule-fleet", "molecule-default", "integration"]],
]


def run_stage(stage: str, env: dict) -> tuple[int, float]:
    start = time.monotonic()
    with open(LOGS / f"{stage}.log", "w") as log:
        proc = subprocess.run(["make", "--no-print-directory", stage], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, check=False)
    return proc.returncode, time.monotonic() - start


def main() -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    # Stages after the lab must not each re-run it (two at once would race on it).
    env = dict(os.environ, LAB_READY="1")
    times, failed, lock = [], [], threading.Lock()
    begin = time.monotonic()

    def track(stages, env):
        for stage in stages:
            rc, seconds = run_stage(stage, env)
            with lock:
                times.append((stage, seconds, rc))
                print(f"stage {stage:<12} {'passed' if rc == 0 else 'FAILED'} in "
                      f"{seconds:6.0f} s", flush=True)
                if rc != 0:
                    failed.append(stage)
                    return

    for number, tracks in enumerate(PHASES):
        print(f"phase {number}: " + " | ".join(" → ".join(t) for t in tracks), flush=True)
        started = time.monotonic()
        threads = [threading.Thread(target=track, args=(t, env)) for t in tracks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"phase {number}: {time.monotonic() - started:.0f} s", flush=True)
        if failed:
            break

    for stage in failed:
        print(f"\n===== {stage} failed: build/test-logs/{stage}.log =====", flush=True)
        sys.stdout.write((LOGS / f"{stage}.log").read_text(errors="replace"))
    print("\nstage          seconds")
    for stage, seconds, rc in times:
        print(f"{stage:<14} {seconds:7.0f}{'' if rc == 0 else '  FAILED'}")
    print(f"{'total (wall)':<14} {time.monotonic() - begin:7.0f}")
    if failed:
        print(f"make test: failed in {', '.join(failed)}")
        return 1
    print("make test: all stages passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
