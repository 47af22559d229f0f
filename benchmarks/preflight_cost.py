"""What checking every role's input in the pre-flight costs, against the pre-flight before it.

On the lab's SSH fleet (lab/fleet.py: four nodes, inventory/fleet/), converged once by this
checkout's site.yml, it times alternately, --repeat times each (medians):

- new: ``ansible-playbook playbooks/preflight.yml`` of this checkout - facts, GPUs, the
  ``inferops.triton.preflight`` check of every role's variables, the model files;
- old: the same playbook of the baseline revision (default 45324dd, the last commit before
  the one pre-flight; it checked model_repository's and triton_server's argument specs and
  models only), run from a ``git archive`` of that revision with its own collection;

and the same for the whole no-op ``site.yml --skip-tags benchmark`` (the new one also saves
the rollback point, which on a converged host changes nothing). Prints each median and the
ratio new / old, and the added seconds.

    .venv/bin/python benchmarks/preflight_cost.py [--repeat 5] [--baseline REV] [--keep-fleet]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lab"))
import fleet  # noqa: E402
import labctl  # noqa: E402


def checkout(revision: str, into: Path) -> Path:
    """The baseline's tree, with build/collections pointing at it as in a checkout."""
    archive = into / "tree.tar"
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), revision], cwd=ROOT,
                   check=True)
    tree = into / "tree"
    tree.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    link = tree / "build" / "collections" / "ansible_collections" / "inferops"
    link.mkdir(parents=True)
    (link / "triton").symlink_to(tree)
    return tree


def play(tree: Path, *args: str) -> float:
    env = dict(os.environ, ANSIBLE_CONFIG=str(tree / "ansible.cfg"))
    start = time.monotonic()
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i",
                           str(ROOT / "inventory" / "fleet"), *args], cwd=tree, env=env,
                          capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if proc.returncode != 0 or " changed=0 " not in proc.stdout:
        sys.exit(f"{tree}: ansible-playbook {' '.join(args)} failed or changed something:\n"
                 f"{proc.stdout[-4000:]}{proc.stderr[-2000:]}")
    for line in proc.stdout.splitlines():
        if "changed=" in line and " changed=0 " not in line and ":" in line:
            sys.exit(f"{tree}: not a no-op: {line}")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", default="45324dd")
    parser.add_argument("--keep-fleet", action="store_true")
    args = parser.parse_args()
    labctl.cmd_engine(None)
    hosts = fleet.up(4)
    try:
        subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i",
                        str(ROOT / "inventory" / "fleet"), "site.yml", "--skip-tags",
                        "benchmark"], cwd=ROOT, check=True, capture_output=True,
                       env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")))
        with tempfile.TemporaryDirectory() as tmp:
            old = checkout(args.baseline, Path(tmp))
            results = {}
            for what, argv in (("pre-flight", ["playbooks/preflight.yml"]),
                               ("site.yml no-op", ["site.yml", "--skip-tags", "benchmark"])):
                for tree in (ROOT, old):  # warm-up: SSH masters, caches
                    play(tree, *argv)
                times = {"new": [], "old": []}
                for _run in range(args.repeat):
                    times["new"].append(play(ROOT, *argv))
                    times["old"].append(play(old, *argv))
                results[what] = times
    finally:
        if not args.keep_fleet:
            fleet.down(4)
    print(f"{len(hosts)} converged nodes, {os.cpu_count()} cores, baseline {args.baseline}, "
          f"{args.repeat} alternating runs each")
    for what, times in results.items():
        new, old = statistics.median(times["new"]), statistics.median(times["old"])
        print(f"{what}: new {new:.2f} s (runs {', '.join(f'{t:.2f}' for t in times['new'])}), "
              f"old {old:.2f} s (runs {', '.join(f'{t:.2f}' for t in times['old'])}); "
              f"new/old {new / old:.2f}, added {new - old:+.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
