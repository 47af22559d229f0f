# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Triton server's HTTP endpoints, asked from the host: the client (:class:`TritonClient`,
its errors, the urllib transport) and the wire form of an inference request (JSON, or the
JSON header followed by binary tensors).

Travels to hosts; standard library only. The HTTP calls go through a ``transport(method,
url, body, headers, timeout)`` callable returning a :class:`Response` (``urllib_transport``
on a host; tests pass a stub or point the default at a local server). Endpoints, from the
KServe v2 protocol and Triton's extensions:

- ``GET /v2/health/live``, ``GET /v2/health/ready``: status 200 or 400, no body;
- ``GET /v2``: ``{name, version, extensions}``;
- ``POST /v2/repository/index`` (model repository extension): one entry per model version
  ``{name, version, state, reason}``; a model the server never loaded (explicit model
  control) has only ``name``; ``reason`` holds the load error of an UNAVAILABLE model;
- ``GET /v2/models/<m>/config``: the served config in protobuf JSON form;
- ``POST /v2/repository/models/<m>/load`` (explicit model control): loads or reloads the
  model, with ``{"parameters": {"config": "<JSON>"}}`` in place of its config.pbtxt (the
  file stays as it is); answers 200 with no body once the model is loaded, else the error;
- ``POST /v2/repository/models/<m>/unload``: unloads it;
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
import socket
import urllib.error
import urllib.parse
import urllib.request

BINARY_HEADER = "Inference-Header-Content-Length"

# The options of every module that talks to the server's HTTP API (documented by the doc
# fragment inferops.triton.triton_api): its endpoint and the headers a restricted API needs.
API_ARGS = {
    "url": {"type": "str", "default": "http://127.0.0.1:8000"},
    "headers": {"type": "dict", "default": {}, "no_log": True},
}


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
        return self._json("GET", f"/v2/models/{quote_name(model)}/config")

    def _repository(self, action, model, body, timeout=None):
        path = f"/v2/repository/models/{quote_name(model)}/{action}"
        response = self.request("POST", path, json.dumps(body).encode("utf-8"),
                                {"Content-Type": "application/json"}, timeout)
        if response.status != 200:
            raise RequestFailed(f"POST {self.url}{path}: HTTP {response.status}: "
                                f"{_error_text(response)}", response.status)

    def load(self, model, config=None, timeout=None):
        """Load or reload ``model`` (explicit model control); ``config``: a complete model
        configuration (protobuf JSON form) served instead of the repository's config.pbtxt,
        which is left as it is. Returns once the server has loaded it; a load the server
        refuses is RequestFailed with its error."""
        body = {} if config is None else {"parameters": {"config": json.dumps(config)}}
        self._repository("load", model, body, timeout)

    def unload(self, model, timeout=None):
        self._repository("unload", model, {}, timeout)

    def infer(self, model, request):
        """Send an ``infer_request``; return ``(status, response JSON or None, error text
        or None)``."""
        path = f"/v2/models/{quote_name(model)}/infer"
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


def quote_name(name):
    """A model name as one path segment of a URL."""
    return urllib.parse.quote(name, safe="")


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
