"""A local git repository laid out like ROCm/triton-inference-server-server, for tests.

GitHub is not reachable from the lab. The triton_image module's build path runs for real
against this stand-in: ``git ls-remote`` resolves the branch, the module fetches the
commit, runs ``scripts/build_<distro>_rocm_72_base.sh`` (a small real ``docker build`` of
``localhost/<distro>_rocm7.2``, as the repository's own base scripts tag theirs) and
``python3 build.py <the guide's arguments>``, which builds ``tritonserver:latest`` on that
base with the arguments it was given recorded in ``/opt/tritonserver/build-args.txt`` - and
fails, as the real one would, on an argument the guide does not use.

What build.py clones by branch while it builds (the onnxruntime backend, ONNX Runtime,
MIGraphX, core, backend, common, third_party: ``_triton_build.CLONES``) is stood in by one
repository per URL under ``DIR/github/``, each with its branch and one commit that says it
is a stand-in; ``git_config(DIR)`` is the ``url.<base>.insteadOf`` setting that sends
``https://github.com/`` there, as a site with a mirror of GitHub would set it. The module
resolves those branches for the image's provenance; nothing is built from them.

    rocm_server_repo.py DIR [--base-image inferops-lab/debian:12]

The branch is ``rocm7.2_r25.12``. Standard library and git, and the collection's table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BRANCH = "rocm7.2_r25.12"
DISTROS = {"ubuntu": "ubuntu24.04", "debian": "debian12"}
GITHUB = "https://github.com/"
IDENTITY = ["-c", "user.name=inferops lab", "-c", "user.email=lab@inferops.invalid"]

BUILD_PY = '''\
"""Stand-in for the ROCm server repository's build.py (inferops lab; not AMD's code)."""
import argparse
import subprocess
import sys
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
parser.add_argument("--target-platform", choices=["linux", "rhel", "windows", "igpu"])
parser.add_argument("--no-container-interactive", action="store_true")
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
    git(directory, *IDENTITY, "commit", "-q", "-m", "stand-in of the ROCm server repository layout")
    make_clones(directory / "github")
    return git(directory, "rev-parse", "HEAD")


def collection_clones() -> dict:
    """The collection's own table (``_triton_build.CLONES``), through ``make venv``'s link."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "build" / "collections"))
    from ansible_collections.inferops.triton.plugins.module_utils._triton_build import CLONES

    return CLONES


def clone_path(root: Path, url: str) -> Path:
    """Where the stand-in of ``url`` (a GitHub URL) lives under ``root``."""
    return root / url[len(GITHUB):]


def make_clones(root: Path) -> None:
    """A repository per URL build.py clones, with the branch it clones, one commit each."""
    CLONES = collection_clones()
    for name, (url, ref, _ref_option, _url_option) in CLONES.items():
        path = clone_path(root, url)
        if not (path / ".git").exists():
            path.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "init", "-q", "-b", ref, str(path)], check=True)
        elif git(path, "branch", "--list", ref) == "":
            git(path, "checkout", "-q", "-b", ref)
        (path / "STANDIN").write_text(f"inferops lab stand-in of {url} ({name}) at {ref}: "
                                      "branch resolution only, nothing is built from it\n")
        git(path, "add", "STANDIN")
        git(path, *IDENTITY, "commit", "-q", "--allow-empty", "-m", f"stand-in of {name}")


def move_clone(root: Path, name: str) -> str:
    """A new commit on the branch build.py clones for ``name``; returns it."""
    url, ref = collection_clones()[name][:2]
    path = clone_path(root / "github", url)
    git(path, "checkout", "-q", ref)
    git(path, *IDENTITY, "commit", "-q", "--allow-empty", "-m", f"{name} moves on")
    return git(path, "rev-parse", "HEAD")


def git_config(root: Path) -> dict:
    """The environment that makes git fetch ``https://github.com/...`` from ``root/github``."""
    return {"GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.file://{root / 'github'}/.insteadOf",
            "GIT_CONFIG_VALUE_0": GITHUB}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--base-image", default="inferops-lab/debian:12")
    args = parser.parse_args()
    print(make(args.directory, args.base_image))


if __name__ == "__main__":
    main()
