"""The wait helper (server/_wait_ready.py), run as systemd runs it (ExecStartPost) against a
local server answering as Triton does: ready, a model that failed to load, still starting."""

import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.server import (
    _wait_ready,
)


def test_wait_ready_helper_is_valid_python():
    proc = subprocess.run(["python3", "-c", "import ast,sys; ast.parse(sys.stdin.read())"],
                          input=_wait_ready.WAIT_READY_SCRIPT, text=True, capture_output=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr


class _Triton(http.server.BaseHTTPRequestHandler):
    """Answers as a Triton server in one of three states (class attribute ``state``)."""

    state = "ready"
    # the index a server answers after the model "broken" failed to load
    # (tests/fixtures/triton/index-broken.json, captured from the real server)
    index = (Path(__file__).resolve().parents[4] / "fixtures" / "triton" /
             "index-broken.json").read_bytes()

    def _send(self, code, body=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path == "/v2/health/ready":
            self._send(200 if self.state == "ready" else 400)
        else:
            self._send(200 if self.path == "/v2/health/live" else 404)

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(200, self.index if self.state == "failed" else b"[]")

    def log_message(self, *args):
        pass


@pytest.fixture()
def wait_ready(tmp_path):
    script = tmp_path / "wait-ready"
    script.write_text(_wait_ready.WAIT_READY_SCRIPT)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Triton)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def run(state, pid):
        _Triton.state = state
        return subprocess.run([sys.executable, str(script),
                               f"http://127.0.0.1:{server.server_address[1]}", str(pid)],
                              capture_output=True, text=True, timeout=20, check=False)
    yield run
    server.shutdown()


def test_wait_ready_returns_once_the_server_is_ready(wait_ready):
    assert wait_ready("ready", os.getpid()).returncode == 0


def test_wait_ready_lets_a_server_with_a_failed_model_start_and_logs_why(wait_ready):
    proc = wait_ready("failed", os.getpid())
    assert proc.returncode == 0
    assert "wait-ready: model broken is UNAVAILABLE:" in proc.stderr


def test_wait_ready_fails_at_once_when_the_server_process_is_gone(wait_ready):
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: its /proc entry is gone, as systemd's $MAINPID is once it exited
    started = time.monotonic()
    proc = wait_ready("starting", gone.pid)
    assert proc.returncode == 1 and time.monotonic() - started < 10
    assert "the server exited before it was ready" in proc.stderr
