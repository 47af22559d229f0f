"""`make test`: every stage CI runs, in phases of parallel tracks, timed.

Each phase runs its tracks side by side, and a track runs its stages one after the other:

0. the controller's venv, alone;
1. the static checks and unit tests (lint, sanity, build, unit, conformance), which keep
   one core busy | the lab, which waits mostly on Docker, then molecule's rocm scenario
   (apt on three nodes) on the other core;
2. the integration tests of the demo node (converged once for them all) | molecule's fleet
   and default scenarios, then the integration tests of the images (builds, pulls,
   registries). The two halves share no node. Each alone keeps the two cores only about
   half busy (the integration tests in turn: 1372 CPU-s in 1287 s, measured by cgroup).

Work that measures must not share the machine: beside other work, perf_analyzer's windows
recorded no request. So every stage holds the machine lock of tests/machine.py shared, but
the integration stages, whose tests hold it themselves: shared, and alone where they
benchmark.

Each stage is `make <stage>` with its output in build/test-logs/<stage>.log; a failed
stage's log is printed whole. A failed track stops at its failed stage; the other tracks of
the phase finish, and no later phase starts. The end is a table of the stages' times.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from machine import MachineLock

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "build" / "test-logs"
PHASES = [
    [["venv"]],  # first, alone: both tracks of the next phase need it
    [["lint", "sanity", "build", "unit", "conformance"], ["lab", "molecule-rocm"]],
    [["integration-demo"], ["molecule-fleet", "molecule-default", "integration-images"]],
]
# Stages whose tests take the machine lock themselves (tests/integration/conftest.py).
SELF_LOCKING = {"integration", "integration-demo", "integration-images"}


def run_stage(stage: str, env: dict) -> tuple[int, float]:
    start = time.monotonic()
    machine = None if stage in SELF_LOCKING else MachineLock()
    held = machine.hold("shared") if machine else contextlib.nullcontext()
    with held, open(LOGS / f"{stage}.log", "w") as log:
        proc = subprocess.run(["make", "--no-print-directory", stage], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, check=False)
    if machine:
        machine.close()
        if machine.waited["shared"] >= 1:
            print(f"stage {stage:<12} waited {machine.waited['shared']:.0f} s for work that "
                  "measures", flush=True)
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
