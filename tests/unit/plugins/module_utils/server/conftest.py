"""The ``replay`` fixture of the server tests: a local HTTP server replaying a real Triton
server's answers (triton_captures.py), once as the main server and once as "broken"."""

import http.server
import threading

import pytest
from triton_captures import Replay, _routes


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
