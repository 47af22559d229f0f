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
ROLES = ["rocm", "docker_engine", "gpu_exporter", "triton_image", "model_repository",
         "triton_server", "benchmark"]


def listed(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), "-i",
         str(ROOT / "inventory" / "demo"), str(ROOT / "playbooks" / "site.yml"),
         "--list-tasks", *args], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return proc.stdout


def plays(text):
    """Each play's listing, by the play's name."""
    found = {}
    for part in re.split(r"^  play #\d+ ", text, flags=re.M)[1:]:
        name = part.split(": ", 1)[1].split("\t", 1)[0]
        found[name] = part
    return found


def split_plays(text):
    """(the pre-flights' listing, the deploy play's listing)."""
    listed = plays(text)
    preflight = "".join(part for name, part in listed.items() if name.startswith("Pre-flight"))
    return preflight, listed["Deploy and benchmark Triton Inference Server"]


def roles_in(text):
    """The roles whose own tasks the deploy play lists (not only their argument check), and
    whether the included ones (rocm, gpu_exporter, benchmark) would be included."""
    text = split_plays(text)[1]
    found = set(re.findall(r"inferops\.triton\.(\w+) : (?!Validating arguments)", text))
    if "ROCm and the amdgpu driver (rocm_enabled)" in text:
        found.add("rocm")
    if "AMD's GPU metrics exporter (gpu_exporter_enabled)" in text:
        found.add("gpu_exporter")
    if "The benchmark and its report" in text:
        found.add("benchmark")
    return found


@pytest.mark.parametrize(("tags", "expected"), [
    ("rocm", {"rocm"}),
    ("engine", {"docker_engine"}),
    ("exporter", {"gpu_exporter"}),
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


def test_the_monitoring_hosts_are_checked_before_any_host_changes_and_set_up_last():
    """Prometheus' variables and scrape targets are checked in a pre-flight play of the
    monitoring hosts, before the deploy; the monitoring plays come last, tagged
    'monitoring', and run their role without checking its spec again."""
    out = listed()
    names = list(plays(out))
    assert names.index("Pre-flight — the monitoring hosts' variables and scrape targets") \
        < names.index("Deploy and benchmark Triton Inference Server") \
        < names.index("Prometheus for the fleet") == len(names) - 1
    preflight = plays(out)["Pre-flight — the monitoring hosts' variables and scrape targets"]
    assert "Check the prometheus role's input" in preflight
    assert "inferops.triton.prometheus : Make the scrape targets" in preflight
    monitoring = plays(listed("--tags", "monitoring"))["Prometheus for the fleet"]
    assert "inferops.triton.prometheus : Install the distribution's Prometheus" in monitoring
    assert "Validating arguments against arg spec" not in monitoring
