"""The server as a systemd service on a real node (the demo node: systemd, its own Docker
engine, the real CPU-flavour tritonserver), through site.yml:

- the unit passes ``systemd-analyze verify``;
- ``docker kill`` of the server container: systemd brings it back and the gate passes;
- a restart of the node container: the service comes back by itself, ready;
- a second converge changes nothing;
- a model whose config names an output its ONNX file lacks fails the play with Triton's
  load error (the file comes from a mirror on the node, so the controller's signature check
  has no file to read and the server is the one to refuse it);
- restricted repository APIs: the key stays out of the unit, a request without the header
  is refused, the role's own calls carry it;
- one server per GPU over a captured topology: the module reads the 8x MI210 KFD tree of
  tests/fixtures/kfd (copied into the node, with the node's own /etc/group), and the render
  nodes and /dev/kfd it passes are stand-in character devices (1:3, the null device) made
  in the node, since there is no GPU here. systemd runs the real template instances, Docker
  passes the devices and groups, the CPU-flavour server answers on each instance's ports.

Needs root and the lab (make lab).
"""

import hashlib
import json
import subprocess
import time

import pytest
import yaml
from demonode import KFD_TREE, NODE, ROOT, captured_gpus, recap, remove_captured_gpus

UNIT = "/etc/systemd/system/triton-server.service"
READY = ("import urllib.request; urllib.request.urlopen("
         "'http://127.0.0.1:8000/v2/health/ready', timeout=3)")


@pytest.fixture(scope="module")
def node(demo_node):
    rc, out = demo_node.converged()
    assert rc == 0, out[-5000:]
    # The session's node may come from other modules' tests (explicit model control, other
    # models): converge it back to the defaults these tests start from.
    converge(demo_node)
    return demo_node


def converge(node, *flags, **variables):
    variables.setdefault("benchmark_enabled", False)
    rc, out = node.run("-e", json.dumps(variables), *flags)
    assert rc == 0, out[-5000:]
    return out


def container_started(node):
    proc = node.exec("docker", "inspect", "--format", "{{ .State.StartedAt }}", "triton-server")
    return proc.stdout.strip() if proc.returncode == 0 else None


def wait_for(what, check, seconds=240):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(2)
    raise AssertionError(f"{what} within {seconds} s")


def server_ready(node):
    return node.exec("python3", "-c", READY).returncode == 0


def test_the_unit_verifies_clean(node):
    proc = node.exec("systemd-analyze", "verify", UNIT)
    assert proc.returncode == 0, proc.stderr
    assert "triton-server" not in proc.stderr, proc.stderr
    unit = node.exec("cat", UNIT, check=True).stdout
    assert "--privileged" not in unit and "--device" not in unit  # CPU flavour: no GPU
    mode = node.exec("stat", "-c", "%a", "/etc/inferops-triton/triton-server.env").stdout
    assert mode.strip() == "600"


def test_docker_kill_brings_the_server_back_and_the_gate_passes(node):
    before = container_started(node)
    assert before
    node.exec("docker", "kill", "triton-server", check=True)
    wait_for("a new container", lambda: container_started(node) not in (None, before))
    wait_for("the server ready again", lambda: server_ready(node))
    restarts = node.exec("systemctl", "show", "--property", "NRestarts", "--value",
                         "triton-server.service").stdout.strip()
    assert int(restarts) >= 1
    out = converge(node, "-v")
    assert recap(out)["changed"] == 0, out[-3000:]
    # the gate ran in triton_service's call, and passed
    assert "then gate each (ready, its models READY, a zero inference after a change)" in out
    assert "gate_failures: []" in out and "url: http://127.0.0.1:8000" in out


def test_a_restarted_node_serves_again_by_itself(node):
    subprocess.run(["docker", "restart", NODE], check=True, capture_output=True)
    # "active" only once the wait helper saw /v2/health/ready (ExecStartPost)
    wait_for("triton-server.service active after the node restarted",
             lambda: node.exec("systemctl", "is-active", "triton-server.service")
             .stdout.strip() == "active", seconds=300)
    assert server_ready(node)


def test_a_second_converge_changes_nothing(node):
    out = converge(node)
    assert recap(out)["changed"] == 0, out[-3000:]


def test_a_wrong_output_name_fails_the_play_with_tritons_load_error(node):
    model = ROOT / "build" / "models" / "resnet50-v2.onnx"
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    node.exec("mkdir", "-p", "/srv/mirror", check=True)
    subprocess.run(["docker", "cp", str(model), f"{NODE}:/srv/mirror/resnet50-v2.onnx"],
                   check=True)
    subprocess.run(["docker", "exec", "-d", NODE, "python3", "-m", "http.server", "18091",
                    "--bind", "127.0.0.1", "--directory", "/srv/mirror"], check=True)
    try:
        wrong = {
            "name": "resnet50",
            "config": {
                "max_batch_size": 8,
                "input": [{"name": "data", "data_type": "TYPE_FP32", "dims": [3, 224, 224]}],
                "output": [{"name": "prob", "data_type": "TYPE_FP32", "dims": [1000]}],
                "instance_group": [{"kind": "KIND_CPU", "count": 1}],
            },
            "versions": [{"version": 1, "url": "http://127.0.0.1:18091/resnet50-v2.onnx",
                          "checksum": f"sha256:{sha}"}],
        }
        rc, out = node.run("-e", json.dumps({"triton_models": [wrong],
                                             "model_repository_download": "node",
                                             "benchmark_enabled": False}))
        assert rc != 0
        flat = " ".join(out.split())
        # --exit-on-error=false (AMD's guide, the role's default): the server stays up and
        # the gate names the model that did not load, with Triton's reason
        assert "did not pass the readiness gate" in flat, out[-4000:]
        assert "model resnet50 is UNAVAILABLE" in flat, out[-4000:]
        # Triton's own load error, with the backend's reason naming the missing output
        assert "failed to load 'resnet50'" in flat, out[-4000:]
        assert "config declares output 'prob'" in flat, out[-4000:]
    finally:
        node.exec("pkill", "-f", "http.server 18091")
    # The entry put right, the next converge serves it again.
    converge(node)
    assert server_ready(node)


def index_status(node, header=None):
    """The HTTP status of POST /v2/repository/index, with or without the restricted header."""
    headers = {"Triton-Admin-Key": header} if header else {}
    script = ("import sys, urllib.request, urllib.error\n"
              "request = urllib.request.Request('http://127.0.0.1:8000/v2/repository/index', "
              f"data=b'{{}}', headers={headers!r})\n"
              "try:\n    print(urllib.request.urlopen(request, timeout=5).status)\n"
              "except urllib.error.HTTPError as exc:\n    print(exc.code)\n")
    return int(node.exec("python3", "-c", script, check=True).stdout.strip())


def test_restricted_repository_api_needs_the_header_the_role_sends(node):
    key = "lab-only-key-4711"
    restricted = {"triton_server_restricted_apis": ["model-repository"],
                  "triton_server_restricted_value": key,
                  "triton_server_model_control_mode": "explicit"}
    converge(node, **restricted)
    assert key not in node.exec("cat", UNIT, check=True).stdout
    conf = "/etc/inferops-triton/triton-server.conf"
    assert node.exec("stat", "-c", "%a", conf).stdout.strip() == "600"
    assert index_status(node) == 403
    assert index_status(node, key) == 200
    # a changed model reaches the running server through the restricted API
    started = container_started(node)
    changed = json.loads(json.dumps(node_models(node)))
    changed[0]["config"]["dynamic_batching"] = {"max_queue_delay_microseconds": 900}
    out = converge(node, triton_models=changed, **restricted)
    assert "Load each changed model" in out
    assert container_started(node) == started
    # back to the defaults: the unit changes, the restriction and its file go
    converge(node)
    assert index_status(node) == 200
    assert node.exec("test", "-e", conf).returncode != 0


def node_models(node):
    """The demo inventory's triton_models, as the play sees them."""
    group_vars = ROOT / "inventory" / "demo" / "group_vars" / "triton_nodes.yml"
    models = yaml.safe_load(group_vars.read_text())["triton_models"]
    url = "{{ _demo_model_url }}"
    for model in models:
        for version in model["versions"]:
            assert version["url"].startswith(url)
    return models


def test_one_server_per_gpu_over_a_captured_topology(node):
    render_gid = captured_gpus(node)
    per_gpu = {"triton_server_gpu_mode": "per_gpu", "triton_server_gpu_indices": [0, 1],
               "triton_server_rocm_root": KFD_TREE}
    try:
        out = converge(node, "-v", **per_gpu)
        assert "triton-server@0.service" in out and "triton-server@1.service" in out
        # each instance gated on its own port
        assert "gate_failures: []" in out
        assert "url: http://127.0.0.1:8000" in out and "url: http://127.0.0.1:8010" in out
        for index, port in ((0, 8000), (1, 8010)):
            unit = f"triton-server@{index}.service"
            assert node.exec("systemctl", "is-active", unit).stdout.strip() == "active"
            host = json.loads(node.exec("docker", "inspect", f"triton-server-{index}",
                                        check=True).stdout)[0]["HostConfig"]
            assert [d["PathOnHost"] for d in host["Devices"]] == [
                "/dev/kfd", f"/dev/dri/renderD{128 + index}"]
            assert host["GroupAdd"] == [render_gid, "44"]
            assert not host["Privileged"]
            assert f"0.0.0.0:{port}:8000" in " ".join(
                f"{b[0]['HostIp']}:{b[0]['HostPort']}:{k.split('/')[0]}"
                for k, b in host["PortBindings"].items())
            env = node.exec("cat", f"/etc/inferops-triton/triton-server@{index}.env",
                            check=True).stdout
            uuid = ["GPU-1901ead3a2ecd4a6", "GPU-51276ac12ce05db3"][index]
            assert f"ROCR_VISIBLE_DEVICES={uuid}" in env
            assert "ORT_MIGRAPHX_COMPILE_BATCHES=1,2,4,8" in env
            ready = node.exec("python3", "-c", READY.replace("8000", str(port)))
            assert ready.returncode == 0, ready.stderr
        assert node.exec("systemctl", "is-active", "triton-server.service").stdout.strip() \
            != "active"
        verify = node.exec("systemd-analyze", "verify", "triton-server@0.service")
        assert verify.returncode == 0, verify.stderr
        out = converge(node, **per_gpu)
        assert recap(out)["changed"] == 0, out[-3000:]
    finally:
        # back to one CPU server: the instances stop, their files go
        out = converge(node)
        remove_captured_gpus(node)
    for index in (0, 1):
        assert node.exec("systemctl", "is-active", f"triton-server@{index}.service") \
            .stdout.strip() != "active"
        assert node.exec("test", "-e", f"/etc/inferops-triton/triton-server@{index}.conf") \
            .returncode != 0
    assert node.exec("test", "-e", "/etc/systemd/system/triton-server@.service").returncode != 0
    assert server_ready(node)
