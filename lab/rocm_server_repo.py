"""A local git repository laid out like ROCm/triton-inference-server-server, for tests.

GitHub is not reachable from the lab. The triton_image module's build path runs for real
against this stand-in: ``git ls-remote`` resolves the branch, the module fetches the
commit, runs ``scripts/build_<distro>_rocm_72_base.sh`` (a small real ``docker build`` of
``localhost/<distro>_rocm7.2``, as the repository's own base scripts tag theirs) and
``python3 build.py <the guide's arguments>``, which builds ``tritonserver:latest`` on that
base with the arguments it was given recorded in ``/opt/tritonserver/build-args.txt`` - and
fails, as the real one would, on an argument the guide does not use.

    rocm_server_repo.py DIR [--base-image inferops-lab/debian:12]

The branch is ``rocm7.2_r25.12``. Standard library and git only.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

BRANCH = "rocm7.2_r25.12"
DISTROS = {"ubuntu": "ubuntu24.04", "debian": "debian12"}

BUILD_PY = '''\
"""Stand-in for the ROCm server repository's build.py (inferops lab; not AMD's code)."""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

parser = argparse.ArgumentParser()
for flag in ("--no-container-pull", "--enable-logging", "--enable-stats", "--enable-tracing",
             "--enable-rocm", "--enable-metrics", "--verbose"):
    parser.add_argument(flag, action="store_true")
parser.add_argument("--endpoint", action="append", choices=["grpc", "http"], default=[])
parser.add_argument("--backend", action="append", default=[])
parser.add_argument("--repo-tag", action="append", default=[])
parser.add_argument("--linux-distro", choices=["ubuntu", "debian"], required=True)
args = parser.parse_args()
distro = {"ubuntu": "ubuntu24.04", "debian": "debian12"}[args.linux_distro]
with tempfile.TemporaryDirectory() as context:
    Path(context, "build-args.txt").write_text(" ".join(sys.argv[1:]) + "\\n")
    Path(context, "Dockerfile").write_text(
        f"FROM localhost/{distro}_rocm7.2\\n"
        "COPY build-args.txt /opt/tritonserver/build-args.txt\\n")
    print("stand-in build.py: building tritonserver:latest", flush=True)
    sys.exit(subprocess.call(["docker", "build", "-t", "tritonserver:latest", context]))
'''


def git(directory: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(directory), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def make(directory: Path, base_image: str) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", BRANCH, str(directory)], check=True)
    for distro in DISTROS.values():
        tag = f"localhost/{distro}_rocm7.2"
        dockerfile = f"Dockerfile.{distro}_rocm7.2"
        (directory / dockerfile).write_text(
            f"# Stand-in for the ROCm {distro} base (inferops lab): no ROCm inside.\n"
            f"FROM {base_image}\nRUN mkdir -p /opt/tritonserver\n")
        script = directory / "scripts" / f"build_{distro}_rocm_72_base.sh"
        script.parent.mkdir(exist_ok=True)
        script.write_text(f"#!/bin/bash\n# Build {tag} (inferops lab stand-in)\nset -e\n"
                          f"docker build -t {tag} -f {dockerfile} .\n")
        script.chmod(0o755)
    (directory / "build.py").write_text(BUILD_PY)
    git(directory, "add", "-A")
    git(directory, "-c", "user.name=inferops lab", "-c", "user.email=lab@inferops.invalid",
        "commit", "-q", "-m", "stand-in of the ROCm server repository layout")
    return git(directory, "rev-parse", "HEAD")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--base-image", default="inferops-lab/debian:12")
    args = parser.parse_args()
    print(make(args.directory, args.base_image))


if __name__ == "__main__":
    main()
