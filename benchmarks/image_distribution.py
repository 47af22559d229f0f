"""Issue 4's figures for the triton_image role, measured in one run on the lab (make lab):

(a) the wall time of a no-op run of the role (the image is current) over the wall time of a
    plain ``docker image inspect`` of the same image on the same node, as a ratio;
(b) the time to distribute one image from the builder to 1 and to 4 nodes that lack it,
    through the registry and through the controller, and the ratio 4 nodes / 1 node.

The builder and the nodes are lab node containers with their own Docker engines on the lab
network; the registry is Debian's docker-registry over TLS (lab/imagefleet.py). The image is
the one the from-source path builds from the stand-in of the ROCm server repository (a
Debian 12 userland, a few tens of MB) - the real ROCm image is tens of GB, so (b) here
measures the per-node overhead more than the bytes.

    .venv/bin/python benchmarks/image_distribution.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lab"))
import imagefleet  # noqa: E402

BUILDER = "inferops-bench-builder"
NODES = [f"inferops-bench-node{i}" for i in range(1, 5)]
IMAGE = "inferops/tritonserver:rocm7.2-ubuntu"


def timed(fleet, hosts, **variables):
    start = time.monotonic()
    rc, report, output = imagefleet.converge(fleet, hosts=hosts, **variables)
    elapsed = time.monotonic() - start
    if rc != 0:
        sys.exit(f"benchmark: the role failed on {hosts}:\n{output[-3000:]}")
    changed = sum(stats["changed"] for stats in report["stats"].values())
    return elapsed, changed


def inspect_time(name):
    start = time.monotonic()
    subprocess.run(["docker", "exec", name, "docker", "image", "inspect", IMAGE],
                   capture_output=True, check=True)
    return time.monotonic() - start


def forget(fleet, nodes, method):
    """Make ``nodes`` lack the image again (and, for the controller path, the archive)."""
    for name in nodes:
        imagefleet.node(name, "docker", "image", "rm", IMAGE)
    if method == "controller":
        imagefleet.node(BUILDER, "rm", "-rf", "/var/lib/inferops-triton/build/dist")
        subprocess.run(["rm", "-rf", str(fleet["work"] / "cache" / "images")], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-image-") as work:
        fleet = imagefleet.up(Path(work), BUILDER, NODES)
        try:
            first, _changed = timed(fleet, "builders", triton_image_distribution="none")
            size = imagefleet.node(BUILDER, "docker", "image", "inspect", "--format",
                                   "{{ .Size }}", IMAGE).stdout.strip()
            print(f"first build on the builder (stand-in repository): {first:.1f} s; "
                  f"image {int(size) / 1e6:.0f} MB")

            # (a) no-op role run against a plain docker image inspect, same node.
            noop = []
            for _run in range(args.repeat):
                elapsed, changed = timed(fleet, "builders", triton_image_distribution="none")
                assert changed == 0, "the no-op run changed something"
                noop.append(elapsed)
            plain = [inspect_time(BUILDER) for _run in range(max(5, args.repeat))]
            a_role, a_plain = statistics.median(noop), statistics.median(plain)
            print(f"(a) no-op role run {a_role:.2f} s / docker image inspect {a_plain:.3f} s "
                  f"= {a_role / a_plain:.0f}x  (medians of {len(noop)} and {len(plain)})")

            # (b) distribute to 1 and to 4 nodes that lack the image.
            for method in ("registry", "controller"):
                times = {}
                for count in (1, 4):
                    runs = []
                    for _run in range(args.repeat):
                        forget(fleet, NODES[:count], method)
                        elapsed, _changed = timed(fleet, ":".join(NODES[:count]),
                                                  triton_image_distribution=method)
                        held = {imagefleet.image_id(n, IMAGE) for n in NODES[:count]}
                        assert held == {imagefleet.image_id(BUILDER, IMAGE)}, held
                        runs.append(elapsed)
                    times[count] = statistics.median(runs)
                noop4, _changed = timed(fleet, ":".join(NODES), triton_image_distribution=method)
                print(f"(b) {method:10s}: 1 node {times[1]:.1f} s, 4 nodes {times[4]:.1f} s, "
                      f"4/1 = {times[4] / times[1]:.2f}; no-op re-run on 4 nodes {noop4:.1f} s")
        finally:
            imagefleet.down(fleet)


if __name__ == "__main__":
    main()
