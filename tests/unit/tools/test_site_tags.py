"""site.yml's stage tags, as ansible-playbook --list-tasks resolves them: the pre-flight always
runs, each tag reaches its role's tasks, and a stage brings what it needs to be right on its
own ('server' the image, 'models' the server)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ROLES = ["rocm", "docker_engine", "triton_image", "model_repository", "triton_server",
         "benchmark"]


def listed(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), "-i",
         str(ROOT / "inventory" / "demo"), str(ROOT / "playbooks" / "site.yml"),
         "--list-tasks", *args], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return proc.stdout


def split_plays(text):
    """(the pre-flight's listing, the deploy play's listing)."""
    preflight, deploy = text.split("  play #2 ", 1)
    return preflight, deploy


def roles_in(text):
    """The roles whose own tasks the deploy play lists (not only their argument check), and
    whether the included ones (rocm, benchmark) would be included."""
    text = split_plays(text)[1]
    found = set(re.findall(r"inferops\.triton\.(\w+) : (?!Validating arguments)", text))
    if "ROCm and the amdgpu driver (rocm_enabled)" in text:
        found.add("rocm")
    if "The benchmark and its report" in text:
        found.add("benchmark")
    return found


@pytest.mark.parametrize(("tags", "expected"), [
    ("rocm", {"rocm"}),
    ("engine", {"docker_engine"}),
    ("image", {"triton_image"}),
    ("models", {"model_repository", "triton_server"}),
    ("server", {"triton_image", "triton_server"}),
    ("benchmark", {"benchmark"}),
    ("all", set(ROLES)),
])
def test_each_stage_runs_its_roles_after_the_pre_flight(tags, expected):
    out = listed("--tags", tags)
    assert roles_in(out) == expected
    preflight = split_plays(out)[0]
    for check in ("Gather the minimal facts",
                  "Check every input of the roles this playbook runs",
                  "inferops.triton.model_repository : Render the model configurations",
                  "inferops.triton.model_repository : Check each config against its ONNX file",
                  "inferops.triton.triton_server : Read the host's GPUs for GPU passthrough"):
        assert check in preflight


def test_skipping_the_benchmark_leaves_the_rest():
    assert roles_in(listed("--skip-tags", "benchmark")) == set(ROLES) - {"benchmark"}


def test_each_argument_spec_is_checked_once_per_host():
    """Every role's spec is checked by the pre-flight's one preflight task, before any host
    changes; no role checks its spec again, and the roles' own checks (for a role run on its
    own) are skipped after the pre-flight."""
    preflight, deploy = split_plays(listed())
    checked = re.compile(r"inferops\.triton\.(\w+) : Validating arguments against arg spec")
    assert checked.findall(preflight) == []
    assert checked.findall(deploy) == []
    assert preflight.count("Check every input of the roles this playbook runs") == 1
