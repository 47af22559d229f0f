"""What the server tests share: the captures of a real Triton server (tests/fixtures/triton,
SOURCE.md says how each file was captured), the numbers in them, and a local HTTP server that
replays them (the ``replay`` fixture, in conftest.py).

The numbers are the ones in the captures: tritonserver 2.51.0 (nvidia-pytriton 0.7.0, the
CPU flavour) serving resnet50 on the onnxruntime_cpu backend, and a second server with a
model ("broken") whose config names an output its ONNX file lacks.
"""

import http.server
import json
import sys
from pathlib import Path

from ansible_collections.inferops.triton.plugins.module_utils.server._client import (
    Response,
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
