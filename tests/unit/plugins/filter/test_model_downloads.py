"""The model_downloads filter, what roles/model_repository/tasks/download.yml loops over: one
get_url per distinct URL, into the cache file model_sources reads afterwards."""

import hashlib
import os

from ansible_collections.inferops.triton.plugins.filter.model_downloads import (
    FilterModule,
    model_downloads,
)
from ansible_collections.inferops.triton.plugins.filter.model_sources import model_sources

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
URL = "http://127.0.0.1:18080/resnet50-v2.onnx"


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"model_downloads": model_downloads}


def test_one_download_per_url_named_as_the_role_named_it():
    versions = [{"version": 1, "url": URL, "checksum": f"sha256:{URL}.sha256"},
                {"version": 2, "path": "/srv/models/local.onnx"},
                {"version": 1, "url": URL, "checksum": "sha256:" + SHA},  # another host's
                {"version": 3, "url": "http://m/b.onnx", "checksum": "sha256:" + SHA}]
    assert model_downloads(versions, "/cache") == [
        # the name download.yml gave it: <cache>/{{ url | hash('sha256') }}.onnx
        {"url": URL, "checksum": f"sha256:{URL}.sha256",
         "dest": f"/cache/{hashlib.sha256(URL.encode()).hexdigest()}.onnx"},
        {"url": "http://m/b.onnx", "checksum": "sha256:" + SHA,
         "dest": f"/cache/{hashlib.sha256(b'http://m/b.onnx').hexdigest()}.onnx"}]
    assert model_downloads(None, "/cache") == []


def test_model_sources_reads_each_download_where_it_was_put(tmp_path):
    data = b"\x08\x07onnx-bytes" * 10
    versions = [{"version": 1, "url": URL, "checksum": f"sha256:{URL}.sha256"}]
    (item,) = model_downloads(versions, str(tmp_path))
    with open(item["dest"], "wb") as handle:  # what get_url leaves
        handle.write(data)
    source = model_sources(versions, str(tmp_path))[URL]
    assert source["src"] == item["dest"] and os.path.isfile(source["src"])
    assert source["sha256"] == hashlib.sha256(data).hexdigest()
