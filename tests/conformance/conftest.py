"""The upstream snapshots the conformance tests read: ../shared/upstream beside the checkout
(see its SOURCE.md), or INFEROPS_UPSTREAM. Absent in a user's own clone: the tests skip,
saying so."""

import subprocess
import sys
from pathlib import Path

import pytest
from upstream import UPSTREAM

SERVER_TARBALL = "rocm-triton-inference-server-server-rocm7.2_r25.12.tar.gz"


def snapshot(tmp_path_factory, tarball: str) -> Path:
    path = UPSTREAM / tarball
    if not path.is_file():
        pytest.skip(f"upstream snapshot {path} is not here (shared/upstream is beside the "
                    "project's checkouts only); nothing to check against")
    out = tmp_path_factory.mktemp("upstream")
    subprocess.run(["tar", "-xzf", str(path), "-C", str(out)], check=True)
    (top,) = [p for p in out.iterdir() if p.is_dir()]
    return top


@pytest.fixture(scope="session")
def server_repo(tmp_path_factory) -> Path:
    """AMD's ROCm fork of the Triton server at rocm7.2_r25.12, extracted (read-only use)."""
    return snapshot(tmp_path_factory, SERVER_TARBALL)


@pytest.fixture(scope="session")
def build_py_python() -> str:
    """A Python with what build.py imports (distro, requests): the controller venv's."""
    return sys.executable
