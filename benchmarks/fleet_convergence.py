"""What a no-op site.yml costs on a converged fleet, over real SSH.

On the lab's SSH fleet (lab/fleet.py: four nodes on 127.0.0.1:2201-2204, the inventory in
inventory/fleet/, pipelining and ControlPersist from ansible.cfg, forks 20), converged once
by site.yml, it times (the median of --repeat runs each, after one warm-up run):

- site: ``ansible-playbook site.yml --skip-tags benchmark`` on the four converged nodes -
  the pre-flight (facts, rocm_facts, model and server validation), docker_engine,
  triton_image, model_repository and triton_server with its gate (readiness and each
  model's state; the zero inferences follow a change only), nothing changed (the run
  fails if anything did);
- facts: a play that only gathers the same facts on the same nodes (gather_subset min and
  rocm_facts);
- site on one node: the same no-op with ``--limit inferops-fleet-node1``.

Prints (a) site / facts (target 3 or less) and (b) site on 4 nodes / site on 1 node
(target 1.6 or less, forks >= 4). The benchmark stage is left out: it measures for minutes
by design, and changes nothing.

Then the same two site.yml no-ops again with the optional fact cache that ansible.cfg
describes (jsonfile, in a temporary directory, warmed by one run): the pre-flight then asks
no host for facts it already has, and (a) and (b) are printed for that too.

Last, the lab's floor: a play of nothing but ``ansible.builtin.ping`` (the cheapest module
there is), as many per host as site.yml's no-op runs modules on a host (counted from the
SSH commands of a -vvv no-op on one node), on 4 nodes and on 1 node. No site.yml that asks
its hosts that many times can do better than those ratios on this machine.

The lab's nodes are containers on the controller's machine, so the nodes' work and the
controller's share its cores, where a real fleet's hosts each have their own. For each
kind of run the script also prints how busy the machine's CPUs were (from /proc/stat) and
the CPU seconds of the controller's ansible-playbook and its workers (the rest is the
nodes'), which says how much of a ratio is the lab's cores rather than the playbook.

    .venv/bin/python benchmarks/fleet_convergence.py [--repeat 3] [--keep-fleet]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lab"))
import fleet  # noqa: E402
import labctl  # noqa: E402

INVENTORY = ROOT / "inventory" / "fleet"
FACTS_PLAY = """---
- name: Gather the facts site.yml gathers, nothing else
  hosts: triton_nodes
  gather_facts: true
  gather_subset: [min]
  tasks:
    - name: Read each host's GPUs, driver and ROCm version
      inferops.triton.rocm_facts:
"""
TARGET_FACTS, TARGET_SCALE = 3.0, 1.6


def ping_play(calls: int) -> str:
    """A play of ``calls`` ping tasks on every node: module calls and nothing else."""
    tasks = "".join(f"    - name: Module call {n}\n      ansible.builtin.ping:\n"
                    for n in range(1, calls + 1))
    return ("---\n- name: As many module calls per host as site.yml's no-op, each the cheapest\n"
            "  hosts: triton_nodes\n  gather_facts: false\n  tasks:\n" + tasks)


SSH_EXEC = re.compile(r"^<[^>]+> SSH: EXEC ", re.M)
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


LAST = {}


EXTRA_ENV: dict[str, str] = {}


def playbook(*args: str) -> tuple[float, str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), **EXTRA_ENV)
    busy0, total0 = cpu_ticks()
    cpu0 = children_cpu()
    start = time.monotonic()
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i",
                           str(INVENTORY), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    wall = time.monotonic() - start
    busy1, total1 = cpu_ticks()
    LAST.update(busy=(busy1 - busy0) / max(total1 - total0, 1),
                controller_cpu=children_cpu() - cpu0)
    if proc.returncode != 0:
        sys.exit(f"ansible-playbook {' '.join(args)} failed:\n{proc.stdout[-4000:]}"
                 f"{proc.stderr[-2000:]}")
    return wall, proc.stdout


def noop(*args: str) -> float:
    """One run that must change nothing; its wall time."""
    wall, out = playbook(*args)
    changed = {found[0]: int(found[1]) for found in RECAP.findall(out) if int(found[1])}
    if changed:
        sys.exit(f"ansible-playbook {' '.join(args)} was not a no-op: changed {changed}")
    return wall


def runs(times: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


def median_of(repeat: int, *args: str) -> tuple[float, list[float], str]:
    """The median wall time, every run's, and the CPU use of the median run."""
    runs_ = []
    for _run in range(repeat):
        wall = noop(*args)
        runs_.append((wall, dict(LAST)))
    wall, cpu = sorted(runs_, key=lambda run: run[0])[len(runs_) // 2]
    rest = cpu["busy"] * os.cpu_count() * wall - cpu["controller_cpu"]
    note = (f"CPUs {cpu['busy']:.0%} busy, controller {cpu['controller_cpu']:.1f} CPU-s, "
            f"nodes and the rest about {rest:.1f} CPU-s")
    return statistics.median([run[0] for run in runs_]), [run[0] for run in runs_], note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep-fleet", action="store_true",
                        help="leave the nodes running (they are removed otherwise)")
    args = parser.parse_args()
    labctl.cmd_engine(None)
    hosts = fleet.up(4)
    try:
        started = time.monotonic()
        wall, _out = playbook("site.yml", "--skip-tags", "benchmark")
        print(f"converge of {len(hosts)} nodes: {wall:.1f} s "
              f"(fleet up and converge {time.monotonic() - started:.1f} s)", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            facts_play = Path(tmp, "facts.yml")
            facts_play.write_text(FACTS_PLAY)
            noop(str(facts_play))                      # warm-up: SSH masters, caches
            noop("site.yml", "--skip-tags", "benchmark")
            site4, site4_all, site4_cpu = median_of(args.repeat, "site.yml", "--skip-tags",
                                                    "benchmark")
            facts4, facts4_all, facts4_cpu = median_of(args.repeat, str(facts_play))
            site1, site1_all, site1_cpu = median_of(args.repeat, "site.yml", "--skip-tags",
                                                    "benchmark", "--limit", hosts[0])
            # The optional fact cache of ansible.cfg, as a user would turn it on.
            EXTRA_ENV.update(ANSIBLE_CACHE_PLUGIN="ansible.builtin.jsonfile",
                             ANSIBLE_CACHE_PLUGIN_CONNECTION=str(Path(tmp, "facts")),
                             ANSIBLE_CACHE_PLUGIN_TIMEOUT="3600")
            noop("site.yml", "--skip-tags", "benchmark")  # fills the cache
            cached4, cached4_all, cached4_cpu = median_of(args.repeat, "site.yml", "--skip-tags",
                                                          "benchmark")
            cached1, cached1_all, cached1_cpu = median_of(args.repeat, "site.yml", "--skip-tags",
                                                          "benchmark", "--limit", hosts[0])
            EXTRA_ENV.clear()
            # The floor: the same number of module calls per host, each a ping.
            _wall, out = playbook("site.yml", "--skip-tags", "benchmark", "--limit", hosts[0],
                                  "-vvv")
            calls = len(SSH_EXEC.findall(out))
            pings = Path(tmp, "ping.yml")
            pings.write_text(ping_play(calls))
            noop(str(pings))
            ping4, ping4_all, ping4_cpu = median_of(args.repeat, str(pings))
            ping1, ping1_all, ping1_cpu = median_of(args.repeat, str(pings), "--limit", hosts[0])
    finally:
        if not args.keep_fleet:
            fleet.down(4)
    print(f"cores: {os.cpu_count()}, forks: 20 (ansible.cfg), pipelining and ControlPersist on")
    print(f"site.yml no-op, 4 nodes: {site4:.2f} s (runs {runs(site4_all)}; {site4_cpu})")
    print(f"facts-only play, 4 nodes: {facts4:.2f} s (runs {runs(facts4_all)}; {facts4_cpu})")
    print(f"site.yml no-op, 1 node: {site1:.2f} s (runs {runs(site1_all)}; {site1_cpu})")
    ratios("", site4, facts4, site1)
    print("with the optional fact cache (jsonfile, warm):")
    print(f"site.yml no-op, 4 nodes: {cached4:.2f} s (runs {runs(cached4_all)}; {cached4_cpu})")
    print(f"site.yml no-op, 1 node: {cached1:.2f} s (runs {runs(cached1_all)}; {cached1_cpu})")
    ratios(", fact cache", cached4, facts4, cached1)
    print(f"the lab's floor: {calls} pings per host, as many module calls as site.yml's no-op:")
    print(f"{calls} pings, 4 nodes: {ping4:.2f} s (runs {runs(ping4_all)}; {ping4_cpu})")
    print(f"{calls} pings, 1 node: {ping1:.2f} s (runs {runs(ping1_all)}; {ping1_cpu})")
    print(f"(a floor) {calls} pings / facts-only play, 4 nodes: {ping4 / facts4:.2f}")
    print(f"(b floor) {calls} pings, 4 nodes / 1 node: {ping4 / ping1:.2f}")
    return 0


def ratios(label: str, site4: float, facts4: float, site1: float) -> None:
    ratio_facts, ratio_scale = site4 / facts4, site4 / site1
    print(f"(a{label}) no-op site.yml / facts-only play, 4 nodes: {ratio_facts:.2f} "
          f"(target {TARGET_FACTS} or less: {'met' if ratio_facts <= TARGET_FACTS else 'NOT met'})")
    print(f"(b{label}) no-op site.yml, 4 nodes / 1 node: {ratio_scale:.2f} "
          f"(target {TARGET_SCALE} or less: {'met' if ratio_scale <= TARGET_SCALE else 'NOT met'})")


if __name__ == "__main__":
    sys.exit(main())
