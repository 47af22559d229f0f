"""The model_sources filter, what roles/model_repository/tasks/validate.yml resolves each
model file's source and sha256 with, once for the play: the controller's digests kept while
a file is unchanged, and a source that cannot be used as the play's error."""

import hashlib
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter.model_sources import (
    FilterModule,
    model_sources,
)
from ansible_collections.inferops.triton.plugins.module_utils.models._sources_controller import (
    cache_path,
)

ONNX_A, ONNX_B = b"\x08\x07model a", b"\x08\x07model b"
SHA_A, SHA_B = (hashlib.sha256(data).hexdigest() for data in (ONNX_A, ONNX_B))


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"model_sources": model_sources}


def test_the_sources_filter_keeps_controller_digests_while_the_file_is_unchanged(tmp_path):
    cache = tmp_path / "cache"
    local = tmp_path / "local.onnx"
    local.write_bytes(ONNX_B)
    versions = [{"version": 1, "path": str(local)}]
    assert model_sources(versions, str(cache))[str(local)]["sha256"] == SHA_B
    kept = json.loads((cache / "sha256.json").read_text())
    assert kept[str(local)]["sha256"] == SHA_B
    # rewriting the file changes its ctime (and size): it is read again
    local.write_bytes(ONNX_A)
    assert model_sources(versions, str(cache))[str(local)]["sha256"] == SHA_A
    assert json.loads((cache / "sha256.json").read_text())[str(local)]["sha256"] == SHA_A


def test_a_download_in_the_cache_and_a_node_download(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    url = "http://127.0.0.1:1/m.onnx"
    with open(cache_path(str(cache), url), "wb") as handle:  # as get_url left it
        handle.write(ONNX_A)
    versions = [{"version": 1, "url": url, "checksum": "sha256:" + SHA_A}]
    assert model_sources(versions, str(cache)) == {
        url: {"url": url, "checksum": "sha256:" + SHA_A, "src": cache_path(str(cache), url),
              "sha256": SHA_A}}
    node = [{"version": 1, "url": url, "checksum": f"sha256:{url}.sha256"}]
    assert model_sources(node, str(cache), download="node") == {
        url: {"url": url, "checksum": f"sha256:{url}.sha256", "src": None, "sha256": None}}


def test_every_source_that_cannot_be_used_is_one_ansible_error(tmp_path):
    local = tmp_path / "local.onnx"
    local.write_bytes(ONNX_B)
    versions = [{"version": 1, "path": str(tmp_path / "missing.onnx")},
                {"version": 2, "path": str(local), "checksum": "sha256:" + SHA_A}]
    with pytest.raises(AnsibleFilterError) as err:
        model_sources(versions, str(tmp_path / "cache"))
    assert str(err.value) == (
        f"triton_models versions: {tmp_path / 'missing.onnx'}: no such file on the controller; "
        f"{local}: the file has sha256 {SHA_B}, but its checksum says {SHA_A}")


def test_an_unknown_download_place_is_named(tmp_path):
    with pytest.raises(AnsibleFilterError, match=r"model_repository_download 'nodes' is not "
                                                 r"one of controller, node"):
        model_sources([], str(tmp_path), download="nodes")
