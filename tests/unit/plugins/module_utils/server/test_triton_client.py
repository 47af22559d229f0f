"""triton_server_info's logic on what a real Triton server answered (tests/fixtures/triton,
SOURCE.md says how each file was captured), through a stub transport and through a local
HTTP server that replays the captured responses.

The numbers asserted are the ones in the captures: tritonserver 2.51.0 (nvidia-pytriton
0.7.0, the CPU flavour) serving resnet50 on the onnxruntime_cpu backend, and a second
server with a model ("broken") whose config names an output its ONNX file lacks.
"""

import http.server
import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.server._client import (
    RequestFailed,
    Response,
    TritonClient,
    Unreachable,
    decode_response,
    encode_request,
    urllib_transport,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._info import (
    failed_to_load,
    normalise_index,
    server_info,
    settled,
    unavailable,
    wait_until_settled,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._metrics import (
    MetricsError,
    model_metrics,
    parse_prometheus,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._smoke import (
    check_outputs,
    datatype,
    infer_request,
)

ROOT = Path(__file__).resolve().parents[5]
TRITON = ROOT / "tests" / "fixtures" / "triton"


def _json(name):
    return json.loads((TRITON / name).read_text())


def _manifest(profile):
    return json.loads((TRITON / f"responses-{profile}.json").read_text())


def _capture_module():
    """tests/fixtures/triton/capture.py: it holds the requests the real server answered."""
    sys.path.insert(0, str(TRITON))
    try:
        import capture
    finally:
        sys.path.remove(str(TRITON))
    return capture


# From metrics-main.txt: the role's own smoke request, then the capture's three.
RESNET50_METRICS = {
    "request_success": 4, "request_failure": 0, "inference_count": 4, "execution_count": 4,
    "queue_us": 8837, "compute_input_us": 3050, "compute_infer_us": 960879,
    "compute_output_us": 1586, "request_us": 974386}
# From metrics-broken.txt: the one inference of "types".
TYPES_METRICS = {
    "request_success": 1, "request_failure": 0, "inference_count": 1, "execution_count": 1,
    "queue_us": 83, "compute_input_us": 238, "compute_infer_us": 71725,
    "compute_output_us": 331, "request_us": 72383}
ZERO_METRICS = dict.fromkeys(RESNET50_METRICS, 0)
BROKEN_REASON = (
    "Internal: ValueError: onnxruntime_cpu: /models/broken/1/model.onnx: config declares "
    "output 'probabilities' but the ONNX model has outputs ['resnetv24_dense0_fwd']\n\n"
    "At:\n  /opt/tritonserver/backends/onnxruntime_cpu/model.py(201): initialize\n")
BROKEN_ENTRY = {"name": "broken", "version": "1", "state": "UNAVAILABLE",
                "reason": BROKEN_REASON}
TYPES_OUTPUTS = {"text_out": [2], "flag_out": [1], "half_out": [2, 2], "count_out": [3]}
OK = "every declared output has its declared shape"


# --- metrics ----------------------------------------------------------------------------

def test_metrics_of_the_main_server_summed_per_model():
    metrics = model_metrics(parse_prometheus((TRITON / "metrics-main.txt").read_text()))
    assert metrics == {"resnet50": RESNET50_METRICS}


def test_metrics_of_the_server_with_a_broken_model():
    # The server lists the model that failed to load too (its failure counters, all 0).
    metrics = model_metrics(parse_prometheus((TRITON / "metrics-broken.txt").read_text()))
    assert metrics == {"resnet50": ZERO_METRICS, "types": TYPES_METRICS,
                       "broken": ZERO_METRICS}


def test_metrics_for_the_models_asked_for_only():
    samples = parse_prometheus((TRITON / "metrics-broken.txt").read_text())
    assert list(model_metrics(samples, ["types"])) == ["types"]
    assert model_metrics(samples, ["nosuch"]) == {}


def test_prometheus_text_with_escapes_help_type_timestamps_and_unknown_metrics():
    text = "\n".join([
        "# HELP nv_inference_count Number of inferences performed (does not include",
        "# TYPE nv_inference_count counter",
        '# a comment line',
        '',
        'nv_inference_count{model="a,b}c",version="1"} 4',
        'nv_inference_count{model="a,b}c",version="2"} 6 1712345678000',
        'nv_inference_count{ model = "q\\"uote\\\\d\\nline" , version="1", } 1',
        'nv_inference_request_failure{model="m",reason="BACKEND",version="1"} 2',
        'nv_inference_request_failure{model="m",reason="REJECTED",version="1"} 3',
        'nv_gpu_utilization{gpu_uuid="GPU-0"} NaN',
        'nv_inference_queue_duration_us{model="m",version="1"} +Inf',
        'nv_cpu_memory_total_bytes 6.7e+10',
        'nv_inference_exec_count{model="m",version="1"} 1.5',
    ])
    samples = parse_prometheus(text)
    assert ("nv_inference_count", {"model": 'q"uote\\d\nline', "version": "1"}, 1.0) in samples
    metrics = model_metrics(samples)
    assert metrics["a,b}c"]["inference_count"] == 10
    assert metrics["a,b}c"]["request_success"] == 0  # missing: 0
    assert metrics["m"]["request_failure"] == 5  # summed over reasons
    assert metrics["m"]["queue_us"] == float("inf")
    assert metrics["m"]["execution_count"] == 1.5
    assert sorted(metrics) == ["a,b}c", "m", 'q"uote\\d\nline']
    assert sorted(metrics["m"]) == sorted([
        "request_success", "request_failure", "inference_count", "execution_count",
        "queue_us", "compute_input_us", "compute_infer_us", "compute_output_us",
        "request_us"])


@pytest.mark.parametrize("line", [
    'nv_inference_count{model="a" 1',
    'nv_inference_count{model=a} 1',
    'nv_inference_count{model="a"}',
    'nv_inference_count{model="a"} one',
    '{model="a"} 1',
])
def test_a_malformed_metrics_line_is_named(line):
    with pytest.raises(MetricsError, match="metrics line 2"):
        parse_prometheus("# TYPE nv_inference_count counter\n" + line)


# --- the repository index ---------------------------------------------------------------

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


# --- smoke requests ---------------------------------------------------------------------

@pytest.mark.parametrize("config_type, wire", [
    ("TYPE_FP32", "FP32"), ("TYPE_STRING", "BYTES"), ("TYPE_BOOL", "BOOL"),
    ("TYPE_INT64", "INT64"), ("TYPE_FP16", "FP16"), ("TYPE_BF16", "BF16"),
    ("TYPE_UINT8", "UINT8"),
])
def test_config_data_types_on_the_wire(config_type, wire):
    assert datatype(config_type) == wire


def test_zero_request_of_the_captured_resnet50_config():
    config = _json("config-resnet50.json")
    request = infer_request(config)
    (tensor,) = request["inputs"]
    assert (tensor["name"], tensor["shape"], tensor["datatype"]) == (
        "data", [1, 3, 224, 224], "FP32")
    assert len(tensor["data"]) == 3 * 224 * 224 and set(tensor["data"]) == {0.0}
    assert request["outputs"] == [{"name": "resnetv24_dense0_fwd",
                                   "parameters": {"binary_data": False}}]
    body, headers = encode_request(request)
    assert headers == {"Content-Type": "application/json"}
    assert json.loads(body)["inputs"][0]["shape"] == [1, 3, 224, 224]


def _tensor(name, data_type, dims):
    return {"name": name, "data_type": data_type, "dims": dims}


@pytest.mark.parametrize("max_batch_size, dims, shape", [
    (8, [3, 224, 224], [1, 3, 224, 224]),
    (0, [3, 224, 224], [3, 224, 224]),
    (4, [-1, 16], [1, 1, 16]),
    (0, [-1, -1], [1, 1]),
    (0, [], []),
])
def test_zero_input_shape_with_and_without_batching(max_batch_size, dims, shape):
    config = {"max_batch_size": max_batch_size, "input": [_tensor("x", "TYPE_FP32", dims)]}
    (tensor,) = infer_request(config)["inputs"]
    assert tensor["shape"] == shape
    assert len(tensor["data"]) == math.prod(shape)


@pytest.mark.parametrize("data_type, wire, data", [
    ("TYPE_FP32", "FP32", [0.0, 0.0]),
    ("TYPE_FP64", "FP64", [0.0, 0.0]),
    ("TYPE_INT64", "INT64", [0, 0]),
    ("TYPE_UINT8", "UINT8", [0, 0]),
    ("TYPE_BOOL", "BOOL", [False, False]),
    ("TYPE_STRING", "BYTES", ["", ""]),
])
def test_zero_data_of_each_json_datatype(data_type, wire, data):
    (tensor,) = infer_request({"input": [_tensor("x", data_type, [2])]})["inputs"]
    assert (tensor["datatype"], tensor["data"]) == (wire, data)


def test_fp16_travels_as_binary_tensor_data():
    config = {"input": [_tensor("h", "TYPE_FP16", [2, 2]), _tensor("n", "TYPE_INT64", [3])],
              "output": [_tensor("h_out", "TYPE_FP16", [2, 2])]}
    body, headers = encode_request(infer_request(config))
    length = int(headers["Inference-Header-Content-Length"])
    header = json.loads(body[:length])
    assert header["inputs"][0] == {"name": "h", "shape": [2, 2], "datatype": "FP16",
                                   "parameters": {"binary_data_size": 8}}
    assert header["inputs"][1]["data"] == [0, 0, 0]
    assert header["outputs"] == [{"name": "h_out", "parameters": {"binary_data": True}}]
    assert body[length:] == bytes(8)


def test_the_requests_are_the_ones_the_real_server_answered():
    # capture.py wrote them by hand; the module's must be the same bytes.
    capture = _capture_module()
    assert encode_request(infer_request(_json("config-types.json"))) == \
        capture._types_request()
    assert encode_request(infer_request(_json("config-resnet50.json")))[0] == json.dumps(
        capture.ZERO_RESNET50, separators=(",", ":")).encode()


def test_an_unknown_datatype_is_not_sent():
    with pytest.raises(ValueError, match="input 'x': data_type 'TYPE_COMPLEX'"):
        infer_request({"input": [_tensor("x", "TYPE_COMPLEX", [1])]})


# --- output checks ----------------------------------------------------------------------

def test_the_captured_resnet50_response_matches_its_config():
    config = _json("config-resnet50.json")
    response = _json("infer-resnet50.json")
    assert check_outputs(config, response) == (True, {"resnetv24_dense0_fwd": [1, 1000]}, OK)


def test_the_captured_binary_types_response_matches_its_config():
    step = next(s for s in _manifest("broken") if s["file"] == "infer-types.bin")
    response = decode_response(Response(200, (TRITON / "infer-types.bin").read_bytes(),
                                        step["headers"]))
    assert response["outputs"][2]["parameters"] == {"binary_data_size": 8}
    assert check_outputs(_json("config-types.json"), response) == (True, TYPES_OUTPUTS, OK)


@pytest.mark.parametrize("dims, shape, message", [
    ([1000], [1, 999], "output 'y' has shape [1, 999], the config declares [1, 1000] "
                       "([1] + dims; -1 matches any size)"),
    ([1000], [1000], "output 'y' has shape [1000], the config declares [1, 1000] "
                     "([1] + dims; -1 matches any size)"),
    ([-1], [1, 7], None),
    ([-1, 4], [1, 7, 5], "output 'y' has shape [1, 7, 5], the config declares [1, -1, 4] "
                         "([1] + dims; -1 matches any size)"),
])
def test_output_shape_match_and_mismatch(dims, shape, message):
    config = {"max_batch_size": 8, "output": [_tensor("y", "TYPE_FP32", dims)]}
    response = {"outputs": [{"name": "y", "datatype": "FP32", "shape": shape}]}
    ok, outputs, msg = check_outputs(config, response)
    assert outputs == {"y": shape}
    assert (ok, msg) == ((True, OK) if message is None else (False, message))


def test_missing_output_wrong_datatype_and_short_data_are_each_named():
    config = {"max_batch_size": 0, "output": [
        _tensor("a", "TYPE_FP32", [2]), _tensor("b", "TYPE_INT64", [2]),
        _tensor("c", "TYPE_FP32", [3])]}
    response = {"outputs": [
        {"name": "b", "datatype": "INT32", "shape": [2], "data": [0, 0]},
        {"name": "c", "datatype": "FP32", "shape": [3], "data": [0.0]}]}
    ok, outputs, msg = check_outputs(config, response)
    assert not ok and outputs == {"b": [2], "c": [3]}
    assert msg == ("output 'a' is missing from the response (it has b, c); "
                   "output 'b' has datatype INT32, the config declares INT64; "
                   "output 'c' has shape [3] but 1 values")


# --- the wait loop ----------------------------------------------------------------------

class FakeClock:
    """A clock that moves only when the code sleeps or a request takes time."""

    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


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


# --- end to end: a local HTTP server replaying the captured responses --------------------

class Replay(http.server.BaseHTTPRequestHandler):
    """Answers each captured (method, path) with the captured status, headers and body;
    an inference only when its body is the module's zero request for that model."""

    routes = {}
    seen = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path,
                          {k.lower(): v for k, v in self.headers.items()}, body))
        route = self.routes.get((self.command, self.path))
        if route is None:
            status, headers, data = 400, {"Content-Type": "application/json"}, json.dumps(
                {"error": f"Request for unknown model: '{self.path}' is not found"}).encode()
        else:
            status, headers, data, expected = route
            if expected is not None and body != expected:
                status, headers, data = 400, {}, b'{"error":"not the zero request"}'
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, fmt, *args):
        pass


def _routes(profile):
    capture = _capture_module()
    sent = {"resnet50": json.dumps(capture.ZERO_RESNET50, separators=(",", ":")).encode(),
            "types": capture._types_request()[0]}
    routes = {}
    for step in _manifest(profile):
        path = "/" + step["path"]
        data = (TRITON / step["file"]).read_bytes() if step["file"] else b""
        expected = sent[path.split("/")[3]] if path.endswith("/infer") else None
        routes.setdefault((step["method"], path), (step["status"], step["headers"], data,
                                                   expected))
    return routes


@pytest.fixture(params=["main", "broken"])
def replay(request):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    port = server.server_address[1]
    Replay.routes = _routes(request.param)
    Replay.seen = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield request.param, f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


EXPECTED = {
    "main": {
        "models": [], "ready": True, "unavailable": [], "configs": ["resnet50"],
        "smoke": {"resnet50": {"ok": True, "outputs": {"resnetv24_dense0_fwd": [1, 1000]},
                               "msg": OK}},
        "metrics": {"resnet50": RESNET50_METRICS}},
    # resnet50 is READY there too, but only the main capture holds its config.
    "broken": {
        "models": ["types", "broken"], "ready": False, "unavailable": [BROKEN_ENTRY],
        "configs": ["types"],
        "smoke": {"types": {"ok": True, "outputs": TYPES_OUTPUTS, "msg": OK},
                  "broken": {"ok": False, "outputs": {},
                             "msg": "not run: version 1 is UNAVAILABLE: " + BROKEN_REASON}},
        "metrics": {"types": TYPES_METRICS, "broken": ZERO_METRICS}},
}


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


def test_the_default_transport_reports_a_refused_connection():
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Unreachable, match="connection refused"):
        urllib_transport("GET", f"http://127.0.0.1:{port}/v2/health/live", timeout=2)


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


def _restricted_transport():
    """Replays responses-restricted.json: the answer captured with the header when the
    request carries it, the one captured without it otherwise."""
    answers = {}
    for step in _manifest("restricted"):
        data = (TRITON / step["file"]).read_bytes() if step["file"] else b""
        answers[(step["method"], "/" + step["path"], step["status"] == 200)] = Response(
            step["status"], data, step["headers"])

    def transport(method, url, body=None, headers=None, timeout=10):
        path = "/" + url.split("/", 3)[3]
        keyed = (headers or {}).get("infer-key") == "secret"
        return answers.get((method, path, keyed)) or answers[(method, path, True)]

    return transport


def test_a_restricted_api_without_its_header_is_an_error_not_a_no():
    # --http-restricted-api=health,model-repository:infer-key=secret
    client = TritonClient("http://127.0.0.1:18000", transport=_restricted_transport())
    expecting = "HTTP 403: This API is restricted, expecting header 'infer-key'"
    with pytest.raises(RequestFailed, match=f"GET http://127.0.0.1:18000/v2/health/live: "
                                            f"{expecting}"):
        client.health("live")
    with pytest.raises(RequestFailed, match=f"POST http://127.0.0.1:18000/v2/repository/"
                                            f"index: {expecting}"):
        client.index()
    assert client.metadata() == _json("server-restricted.json")  # not restricted


def test_the_headers_option_opens_a_restricted_api():
    client = TritonClient("http://127.0.0.1:18000", headers={"infer-key": "secret"},
                          transport=_restricted_transport())
    assert client.health("live") is True and client.health("ready") is True
    assert client.index() == _json("index-restricted-key.json")


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
