"""AMD's own build.py (../shared/upstream, rocm7.2_r25.12) in the userlands the role builds on:
Debian 12 and Ubuntu 24.04 (the lab's node images, bootstrapped from the distributions'
archives). build.py guesses its target platform from /etc/os-release; Debian 12 has no
ID_LIKE, so with the guide's flags alone it targets RHEL and stops - the role's
--target-platform=linux is what makes the build go. Each run is ``--dryrun`` with exactly the
arguments the role passes; the test reads what build.py generated.

What stands in: build.py's two imports (distro, requests, pure Python) come from the
controller's venv on PYTHONPATH instead of the distribution packages the role installs on a
builder (python3-distro, python3-requests), so the test needs no package download.
Needs the lab's node images (make lab).
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build" / "collections"))
from ansible_collections.inferops.triton.plugins.module_utils.image import (  # noqa: E402
    _build as tb,
)

UPSTREAM = ROOT.parent / "shared" / "upstream" / \
    "rocm-triton-inference-server-server-rocm7.2_r25.12.tar.gz"
USERLANDS = {"debian": "inferops-lab/node:debian12", "ubuntu": "inferops-lab/node:ubuntu2404"}
IMPORTS = ("distro", "requests", "urllib3", "idna", "certifi", "charset_normalizer")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    if not UPSTREAM.is_file():
        pytest.skip(f"{UPSTREAM} is not here (shared/upstream sits beside the project's "
                    "checkouts only)")
    work = tmp_path_factory.mktemp("userlands")
    subprocess.run(["tar", "-xzf", str(UPSTREAM), "-C", str(work)], check=True)
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    for name in IMPORTS:
        shutil.copytree(site / name, work / "pylib" / name)
    return work


def dry_run(work, distro, args):
    """build.py --dryrun in a fresh copy of the repository, in ``distro``'s userland; returns
    the process and the generated files."""
    repo = work / f"server-{distro}-{len(args)}"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(work / "triton-inference-server-server", repo, symlinks=True)
    proc = subprocess.run(
        ["docker", "run", "--rm", "--network=none", "-v", f"{repo}:/src", "-v",
         f"{work / 'pylib'}:/pylib:ro", "-e", "PYTHONPATH=/pylib", "-w", "/src",
         USERLANDS[distro], "python3", "build.py", "--dryrun", *args],
        capture_output=True, text=True, check=False, timeout=180)
    files = {p.name: p.read_text() for p in (repo / "build").glob("*") if p.is_file()} \
        if (repo / "build").is_dir() else {}
    return proc, files


@pytest.mark.parametrize("distro", sorted(USERLANDS))
def test_the_roles_arguments_generate_amds_image_in_each_userland(work, distro):
    proc, files = dry_run(work, distro, tb.build_py_args(distro))
    assert proc.returncode == 0, proc.stderr[-3000:]
    dockerfile = files["Dockerfile"]
    assert re.findall(r"^ENTRYPOINT (.*)$", dockerfile, re.M)[-1] == \
        '["/opt/rocm/rocm_entrypoint.sh"]'
    assert f"ARG BASE_IMAGE=localhost/{tb.DISTROS[distro]}_rocm7.2" in dockerfile
    assert "docker build -t tritonserver -f" in files["docker_build"]
    assert " -it " not in files["docker_build"]
    ours = tb.clones()
    assert (f"-b {ours['onnxruntime_backend']['ref']} {ours['onnxruntime_backend']['url']} "
            in files["cmake_build"])
    assert f"-DTRITON_LINUX_DISTRO:STRING={distro}" in files["cmake_build"]


def test_the_guides_flags_alone_fail_on_debian_12(work):
    # The defect the role's --target-platform=linux fixes, reproduced with AMD's own code.
    guide = [a for a in tb.build_py_args("debian") if a not in tb.UNATTENDED_FLAGS]
    proc, _files = dry_run(work, "debian", guide)
    assert proc.returncode != 0
    assert "A base image must be specified when targeting RHEL" in proc.stderr
    # Ubuntu's ID_LIKE says debian: there the guide's flags pass.
    proc, _files = dry_run(work, "ubuntu", [a for a in tb.build_py_args("ubuntu")
                                            if a not in tb.UNATTENDED_FLAGS])
    assert proc.returncode == 0, proc.stderr[-3000:]
