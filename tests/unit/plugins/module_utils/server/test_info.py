"""triton_server_info's logic (server/_info.py) on what a real Triton server answered
(tests/fixtures/triton, SOURCE.md says how each file was captured): the repository index,
the wait loop, and one pass over a server through a stub transport and through a local
HTTP server that replays the captured responses; the module end to end.

The numbers asserted are the ones in the captures: tritonserver 2.51.0 (nvidia-pytriton
0.7.0, the CPU flavour) serving resnet50 on the onnxruntime_cpu backend, and a second
server with a model ("broken") whose config names an output its ONNX file lacks.
"""

import json
import os
import subprocess
import sys

import pytest
from triton_captures import (
    BROKEN_ENTRY,
    EXPECTED,
    RESNET50_METRICS,
    ROOT,
    TRITON,
    FakeClock,
    Replay,
    _json,
    _restricted_transport,
)

from ansible_collections.inferops.triton.plugins.module_utils.server._client import (
    Response,
    TritonClient,
    Unreachable,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._info import (
    failed_to_load,
    normalise_index,
    server_info,
    settled,
    unavailable,
    wait_until_settled,
)


def test_index_of_the_server_with_a_broken_model_gives_its_load_error():
    index = normalise_index(_json("index-broken.json"))
    assert unavailable(index, ["broken", "resnet50", "types"]) == [BROKEN_ENTRY]
    assert unavailable(index, ["resnet50"]) == []


def test_a_model_the_index_does_not_name_is_unavailable_with_a_reason():
    index = normalise_index(_json("index-main.json"))
    assert unavailable(index, ["resnet50", "nosuch"]) == [
        {"name": "nosuch", "version": None, "state": None,
         "reason": "not in the server's repository index"}]


def test_index_entries_without_state_are_models_the_server_never_loaded():
    # --model-control-mode=explicit --load-model=resnet50: the others have only a name.
    index = normalise_index(_json("index-explicit.json"))
    assert index == [
        {"name": "broken", "version": None, "state": None, "reason": None},
        {"name": "resnet50", "version": "1", "state": "READY", "reason": None},
        {"name": "types", "version": None, "state": None, "reason": None}]
    assert unavailable(index, ["broken", "resnet50", "types"]) == [index[0], index[2]]
    assert settled(index, ["broken", "resnet50", "types"])  # nothing is on its way


@pytest.mark.parametrize("fixture, names, is_settled, failed", [
    ("index-main.json", ["resnet50"], True, False),
    ("index-broken.json", ["broken", "resnet50", "types"], True, True),
    ("index-broken.json", ["resnet50", "nosuch"], False, True),
    # Right after POST .../types/unload the unload is still under way.
    ("index-unloading.json", ["types"], False, True),
    ("index-unloading.json", ["resnet50"], True, True),
    # 5 s later: UNAVAILABLE with reason "unloaded", which is no load failure.
    ("index-unloaded.json", ["types"], True, True),
])
def test_settled_and_failed_loads_in_captured_indexes(fixture, names, is_settled, failed):
    index = normalise_index(_json(fixture))
    assert settled(index, names) is is_settled
    assert failed_to_load(index) is failed
    assert failed_to_load([e for e in index if e["name"] != "broken"]) is False


def test_an_unloaded_model_is_unavailable_with_the_reason_unloaded():
    index = normalise_index(_json("index-unloaded.json"))
    assert unavailable(index, ["types"]) == [
        {"name": "types", "version": "1", "state": "UNAVAILABLE", "reason": "unloaded"}]


class Script:
    """A transport that answers from a list of phases, one phase per poll: a phase is
    ``"refused"``, ``"reset"`` or ``{path: (status, body)}``."""

    def __init__(self, clock, phases, request_time=0.05):
        self.clock = clock
        self.phases = list(phases)
        self.requests = []
        self.request_time = request_time

    def __call__(self, method, url, body=None, headers=None, timeout=10):
        self.requests.append((method, url, timeout))
        self.clock.now += self.request_time
        phase = self.phases[0]
        if phase == "refused":
            raise Unreachable("connection refused")
        if phase == "reset":
            raise Unreachable("connection reset")
        path = url.split("127.0.0.1:8000", 1)[-1]
        status, data = phase.get(path, (404, b'{"error":"not found"}'))
        return Response(status, data)

    def next_phase(self, seconds):
        if len(self.phases) > 1:
            self.phases.pop(0)


def _phases():
    """A restart as the server shows it: refused, reset, a model still on its way
    (types, UNLOADING, as captured right after an unload), not ready, then ready."""
    on_its_way = json.dumps([e for e in _json("index-unloading.json")
                             if e["name"] != "broken"]).encode()
    index_ready = (TRITON / "index-main.json").read_bytes()
    return [
        "refused",
        "reset",
        {"/v2/health/live": (200, b""), "/v2/health/ready": (400, b""),
         "/v2/repository/index": (200, on_its_way)},
        {"/v2/health/live": (200, b""), "/v2/health/ready": (400, b""),
         "/v2/repository/index": (200, index_ready)},
        {"/v2/health/live": (200, b""), "/v2/health/ready": (200, b""),
         "/v2/repository/index": (200, index_ready)},
    ]


def _waiting_client(phases, timeout=10):
    clock = FakeClock()
    script = Script(clock, phases)

    def sleep(seconds):
        clock.sleep(seconds)
        script.next_phase(seconds)

    client = TritonClient("http://127.0.0.1:8000", "", timeout=timeout, transport=script)
    return client, clock, sleep, script


def test_wait_polls_through_refused_reset_unloading_and_not_ready_until_ready():
    client, clock, sleep, script = _waiting_client(_phases())
    assert wait_until_settled(client, [], 60, clock, sleep)
    assert len(clock.sleeps) == 4 and all(s == 1.0 for s in clock.sleeps)
    assert script.requests[-3:] == [
        ("GET", "http://127.0.0.1:8000/v2/health/live", 10),
        ("POST", "http://127.0.0.1:8000/v2/repository/index", 10),
        ("GET", "http://127.0.0.1:8000/v2/health/ready", 10)]


def test_wait_then_read_reports_no_error_from_the_wait():
    client, clock, sleep, _script = _waiting_client(_phases())
    result = server_info(client, [], wait=60, clock=clock, sleep=sleep)
    # Only the read after the wait counts: the script has no metadata and no config.
    assert result["live"] and result["ready"] and result["errors"] == [
        "GET http://127.0.0.1:8000/v2: HTTP 404: not found",
        "GET http://127.0.0.1:8000/v2/models/resnet50/config: HTTP 404: not found"]
    assert result["models"] == normalise_index(_json("index-main.json"))
    assert result["unavailable"] == []
    assert 4.0 < result["waited"] < 5.0


def test_wait_times_out_without_failing_and_says_what_it_saw():
    client, clock, sleep, script = _waiting_client(_phases()[:3], timeout=10)
    result = server_info(client, ["types"], wait=5, clock=clock, sleep=sleep)
    assert (result["live"], result["ready"]) == (True, False)
    assert result["unavailable"] == [{"name": "types", "version": "1",
                                      "state": "UNLOADING", "reason": None}]
    assert 5.0 <= result["waited"] < 5.5
    # Requests near the end of the wait are cut to the time left.
    assert min(request[2] for request in script.requests) < 1


def test_wait_ends_when_a_failed_load_keeps_the_server_not_ready():
    broken = (TRITON / "index-broken.json").read_bytes()
    phases = ["refused", {"/v2/health/live": (200, b""), "/v2/health/ready": (400, b""),
                          "/v2/repository/index": (200, broken)}]
    client, clock, sleep, _script = _waiting_client(phases)
    assert wait_until_settled(client, [], 300, clock, sleep)
    assert clock.now - 100.0 < 3


def test_wait_for_a_model_the_repository_lacks_runs_to_the_timeout():
    phases = [{"/v2/health/live": (200, b""), "/v2/health/ready": (200, b""),
               "/v2/repository/index": (200, (TRITON / "index-main.json").read_bytes())}]
    client, clock, sleep, _script = _waiting_client(phases)
    assert not wait_until_settled(client, ["nosuch"], 3, clock, sleep)
    assert 3.0 <= clock.now - 100.0 < 3.5


def test_a_server_that_is_down():
    client, clock, sleep, _script = _waiting_client(["refused"])
    client.metrics_url = "http://127.0.0.1:8002/metrics"
    result = server_info(client, ["resnet50"], smoke=True, clock=clock, sleep=sleep)
    assert result == {
        "live": False, "ready": False, "server": None, "models": [],
        "unavailable": [{"name": "resnet50", "version": None, "state": None,
                         "reason": "the server did not answer (GET http://127.0.0.1:8000"
                                   "/v2/health/live: connection refused)"}],
        "configs": {}, "metrics": {},
        "smoke": {"resnet50": {"ok": False, "outputs": {},
                               "msg": "not run: the server did not answer"}},
        "waited": 0.0,
        "errors": [
            "GET http://127.0.0.1:8000/v2/health/live: connection refused (is the server "
            "running, and on this address?)",
            "GET http://127.0.0.1:8002/metrics: connection refused"]}


def test_server_info_end_to_end_against_the_replayed_server(replay):
    profile, url = replay
    expected = EXPECTED[profile]
    client = TritonClient(url, url + "/metrics", {"infer-key": "secret"}, timeout=5)
    result = server_info(client, expected["models"], smoke=True)
    assert result["live"] is True
    assert result["ready"] is expected["ready"]
    assert result["server"] == _json(f"server-{profile}.json")
    assert result["models"] == normalise_index(_json(f"index-{profile}.json"))
    assert result["unavailable"] == expected["unavailable"]
    assert sorted(result["configs"]) == expected["configs"]
    assert result["smoke"] == expected["smoke"]
    assert result["metrics"] == expected["metrics"]
    assert result["errors"] == []
    assert result["waited"] == 0.0
    # The restricted-API header goes to the HTTP endpoint, not to the metrics port.
    headers = [(path, sent) for _method, path, sent, _body in Replay.seen]
    assert all(sent.get("infer-key") == "secret" for path, sent in headers
               if path != "/metrics")
    assert all("infer-key" not in sent for path, sent in headers if path == "/metrics")


def test_the_module_end_to_end_against_the_replayed_server(replay, tmp_path):
    profile, url = replay
    args = tmp_path / "args.json"
    models = ["resnet50", "broken"] if profile == "main" else ["types", "broken"]
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        "url": url, "metrics_url": url + "/metrics", "models": models,
        "smoke": True, "headers": {"infer-key": "secret"}, "_ansible_check_mode": True}}))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "build" / "collections"))
    run = subprocess.run(
        [sys.executable, "-m",
         "ansible_collections.inferops.triton.plugins.modules.triton_server_info",
         str(args)], capture_output=True, text=True, env=env, timeout=60, check=False)
    result = json.loads(run.stdout)
    assert result["changed"] is False and "failed" not in result, run.stdout + run.stderr
    assert sorted(result["smoke"]) == sorted(models)
    if profile == "main":
        assert result["smoke"]["resnet50"]["ok"] is True
        assert result["unavailable"] == [{"name": "broken", "version": None, "state": None,
                                          "reason": "not in the server's repository index"}]
    else:
        assert result["smoke"]["broken"]["ok"] is False
        assert result["smoke"]["types"]["ok"] is True
        assert result["unavailable"] == [BROKEN_ENTRY]
        assert result["ready"] is False
    assert "secret" not in run.stdout


@pytest.mark.parametrize("args, message", [
    ({"url": "127.0.0.1:8000"}, "url must be an http:// or https:// URL"),
    ({"wait": -1}, "wait must be 0 or more"),
    ({"timeout": 0}, "timeout 1 or more"),
    ({"smoke": "maybe"}, "smoke"),
])
def test_the_module_fails_only_on_bad_arguments(tmp_path, args, message):
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "build" / "collections"))
    run = subprocess.run(
        [sys.executable, "-m",
         "ansible_collections.inferops.triton.plugins.modules.triton_server_info",
         str(path)], capture_output=True, text=True, env=env, timeout=60, check=False)
    result = json.loads(run.stdout)
    assert result["failed"] is True and message in result["msg"]


def test_the_documented_samples_are_the_captured_answers():
    import yaml

    from ansible_collections.inferops.triton.plugins.modules import triton_server_info

    samples = {key: value["sample"]
               for key, value in yaml.safe_load(triton_server_info.RETURN).items()}
    assert samples["server"] == _json("server-main.json")
    assert samples["models"] == normalise_index(_json("index-broken.json"))
    assert samples["unavailable"] == [BROKEN_ENTRY]
    assert samples["metrics"] == {"resnet50": RESNET50_METRICS}
    assert samples["smoke"] == {
        "resnet50": EXPECTED["main"]["smoke"]["resnet50"],
        "broken": EXPECTED["broken"]["smoke"]["broken"]}
    config = _json("config-resnet50.json")
    for key, value in samples["configs"]["resnet50"].items():  # abridged, not changed
        if isinstance(value, list):
            assert [{k: c[k] for k in s} for s, c in zip(value, config[key])] == value, key
        elif isinstance(value, dict):
            assert {k: config[key][k] for k in value} == value, key
        else:
            assert config[key] == value, key


def test_a_restricted_api_ends_the_wait_and_is_reported():
    clock = FakeClock()
    client = TritonClient("http://127.0.0.1:18000", "", transport=_restricted_transport())
    result = server_info(client, [], wait=300, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [] and result["waited"] == 0.0
    assert result["live"] is False and result["server"] == _json("server-restricted.json")
    expecting = "HTTP 403: This API is restricted, expecting header 'infer-key'"
    assert result["errors"] == [
        f"GET http://127.0.0.1:18000/v2/health/live: {expecting}",
        f"GET http://127.0.0.1:18000/v2/health/ready: {expecting}",
        f"POST http://127.0.0.1:18000/v2/repository/index: {expecting}"]
    assert result["ready"] is False and result["models"] == []
