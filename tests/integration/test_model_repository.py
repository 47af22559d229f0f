"""Model repositories on a real node (the demo node: systemd, its own Docker engine, the real
CPU-flavour tritonserver), through site.yml:

- a checksum that a node's own download does not match fails the run, and the node's
  repository is as it was (the bad-input table is test_bad_input.py);
- explicit model control: a changed ``dynamic_batching`` reaches the running server through
  the repository API, without restarting its container; a model added and then removed
  is loaded and unloaded the same way.

Needs root and the lab (make lab).
"""

import hashlib
import json
import subprocess

import pytest
from demomodel import REPOSITORY, entry
from demonode import NODE, ROOT, recap


@pytest.fixture(scope="module")
def node(demo_node):
    rc, out = demo_node.converged()
    assert rc == 0, out[-5000:]
    return demo_node


def started_at(node):
    return node.exec("docker", "inspect", "--format", "{{ .State.StartedAt }}",
                     "triton-server", check=True).stdout.strip()


def served_config(node, model):
    out = node.exec("python3", "-c", "import sys, urllib.request; sys.stdout.write(urllib.request"
                    f".urlopen('http://127.0.0.1:8000/v2/models/{model}/config').read().decode())")
    return json.loads(out.stdout) if out.returncode == 0 else None


def converge(node, *flags, **variables):
    variables.setdefault("benchmark_enabled", False)
    variables.setdefault("triton_server_model_control_mode", "explicit")
    rc, out = node.run("-e", json.dumps(variables), *flags)
    assert rc == 0, out[-5000:]
    return out


def test_explicit_mode_reaches_the_running_server_without_a_restart(node):
    # Switching to explicit mode changes the unit: that converge restarts, once.
    converge(node)
    assert "--model-control-mode=explicit" in node.exec(
        "cat", "/etc/systemd/system/triton-server.service").stdout
    started = started_at(node)
    assert int(served_config(node, "resnet50")["dynamic_batching"][
        "max_queue_delay_microseconds"]) == 2000

    changed = [entry(config={"dynamic_batching": {"max_queue_delay_microseconds": 500,
                                                  "preferred_batch_size": [4, 8]}})]
    # Check mode says what would happen and does none of it.
    pbtxt = node.file_sha256(f"{REPOSITORY}/resnet50/config.pbtxt")
    out = converge(node, "--check", "--diff", triton_models=changed)
    assert "would load resnet50 and unload none on the running server" in out
    assert "+  max_queue_delay_microseconds: 500" in out
    assert node.file_sha256(f"{REPOSITORY}/resnet50/config.pbtxt") == pbtxt

    out = converge(node, triton_models=changed)
    assert "models changed: resnet50; removed: none" in out
    served = served_config(node, "resnet50")["dynamic_batching"]
    assert int(served["max_queue_delay_microseconds"]) == 500
    assert served["preferred_batch_size"] == [4, 8]
    assert started_at(node) == started  # the same container, not restarted

    out = converge(node, triton_models=changed)
    assert recap(out)["changed"] == 0

    # A second model is loaded live; removed again with prune, it is unloaded and its
    # directory goes.
    second = dict(entry(), name="resnet50_b")
    second["config"] = dict(second["config"], max_batch_size=4)
    converge(node, triton_models=[*changed, second], model_repository_prune=True)
    assert int(served_config(node, "resnet50_b")["max_batch_size"]) == 4
    out = converge(node, triton_models=changed, model_repository_prune=True)
    assert "removed: resnet50_b" in out
    assert served_config(node, "resnet50_b") is None
    assert node.exec("test", "-e", f"{REPOSITORY}/resnet50_b").returncode != 0
    assert started_at(node) == started


def test_a_load_the_server_refuses_fails_the_play_with_the_servers_error(node):
    # Valid for the schema, but this server has no such backend: the load is refused.
    refused = [entry(config={"backend": "tensorflow"})]
    rc, out = node.run("-e", json.dumps({"triton_models": refused, "benchmark_enabled": False,
                                         "triton_server_model_control_mode": "explicit"}))
    assert rc != 0
    flat = " ".join(out.split())
    said = flat.split(f"the repository API on {NODE} refused: resnet50: ", 1)
    assert len(said) == 2, out[-3000:]
    # Triton's own answer, then the reason it logged, which names the backend
    assert said[1].startswith("failed to load 'resnet50'")
    assert "Errors the server logged:" in said[1] and "tensorflow" in said[1][:2000]
    # The entry put right, the next run loads it again.
    converge(node)
    assert served_config(node, "resnet50")["backend"] == "onnxruntime_cpu"


def test_back_to_no_model_control_restarts_on_a_change(node):
    converge(node, triton_server_model_control_mode="none")
    started = started_at(node)
    out = converge(node, triton_server_model_control_mode="none")
    assert recap(out)["changed"] == 0
    converge(node, triton_server_model_control_mode="none",
             triton_models=[entry(config={"dynamic_batching": {
                 "max_queue_delay_microseconds": 700}})])
    assert started_at(node) != started
    assert int(served_config(node, "resnet50")["dynamic_batching"][
        "max_queue_delay_microseconds"]) == 700


def test_each_node_downloads_from_a_mirror_and_places_only_a_verified_file(node):
    # A mirror near the hosts: an HTTP server on the node's own loopback serving the model.
    model = ROOT / "build" / "models" / "resnet50-v2.onnx"
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    node.exec("mkdir", "-p", "/srv/mirror", check=True)
    for name in ("resnet50-v2.onnx", "resnet50-v2-b.onnx"):
        subprocess.run(["docker", "cp", str(model), f"{NODE}:/srv/mirror/{name}"], check=True)
    subprocess.run(["docker", "exec", "-d", NODE, "python3", "-m", "http.server", "18090",
                    "--bind", "127.0.0.1", "--directory", "/srv/mirror"], check=True)
    mirror = "http://127.0.0.1:18090"
    try:
        mirrored = [{"version": v, "url": f"{mirror}/{name}", "checksum": f"sha256:{sha}"}
                    for v, name in ((1, "resnet50-v2.onnx"), (2, "resnet50-v2-b.onnx"))]
        wrong = [mirrored[0], dict(mirrored[1], checksum="sha256:" + "0" * 64)]
        before = node.state()["repository"]
        rc, out = node.run("-e", json.dumps({"triton_models": [entry(versions=wrong)],
                                             "model_repository_download": "node",
                                             "benchmark_enabled": False}))
        assert rc != 0
        assert f"has sha256 {sha}, expected {'0' * 64}; nothing was placed" in out, out[-3000:]
        assert node.state()["repository"] == before

        out = converge(node, triton_models=[entry(versions=mirrored)],
                       model_repository_download="node")
        assert node.file_sha256(f"{REPOSITORY}/resnet50/2/model.onnx") == sha
        assert node.exec("test", "-e", "/var/lib/inferops-triton/staging").returncode != 0
        ready = node.exec("python3", "-c", "import urllib.request; urllib.request.urlopen("
                          "'http://127.0.0.1:8000/v2/models/resnet50/versions/2/ready')")
        assert ready.returncode == 0, ready.stderr
    finally:
        node.exec("pkill", "-f", "http.server 18090")
