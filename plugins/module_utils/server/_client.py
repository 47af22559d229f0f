# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a running Triton server says about itself, over HTTP: health, metadata, the
repository index, served model configs, per-model metrics and a one-request smoke test.

Plain Python, standard library only. The HTTP calls go through a ``transport(method,
url, body, headers, timeout)`` callable returning a :class:`Response` (``urllib_transport``
on a host; tests pass a stub or point the default at a local server). Endpoints, from the
KServe v2 protocol and Triton's extensions:

- ``GET /v2/health/live``, ``GET /v2/health/ready``: status 200 or 400, no body;
- ``GET /v2``: ``{name, version, extensions}``;
- ``POST /v2/repository/index`` (model repository extension): one entry per model version
  ``{name, version, state, reason}``; a model the server never loaded (explicit model
  control) has only ``name``; ``reason`` holds the load error of an UNAVAILABLE model;
- ``GET /v2/models/<m>/config``: the served config in protobuf JSON form;
- ``POST /v2/models/<m>/infer``: JSON tensors (``data`` flat, row-major); FP16 and BF16
  travel only as binary tensor data (the binary data extension: the JSON header first,
  its length in ``Inference-Header-Content-Length``, then the raw bytes);
- metrics port ``GET /metrics``: Prometheus text, ``nv_inference_*`` per model and
  version.

Errors come back as ``{"error": "..."}`` with a 4xx/5xx status.
"""

from __future__ import annotations

import http.client
import json
import math
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

READY = "READY"
UNAVAILABLE = "UNAVAILABLE"
TERMINAL_STATES = (READY, UNAVAILABLE)
BINARY_HEADER = "Inference-Header-Content-Length"
POLL_INTERVAL = 1.0

# Triton's per-model counters -> the keys returned for each model (summed over versions
# and any other labels, such as the failure ``reason`` newer servers add).
METRICS = {
    "nv_inference_request_success": "request_success",
    "nv_inference_request_failure": "request_failure",
    "nv_inference_count": "inference_count",
    "nv_inference_exec_count": "execution_count",
    "nv_inference_queue_duration_us": "queue_us",
    "nv_inference_compute_input_duration_us": "compute_input_us",
    "nv_inference_compute_infer_duration_us": "compute_infer_us",
    "nv_inference_compute_output_duration_us": "compute_output_us",
    "nv_inference_request_duration_us": "request_us",
}

# Zero element of each config data type in the JSON tensor format, and the types that
# must travel as binary tensor data (Triton refuses FP16/BF16 in JSON), with their size.
_JSON_ZERO = {
    "BOOL": False, "BYTES": "",
    "UINT8": 0, "UINT16": 0, "UINT32": 0, "UINT64": 0,
    "INT8": 0, "INT16": 0, "INT32": 0, "INT64": 0,
    "FP32": 0.0, "FP64": 0.0,
}
_BINARY_ONLY = {"FP16": 2, "BF16": 2}


class Response:
    """One HTTP answer: status, headers (lower-case names) and body bytes."""

    def __init__(self, status, body=b"", headers=None):
        self.status = status
        self.body = body
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}


class Unreachable(Exception):
    """The server did not answer (refused, reset, timed out, DNS)."""


class RequestFailed(Exception):
    """The server answered a request with an error status (``status``) or an unreadable
    body (``status`` None)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def urllib_transport(method, url, body=None, headers=None, timeout=10):
    """Send one request with urllib, directly (proxy variables are not used: the server
    is usually on the host itself); an HTTP error status is a Response, not an error."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=body, headers=dict(headers or {}),
                                     method=method)
    try:
        with opener.open(request, timeout=timeout) as answer:
            return Response(answer.status, answer.read(), dict(answer.headers.items()))
    except urllib.error.HTTPError as exc:
        try:
            data = exc.read()
        except (OSError, http.client.HTTPException):
            data = b""
        return Response(exc.code, data, dict(exc.headers.items()) if exc.headers else {})
    except urllib.error.URLError as exc:
        raise Unreachable(_reason(exc.reason)) from None
    except (OSError, http.client.HTTPException) as exc:  # reset, timeout, bad status line
        raise Unreachable(_reason(exc)) from None


def _reason(exc):
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed without a response"
    return str(exc) or type(exc).__name__


def _error_text(response):
    """Triton's ``{"error": ...}`` message, else the start of the body."""
    try:
        payload = json.loads(response.body.decode("utf-8"))
        if isinstance(payload, dict) and "error" in payload:
            return str(payload["error"])
    except (ValueError, UnicodeDecodeError):
        pass
    text = response.body.decode("utf-8", "replace").strip()
    return text[:300] if text else "(no body)"


class TritonClient:
    """The server's HTTP endpoint (``url``) and its metrics endpoint (``metrics_url``,
    empty for none). ``headers`` go with every request to ``url`` (the key=value that
    ``--http-restricted-api`` asks for), not to the metrics port."""

    def __init__(self, url="http://127.0.0.1:8000", metrics_url="", headers=None,
                 timeout=10, transport=None):
        self.url = url.rstrip("/")
        self.metrics_url = metrics_url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.transport = transport or urllib_transport

    def request(self, method, path, body=None, headers=None, timeout=None, url=None):
        """Return the Response; raise Unreachable when there is none."""
        target = url or self.url + path
        sent = {} if url else dict(self.headers)
        sent.update(headers or {})
        try:
            return self.transport(method, target, body, sent, timeout or self.timeout)
        except Unreachable as exc:
            raise Unreachable(f"{method} {target}: {exc}") from None

    def _json(self, method, path, body=None, timeout=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {} if body is None else {"Content-Type": "application/json"}
        response = self.request(method, path, data, headers, timeout)
        if response.status != 200:
            raise RequestFailed(f"{method} {self.url}{path}: HTTP {response.status}: "
                                f"{_error_text(response)}", response.status)
        try:
            return json.loads(response.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestFailed(f"{method} {self.url}{path}: not JSON: {exc}") from None

    def health(self, which, timeout=None):
        """``live`` or ``ready``: True on 200, False on 400 (Triton's "no"); any other
        status (403 from a restricted API without its header) is RequestFailed."""
        path = f"/v2/health/{which}"
        response = self.request("GET", path, timeout=timeout)
        if response.status not in (200, 400):
            raise RequestFailed(f"GET {self.url}{path}: HTTP {response.status}: "
                                f"{_error_text(response)}", response.status)
        return response.status == 200

    def metadata(self):
        return self._json("GET", "/v2")

    def index(self, timeout=None):
        return self._json("POST", "/v2/repository/index", {}, timeout)

    def config(self, model):
        return self._json("GET", f"/v2/models/{_quote(model)}/config")

    def infer(self, model, request):
        """Send an ``infer_request``; return ``(status, response JSON or None, error text
        or None)``."""
        path = f"/v2/models/{_quote(model)}/infer"
        body, headers = encode_request(request)
        response = self.request("POST", path, body, headers)
        if response.status != 200:
            return response.status, None, _error_text(response)
        try:
            return response.status, decode_response(response), None
        except (ValueError, UnicodeDecodeError) as exc:
            return response.status, None, f"unreadable response: {exc}"

    def metrics(self):
        response = self.request("GET", "", url=self.metrics_url)
        if response.status != 200:
            raise RequestFailed(f"GET {self.metrics_url}: HTTP {response.status}: "
                                f"{_error_text(response)}", response.status)
        return response.body.decode("utf-8", "replace")


def _quote(name):
    return urllib.parse.quote(name, safe="")


# --- the repository index ---------------------------------------------------------------

def normalise_index(entries):
    """Each index entry as ``{name, version, state, reason}``; absent fields are None
    (a model the server never loaded has only its name)."""
    return [{"name": entry.get("name"), "version": entry.get("version"),
             "state": entry.get("state") or None, "reason": entry.get("reason") or None}
            for entry in entries or []]


def models_of_interest(index, models):
    """The models asked for, or every model the index names, in index order."""
    if models:
        return list(dict.fromkeys(models))
    return list(dict.fromkeys(entry["name"] for entry in index))


def ready_models(index):
    return {entry["name"] for entry in index if entry["state"] == READY}


def unavailable(index, names, why_missing="not in the server's repository index"):
    """The models of ``names`` with no READY version: each of their index entries, or one
    entry with ``state`` None when the index does not name the model."""
    ready = ready_models(index)
    result = []
    for name in names:
        if name in ready:
            continue
        entries = [entry for entry in index if entry["name"] == name]
        if entries:
            result.extend(dict(entry) for entry in entries)
        else:
            result.append({"name": name, "version": None, "state": None,
                           "reason": why_missing})
    return result


def settled(index, names):
    """True when every model of ``names`` is in the index and none of its entries is on
    the way somewhere (LOADING, UNLOADING): READY, UNAVAILABLE, or never loaded."""
    for name in names:
        entries = [entry for entry in index if entry["name"] == name]
        if not entries:
            return False
        if any(entry["state"] not in TERMINAL_STATES + (None,) for entry in entries):
            return False
    return True


def failed_to_load(index):
    """Whether a model failed to load: with ``--strict-readiness`` (the default) the
    server then stays not ready, which waiting does not change."""
    return any(entry["state"] == UNAVAILABLE and entry["reason"] not in (None, "unloaded")
               for entry in index)


# --- metrics ----------------------------------------------------------------------------

class MetricsError(ValueError):
    """A line of the Prometheus text that is not a comment, blank or a sample."""


_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def parse_prometheus(text):
    """Samples of Prometheus' text format as ``(name, {label: value}, float)``.

    ``# HELP``/``# TYPE`` and other comment lines and blank lines are skipped; label values
    may hold ``\\\\``, ``\\"`` and ``\\n`` escapes (and commas, braces, spaces); the value
    may be ``NaN`` or ``+Inf``; a timestamp after it is ignored.
    """
    samples = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            samples.append(_parse_sample(line))
        except (ValueError, IndexError) as exc:
            raise MetricsError(f"metrics line {number}: {exc}: {line[:200]!r}") from None
    return samples


def _parse_sample(line):
    end = 0
    while end < len(line) and (line[end].isalnum() or line[end] in "_:"):
        end += 1
    name = line[:end]
    if not name or name[0].isdigit():
        raise ValueError("no metric name")
    labels = {}
    pos = end
    if pos < len(line) and line[pos] == "{":
        pos += 1
        while True:
            while line[pos] in " \t":
                pos += 1
            if line[pos] == "}":
                pos += 1
                break
            eq = line.index("=", pos)
            label = line[pos:eq].strip()
            pos = eq + 1
            while line[pos] in " \t":
                pos += 1
            if line[pos] != '"':
                raise ValueError(f"label {label}: value not quoted")
            pos += 1
            value = []
            while line[pos] != '"':
                if line[pos] == "\\":
                    pos += 1
                    value.append(_ESCAPES.get(line[pos], "\\" + line[pos]))
                else:
                    value.append(line[pos])
                pos += 1
            labels[label] = "".join(value)
            pos += 1
            while line[pos] in " \t":
                pos += 1
            if line[pos] == ",":
                pos += 1
            elif line[pos] != "}":
                raise ValueError(f"unexpected {line[pos]!r} after label {label}")
    rest = line[pos:].split()
    if not rest:
        raise ValueError("no value")
    return name, labels, float(rest[0])


def model_metrics(samples, models=None):
    """``{model: {request_success, ..., request_us}}`` from the samples: each known metric
    summed over the model's versions, 0 where absent; other metrics are ignored. With
    ``models``, only those models."""
    wanted = set(models) if models else None
    result = {}
    for name, labels, value in samples:
        key = METRICS.get(name)
        model = labels.get("model")
        if key is None or model is None or (wanted is not None and model not in wanted):
            continue
        if model not in result:
            result[model] = dict.fromkeys(METRICS.values(), 0)
        result[model][key] += value
    for counters in result.values():
        for key, value in counters.items():
            if isinstance(value, float) and value.is_integer():
                counters[key] = int(value)
    return result


# --- smoke inference --------------------------------------------------------------------

def datatype(config_type):
    """A config ``data_type`` as the protocol's datatype: TYPE_FP32 -> FP32,
    TYPE_STRING -> BYTES."""
    name = str(config_type or "")
    name = name[5:] if name.startswith("TYPE_") else name
    return "BYTES" if name == "STRING" else name


def _batching(config):
    return int(config.get("max_batch_size", 0) or 0) > 0


def request_shape(config, tensor):
    """The shape of a request tensor: ``[1] + dims`` when the model batches, else
    ``dims``; a variable (-1) dimension becomes 1."""
    dims = [int(d) for d in tensor.get("dims", [])]
    return ([1] if _batching(config) else []) + [1 if d < 0 else d for d in dims]


def expected_shape(config, tensor):
    """The shape an output should have for a batch of 1; -1 matches any size."""
    dims = [int(d) for d in tensor.get("dims", [])]
    return ([1] if _batching(config) else []) + dims


def infer_request(config):
    """The zero request for a model: every declared input filled with zeros (False,
    empty strings) of its declared shape; every declared output asked for, as JSON except
    FP16/BF16 (binary). Binary inputs carry ``binary_data`` bytes to append."""
    inputs = []
    for tensor in config.get("input", []):
        kind = datatype(tensor.get("data_type"))
        shape = request_shape(config, tensor)
        count = math.prod(shape)
        item = {"name": tensor["name"], "shape": shape, "datatype": kind}
        if kind in _BINARY_ONLY:
            item["binary_data"] = bytes(_BINARY_ONLY[kind] * count)
        elif kind in _JSON_ZERO:
            item["data"] = [_JSON_ZERO[kind]] * count
        else:
            raise ValueError(f"input '{tensor['name']}': data_type "
                             f"{tensor.get('data_type')!r} cannot be sent")
        inputs.append(item)
    outputs = [{"name": tensor["name"], "parameters": {
        "binary_data": datatype(tensor.get("data_type")) in _BINARY_ONLY}}
        for tensor in config.get("output", [])]
    return {"inputs": inputs, "outputs": outputs}


def encode_request(request):
    """``(body bytes, headers)``: plain JSON, or the JSON header followed by the binary
    tensors when an input carries ``binary_data``."""
    blobs, inputs = [], []
    for item in request["inputs"]:
        item = dict(item)
        blob = item.pop("binary_data", None)
        if blob is not None:
            item["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        inputs.append(item)
    header = json.dumps(dict(request, inputs=inputs), separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if blobs or any(o["parameters"]["binary_data"] for o in request["outputs"]):
        headers = {"Content-Type": "application/octet-stream",
                   BINARY_HEADER: str(len(header))}
    return header + b"".join(blobs), headers


def decode_response(response):
    """The JSON part of an inference response (all of it, or the first
    ``Inference-Header-Content-Length`` bytes when binary outputs follow)."""
    body = response.body
    length = response.headers.get(BINARY_HEADER.lower())
    if length is not None:
        body = body[:int(length)]
    return json.loads(body.decode("utf-8"))


def _shape_fits(shape, expected):
    return len(shape) == len(expected) and all(
        e < 0 or s == e for s, e in zip(shape, expected))


def check_outputs(config, response):
    """Compare an inference response with the config's outputs; return ``(ok, {name:
    shape}, msg)``, ``msg`` naming each output that is missing or differs."""
    got = {o.get("name"): o for o in response.get("outputs", [])}
    shapes = {name: list(o.get("shape", [])) for name, o in got.items()}
    problems = []
    for tensor in config.get("output", []):
        name = tensor["name"]
        want = expected_shape(config, tensor)
        if name not in got:
            problems.append(f"output '{name}' is missing from the response (it has "
                            f"{', '.join(sorted(map(str, got))) or 'no outputs'})")
            continue
        shape = shapes[name]
        if not _shape_fits(shape, want):
            how = "[1] + dims" if _batching(config) else "dims"
            problems.append(f"output '{name}' has shape {shape}, the config declares "
                            f"{want} ({how}; -1 matches any size)")
        kind = datatype(tensor.get("data_type"))
        if got[name].get("datatype") not in (None, kind):
            problems.append(f"output '{name}' has datatype {got[name]['datatype']}, the "
                            f"config declares {kind}")
        data = got[name].get("data")
        if isinstance(data, list) and _shape_fits(shape, want) and len(data) != math.prod(
                shape):
            problems.append(f"output '{name}' has shape {shape} but {len(data)} values")
    if problems:
        return False, shapes, "; ".join(problems)
    return True, shapes, "every declared output has its declared shape"


def smoke_one(client, model, config):
    """One zero inference; ``({ok, outputs, msg}, error or None)``."""
    try:
        request = infer_request(config)
    except ValueError as exc:
        return {"ok": False, "outputs": {}, "msg": f"not run: {exc}"}, None
    try:
        status, answer, error = client.infer(model, request)
    except Unreachable as exc:
        return {"ok": False, "outputs": {}, "msg": f"inference failed: {exc}"}, str(exc)
    if error is not None:
        text = f"POST {client.url}/v2/models/{_quote(model)}/infer: HTTP {status}: {error}"
        return {"ok": False, "outputs": {}, "msg": f"inference failed: HTTP {status}: "
                f"{error}"}, text
    ok, shapes, msg = check_outputs(config, answer)
    return {"ok": ok, "outputs": shapes, "msg": msg}, None


# --- everything together ----------------------------------------------------------------

def wait_until_settled(client, models, wait, clock=time.monotonic, sleep=time.sleep,
                       interval=POLL_INTERVAL):
    """Poll until the server is live, every model of interest has settled and the server
    is ready (or stays not ready only because a model failed to load), at most ``wait``
    seconds. Errors here are expected (a server restarting refuses connections) and are
    not reported; a 403 (a restricted API without its header) ends the wait, as waiting
    does not change it. Returns whether it settled."""
    deadline = clock() + wait
    while True:
        remaining = deadline - clock()
        timeout = max(0.1, min(client.timeout, remaining))
        try:
            if client.health("live", timeout):
                index = normalise_index(client.index(timeout))
                names = models_of_interest(index, models)
                if settled(index, names) and (client.health("ready", timeout)
                                              or failed_to_load(index)):
                    return True
        except Unreachable:
            pass
        except RequestFailed as exc:
            if exc.status == 403:
                return False
        remaining = deadline - clock()
        if remaining <= 0:
            return False
        sleep(min(interval, remaining))


def server_info(client, models=(), smoke=False, wait=0, clock=time.monotonic,
                sleep=time.sleep, configs=True):
    """Everything the module returns, from one pass over the server (after waiting up
    to ``wait`` seconds for it to settle). ``configs=False`` reads the served configs
    only for the zero inferences (``smoke``), as a gate that shows none of them does."""
    models = list(models or [])
    start = clock()
    if wait > 0:
        wait_until_settled(client, models, wait, clock, sleep)
    result = {"live": False, "ready": False, "server": None, "models": [],
              "unavailable": [], "configs": {}, "metrics": {}, "smoke": {},
              "waited": round(clock() - start, 3) if wait > 0 else 0.0, "errors": []}
    errors = result["errors"]

    try:
        result["live"] = client.health("live")
    except Unreachable as exc:
        errors.append(f"{exc} (is the server running, and on this address?)")
        result["unavailable"] = unavailable([], models, why_missing=f"the server did not "
                                            f"answer ({exc})")
        _smoke_skipped(result, smoke, models)
        _metrics(client, result, models)
        return result
    except RequestFailed as exc:  # it answers, but not this (a restricted API)
        errors.append(str(exc))

    for key, call in (("ready", lambda: client.health("ready")),
                      ("server", client.metadata),
                      ("models", lambda: normalise_index(client.index()))):
        try:
            result[key] = call()
        except (Unreachable, RequestFailed) as exc:
            errors.append(str(exc))

    index = result["models"]
    names = models_of_interest(index, models)
    result["unavailable"] = unavailable(index, names)
    ready = ready_models(index)
    for name in names if configs or smoke else ():
        if name not in ready:
            continue
        try:
            result["configs"][name] = client.config(name)
        except (Unreachable, RequestFailed) as exc:
            errors.append(str(exc))

    if smoke:
        for name in names:
            config = result["configs"].get(name)
            if name not in ready:
                result["smoke"][name] = {"ok": False, "outputs": {},
                                         "msg": f"not run: {_why_not_ready(index, name)}"}
            elif config is None:
                result["smoke"][name] = {"ok": False, "outputs": {},
                                         "msg": "not run: its config could not be read"}
            else:
                result["smoke"][name], error = smoke_one(client, name, config)
                if error:
                    errors.append(error)

    _metrics(client, result, models)
    return result


def _why_not_ready(index, name):
    entries = [e for e in index if e["name"] == name]
    if not entries:
        return "the model is not in the server's repository index"
    return "; ".join(f"version {e['version'] or '-'} is {e['state'] or 'not loaded'}"
                     + (f": {e['reason']}" if e["reason"] else "") for e in entries)


def _smoke_skipped(result, smoke, models):
    if smoke:
        for name in models:
            result["smoke"][name] = {"ok": False, "outputs": {},
                                     "msg": "not run: the server did not answer"}


def _metrics(client, result, models):
    if not client.metrics_url:
        return
    try:
        result["metrics"] = model_metrics(parse_prometheus(client.metrics()), models)
    except (Unreachable, RequestFailed, MetricsError) as exc:
        result["errors"].append(str(exc))
