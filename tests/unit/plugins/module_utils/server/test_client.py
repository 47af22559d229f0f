"""The HTTP client (server/_client.py): the default transport, and the restricted APIs'
header, on the responses a real server gave (tests/fixtures/triton, SOURCE.md)."""


import pytest
from triton_captures import (
    _json,
    _restricted_transport,
)

from ansible_collections.inferops.triton.plugins.module_utils.server._client import (
    RequestFailed,
    TritonClient,
    Unreachable,
    urllib_transport,
)


def test_the_default_transport_reports_a_refused_connection():
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Unreachable, match="connection refused"):
        urllib_transport("GET", f"http://127.0.0.1:{port}/v2/health/live", timeout=2)


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
