"""`make test`: every stage CI runs, in phases of parallel tracks, timed.

Each phase runs its tracks side by side, and a track runs its stages one after the other:

0. the controller's venv, alone;
1. the static checks and unit tests (lint, rules, sanity, build, unit, conformance), which keep
   one core busy | the lab, which waits mostly on Docker, then molecule's rocm scenario
   (apt on three nodes) on the other core;
2. molecule's fleet and default scenarios, then the integration tests, one after the
   other. Tests that measure must not share the machine: beside another track they starve
   the benchmarks they measure (with two pytest-xdist workers, perf_analyzer's windows
   recorded no request). Two ways of running them beside other work were measured and were
   slower: the image tests beside the fleet scenario (624 s against 563 s in turn, and the
   demo node converged twice), and the demo node's tests beside the images' tests and the
   fleet and default scenarios, with a machine lock that let the benchmarking tests run
   alone (integration-images took 1017 s against about 550 s alone, molecule-default 520 s
   against 156 s, of which 176 s waiting: the benchmarking half runs alone for about
   500 s, and the rest is bound by the two cores).

Each phase's line and the final table give the machine's busy CPU-seconds (/proc/stat,
every process and container) beside the wall time: a phase near twice its wall time in
CPU-seconds is bound by the two cores, and only less work makes it faster.

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
    [["lint", "rules", "sanity", "build", "unit", "conformance"], ["lab", "molecule-rocm"]],
    [["molecule-fleet", "molecule-default", "integration"]],
]


def busy_seconds() -> float:
    """CPU-seconds the machine has been busy since boot, all cores (/proc/stat: user, nice,
    system, irq and softirq; not idle, iowait or steal)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def run_stage(stage: str, env: dict) -> tuple[int, float, float]:
    """(exit status, wall seconds, the machine's busy CPU-seconds meanwhile, whatever ran)."""
    start, busy = time.monotonic(), busy_seconds()
    with open(LOGS / f"{stage}.log", "w") as log:
        proc = subprocess.run(["make", "--no-print-directory", stage], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, check=False)
    return proc.returncode, time.monotonic() - start, busy_seconds() - busy


def main() -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    # Stages after the lab must not each re-run it (two at once would race on it).
    env = dict(os.environ, LAB_READY="1")
    times, failed, lock = [], [], threading.Lock()
    begin, begin_busy = time.monotonic(), busy_seconds()

    def track(stages, env):
        for stage in stages:
            rc, seconds, cpu = run_stage(stage, env)
            with lock:
                times.append((stage, seconds, cpu, rc))
                print(f"stage {stage:<12} {'passed' if rc == 0 else 'FAILED'} in "
                      f"{seconds:6.0f} s", flush=True)
                if rc != 0:
                    failed.append(stage)
                    return

    for number, tracks in enumerate(PHASES):
        print(f"phase {number}: " + " | ".join(" → ".join(t) for t in tracks), flush=True)
        started, busy = time.monotonic(), busy_seconds()
        threads = [threading.Thread(target=track, args=(t, env)) for t in tracks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"phase {number}: {time.monotonic() - started:.0f} s, "
              f"{busy_seconds() - busy:.0f} CPU-s", flush=True)
        if failed:
            break

    for stage in failed:
        print(f"\n===== {stage} failed: build/test-logs/{stage}.log =====", flush=True)
        sys.stdout.write((LOGS / f"{stage}.log").read_text(errors="replace"))
    # CPU-s: the whole machine's while the stage ran, other tracks of its phase included
    print(f"\nstage          seconds   CPU-s  (of {os.cpu_count()} cores)")
    for stage, seconds, cpu, rc in times:
        print(f"{stage:<14} {seconds:7.0f} {cpu:7.0f}{'' if rc == 0 else '  FAILED'}")
    print(f"{'total (wall)':<14} {time.monotonic() - begin:7.0f} "
          f"{busy_seconds() - begin_busy:7.0f}")
    if failed:
        print(f"make test: failed in {', '.join(failed)}")
        return 1
    print("make test: all stages passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
