"""Prometheus for the fleet (monitoring.yml, the prometheus role) on a lab monitoring node,
scraping the demo node's real Triton servers - two of them, one per GPU.

Real here: the monitoring node (systemd, Debian 12) and Debian's ``prometheus`` package
installed by the role through apt, its configuration checked by the package's own
``promtool`` before it is written, the scrape of each server's real metrics port from the
other node, and the answer of Prometheus' HTTP API to PromQL.

What stands in: the GPUs behind the two servers (a captured 8x MI210 KFD topology and
null-device render nodes, as in test_triton_server.py; the servers are the CPU flavour's),
so the ``gpu`` and ``pci_address`` labels are the captured machine's.
"""

import json
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from demonode import (
    KFD_FIXTURE,
    KFD_TREE,
    NODE,
    ROOT,
    captured_gpus,
    remove_captured_gpus,
)

from ansible_collections.inferops.triton.plugins.module_utils.rocm._facts import read_gpus

sys.path.insert(0, str(ROOT / "lab"))
import labctl  # noqa: E402

MONITOR = "inferops-test-monitor"
PER_GPU = {"triton_server_gpu_mode": "per_gpu", "triton_server_gpu_indices": [0, 1],
           "triton_server_rocm_root": KFD_TREE}


def converge(node, **variables):
    """site.yml on the demo node, without the benchmark (and so without demo.py's report)."""
    rc, out = node.play("site.yml", "-e", json.dumps(dict(variables, benchmark_enabled=False)))
    assert rc == 0, out[-5000:]
    return out


@pytest.fixture(scope="module")
def fleet(demo_node, tmp_path_factory):
    """The demo node serving one server per GPU, a monitoring node beside it on Docker's
    default bridge (the demo node's own engine takes the lab network's subnet for its
    containers, so it cannot join that network), and an inventory of both."""
    labctl.node_up(NODE, [])  # as lab/demo.py starts it, converged or not
    captured_gpus(demo_node)
    labctl.node_down(MONITOR)
    try:
        converge(demo_node, **PER_GPU)
        labctl.node_up(MONITOR, [])
        address = subprocess.run(
            ["docker", "inspect", "--format", "{{ .NetworkSettings.IPAddress }}", NODE],
            capture_output=True, text=True, check=True).stdout.strip()
        inventory = tmp_path_factory.mktemp("monitoring")
        (inventory / "hosts.yml").write_text(json.dumps({
            "triton_nodes": {"hosts": {NODE: dict(
                PER_GPU, ansible_connection="community.docker.docker",
                prometheus_scrape_address=address)}},
            "monitoring": {"hosts": {MONITOR: {
                "ansible_connection": "community.docker.docker"}}}}))
        (inventory / "group_vars").symlink_to(ROOT / "inventory" / "demo" / "group_vars")
        yield inventory, address
    finally:
        labctl.node_down(MONITOR)
        remove_captured_gpus(demo_node)
        converge(demo_node)  # back to one CPU server


def play(inventory, *args):
    env = {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "PATH": str(ROOT / ".venv" / "bin")
           + ":/usr/bin:/bin", "HOME": str(Path.home())}
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"),
                           str(ROOT / "monitoring.yml"), "-i", str(inventory),
                           "-e", "prometheus_scrape_interval=2s", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
                          check=False)
    return proc.returncode, proc.stdout + proc.stderr


def recap(output, host):
    for line in output.splitlines():
        if line.startswith(host + " ") and "ok=" in line:
            fields = dict(part.split("=") for part in line.split(":", 1)[1].split())
            return {key: int(value) for key, value in fields.items()}
    raise AssertionError(output[-3000:])


def api(path, **params):
    """Prometheus' HTTP API on the monitoring node, asked from inside it."""
    url = f"http://127.0.0.1:9090/api/v1/{path}?" + urllib.parse.urlencode(params)
    proc = subprocess.run(["docker", "exec", MONITOR, "python3", "-c",
                           f"import urllib.request; print(urllib.request.urlopen({url!r}, "
                           "timeout=5).read().decode())"],
                          capture_output=True, text=True, check=True)
    answer = json.loads(proc.stdout)
    assert answer["status"] == "success", answer
    return answer["data"]


def query(promql):
    return api("query", query=promql)["result"]


def targets_health():
    """What Prometheus says of its targets, for a failure's message."""
    return [(t["labels"].get("instance"), t["health"], t.get("lastError"))
            for t in api("targets")["activeTargets"]]


def wait_for(promql, count, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        result = query(promql)
        if len(result) >= count or time.monotonic() > deadline:
            return result
        time.sleep(2)


def installed(package):
    return subprocess.run(["docker", "exec", MONITOR, "dpkg-query", "-W", "-f", "${Status}",
                           package], capture_output=True, text=True,
                          check=False).stdout == "install ok installed"


def test_check_mode_reports_and_changes_nothing(fleet):
    rc, out = play(fleet[0], "--check", "--diff")
    assert rc == 0, out[-5000:]
    assert recap(out, MONITOR)["changed"] > 0
    assert not installed("prometheus"), "check mode installed prometheus"


def test_prometheus_scrapes_each_server_with_its_host_and_gpu_labels(fleet):
    inventory, address = fleet
    rc, out = play(inventory)
    assert rc == 0, out[-5000:]
    assert installed("prometheus")
    up = wait_for('up{job="triton"} == 1', 2)
    assert sorted(r["metric"]["instance"] for r in up) == [f"{address}:8002", f"{address}:8012"], \
        targets_health()

    # Inferences per instance, as Triton counts them, joined to the host and the GPU.
    counts = wait_for('sum by (host, service, gpu, pci_address) '
                      '(nv_inference_count{job="triton", model="resnet50"})', 2)
    gpus = {gpu["index"]: gpu["pci_address"] for gpu in read_gpus(str(KFD_FIXTURE))}
    labels = sorted((r["metric"]["host"], r["metric"]["service"], r["metric"]["gpu"],
                     r["metric"]["pci_address"]) for r in counts)
    assert labels == [(NODE, f"triton-server@{index}.service", str(index), gpus[index])
                      for index in (0, 1)]
    # the gate's zero inference after the change reached each server
    assert all(float(r["value"][1]) >= 1 for r in counts), counts

    targets = json.loads(subprocess.run(
        ["docker", "exec", MONITOR, "cat", "/etc/prometheus/file_sd/triton.json"],
        capture_output=True, text=True, check=True).stdout)
    assert [t["targets"] for t in targets] == [[f"{address}:8002"], [f"{address}:8012"]]


def test_a_second_run_changes_nothing(fleet):
    rc, out = play(fleet[0])
    assert rc == 0, out[-5000:]
    assert recap(out, MONITOR)["changed"] == 0, out[-5000:]
    assert recap(out, NODE)["changed"] == 0, out[-5000:]
