"""The readiness gate and its verdict (server/_gate.py), against a local server replaying
what a real Triton server answered; triton_server_info returns the same verdict."""

import json
import os
import subprocess
import sys

import pytest
from triton_captures import (
    BROKEN_REASON,
    OK,
    ROOT,
    Replay,
)


def test_triton_service_gates_the_replayed_server_and_names_what_failed(replay):
    """The gate triton_service runs in its own call: the same server_info, asked on the
    instance's port with the restricted-API header, and its failures one line each."""
    from ansible_collections.inferops.triton.plugins.module_utils.server import _gate

    profile, url = replay
    port = int(url.rsplit(":", 1)[1])
    models = ["resnet50"] if profile == "main" else ["types", "broken"]
    settings = {"bind_address": "0.0.0.0", "models": [{"name": m} for m in models],
                "restricted_apis": ["inference"], "restricted_key": "infer-key",
                "restricted_value": "secret", "gate_smoke": True, "gate_wait": 0}
    entry = _gate.gate(settings, {"unit": "triton-server.service", "ports": {"http": port}})
    assert entry["unit"] == "triton-server.service"
    assert entry["url"] == f"http://127.0.0.1:{port}"
    assert entry["metrics"] == {}  # the gate does not read the metrics port
    assert all(sent.get("infer-key") == "secret" for _m, _p, sent, _b in Replay.seen)
    if profile == "main":
        assert entry["ready"] is True and _gate.gate_failures(entry) == []
    else:
        # the broken model fails once (not again as a smoke test it never got)
        assert _gate.gate_failures(entry) == [
            "triton-server.service not ready after 0 s",
            "triton-server.service: model broken is UNAVAILABLE: " + BROKEN_REASON]


def test_an_unchanged_server_is_gated_without_the_zero_inference(replay):
    """After a call that changed nothing, the gate asks readiness and each model's state but
    sends no inference (unless gate_smoke_unchanged); after a change it sends one per model."""
    from ansible_collections.inferops.triton.plugins.module_utils.server import _gate

    profile, url = replay
    if profile != "main":
        pytest.skip("the main replay serves the model a zero inference reaches")
    instance = {"unit": "triton-server.service", "ports": {"http": int(url.rsplit(":", 1)[1])}}
    params = {"bind_address": "0.0.0.0", "models": [{"name": "resnet50"}],
              "restricted_apis": [], "restricted_key": "", "restricted_value": "",
              "gate_smoke": True, "gate_smoke_unchanged": False, "gate_wait": 0}

    def inferences(what="/infer"):
        return [path for _m, path, _s, _b in Replay.seen if path.endswith(what)]

    Replay.seen.clear()
    quiet = _gate.gate(_gate.gate_settings(params, changed=False), instance)
    assert quiet["ready"] is True and quiet["smoke"] == {} and inferences() == []
    assert inferences("/config") == [] and quiet["configs"] == {}  # read for a smoke only
    assert _gate.gate_failures(quiet) == []
    for changed, unchanged in ((True, False), (False, True)):
        Replay.seen.clear()
        entry = _gate.gate(_gate.gate_settings(dict(params, gate_smoke_unchanged=unchanged),
                                               changed), instance)
        assert entry["smoke"]["resnet50"]["ok"] is True
        assert inferences() == ["/v2/models/resnet50/infer"]
        assert inferences("/config") == ["/v2/models/resnet50/config"]
    assert _gate.gate_settings(dict(params, gate_smoke=False), True)["gate_smoke"] is False


def test_gate_failures_name_a_failed_zero_inference_and_the_last_error():
    from ansible_collections.inferops.triton.plugins.module_utils.server._gate import gate_failures

    entry = {"unit": "triton-server@1.service", "ready": False, "waited": 300.4,
             "errors": ["GET http://127.0.0.1:8010/v2/health/ready: timed out"],
             "unavailable": [],
             "smoke": {"resnet50": {"ok": False, "msg": "output 'prob' is missing"},
                       "types": {"ok": True, "msg": OK}}}
    assert gate_failures(entry) == [
        "triton-server@1.service not ready after 300 s "
        "(GET http://127.0.0.1:8010/v2/health/ready: timed out)",
        "triton-server@1.service: zero inference on resnet50 failed: output 'prob' is missing"]


def test_the_info_gate_returns_the_same_verdict_as_triton_service(replay, tmp_path):
    """The explicit-mode gate (triton_server_info looped over the instances, each named by
    its unit) returns in gate_failures exactly what triton_service's own gate returns: the
    role reads the verdict and restates no rule of it."""
    from ansible_collections.inferops.triton.plugins.module_utils.server import _gate

    profile, url = replay
    port = int(url.rsplit(":", 1)[1])
    models = ["resnet50"] if profile == "main" else ["types", "broken"]
    instance = {"unit": "triton-server.service", "ports": {"http": port}}
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        "url": url, "metrics_url": "", "models": models, "smoke": True,
        "unit": instance["unit"]}}))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "build" / "collections"))
    run = subprocess.run(
        [sys.executable, "-m",
         "ansible_collections.inferops.triton.plugins.modules.triton_server_info",
         str(args)], capture_output=True, text=True, env=env, timeout=60, check=False)
    looped = json.loads(run.stdout)
    settings = {"bind_address": "0.0.0.0", "models": [{"name": m} for m in models],
                "restricted_apis": [], "gate_smoke": True, "gate_wait": 0}
    expected = _gate.gate_failures(_gate.gate(settings, instance))
    assert looped["gate_failures"] == expected, run.stdout + run.stderr
    assert bool(expected) is (profile == "broken")


def test_the_info_gate_names_the_url_without_a_unit(replay, tmp_path):
    profile, url = replay
    if profile != "broken":
        pytest.skip("the broken replay has a model that fails the gate")
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        "url": url, "metrics_url": "", "models": ["broken"]}}))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "build" / "collections"))
    run = subprocess.run(
        [sys.executable, "-m",
         "ansible_collections.inferops.triton.plugins.modules.triton_server_info",
         str(args)], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert json.loads(run.stdout)["gate_failures"] == [
        f"{url} not ready after 0 s", f"{url}: model broken is UNAVAILABLE: " + BROKEN_REASON]
