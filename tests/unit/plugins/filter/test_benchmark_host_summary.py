"""The benchmark_host_summary filter, fed what the benchmark role feeds it: its measured cells
and the results it registered (docker inspect, image_info, perf_analyzer --version, stat).

The expected summaries are what the role's Jinja wrote for the same inputs before the summary
moved to Python (rendered with ansible-core 2.19 and compared as JSON), so summary.json keeps
its keys, values and types."""

import inspect
import json

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter import benchmark_host_summary as plugin
from ansible_collections.inferops.triton.plugins.module_utils.bench._results_controller import (
    NOT_OBSERVED,
)

FILTER = plugin.FilterModule().filters()["benchmark_host_summary"]
ENDED = "2026-12-02T08:17:10Z"

GPU_HOST = dict(
    run_id="20261202T081500Z", host="node1", started="2026-12-02T08:15:00Z", ended=ENDED,
    rocm={"rocm_version": "7.2.0", "gpus": [
        {"name": "AMD Instinct MI210", "gfx_target": "gfx90a"},
        {"name": "AMD Instinct MI210", "gfx_target": "gfx90a"}]},
    server_inspect={"stdout_lines": ["inferops/tritonserver:2.51.0-rocm"], "rc": 1},
    server_image_info={"images": {"inferops/tritonserver:2.51.0-rocm": {
        "id": "sha256:abcd", "repo_digests": ["registry/x@sha256:1111", "r2@sha256:2"]}}},
    versions={"results": [{"item": "loadgen", "stdout": "Perf Analyzer 2.60.0 ",
                           "stderr": "warn\n"},
                          {"item": "other", "stdout": "no", "stderr": ""}]},
    configs={"results": [{"item": "resnet50", "stat": {"exists": True, "checksum": "aa11"}},
                         {"item": "gone", "stat": {"exists": True, "checksum": "bb22"}}]},
    client="slim", client_image="inferops/perf-analyzer:2.60.0", client_host="loadgen",
    protocol="grpc", load_mode="concurrency", load_range="1:2", input_data="zero",
    percentile=95, measurement_interval_ms=4000)
GPU_CELLS = [
    {"cell": {"index": 1, "model": "resnet50", "batch_size": 1, "name": "resnet50-b1"},
     "results": [{"concurrency": 2, "throughput_infer_per_sec": 25.537,
                  "p99_latency_us": 99085},
                 {"concurrency": 1, "throughput_infer_per_sec": 23.4765,
                  "p99_latency_us": 54148, "gpu_utilization": None}],
     "unstable": [], "files": {"csv": "/x/resnet50-b1.csv"}, "measured_seconds": 14.4345,
     "elapsed_seconds": 31.2},
    {"cell": {"index": 2, "model": "resnet50", "batch_size": 8, "name": "resnet50-b8"},
     "results": [{"concurrency": 1, "throughput_infer_per_sec": 28.8386}],
     "unstable": [2], "files": {}, "measured_seconds": 9.6001, "elapsed_seconds": 20.05}]
GPU_SUMMARY = {
    "run_id": "20261202T081500Z", "host": "node1", "started": "2026-12-02T08:15:00Z",
    "ended": ENDED,
    "metadata": {
        "server_image": "inferops/tritonserver:2.51.0-rocm", "server_image_id": "sha256:abcd",
        "server_image_digest": "registry/x@sha256:1111", "rocm_version": "7.2.0",
        "gpu_model": "AMD Instinct MI210", "gpu_count": 2,
        "perf_analyzer_version": "Perf Analyzer 2.60.0  warn", "client": "slim",
        "client_image": "inferops/perf-analyzer:2.60.0", "client_host": "loadgen",
        "protocol": "grpc", "load_mode": "concurrency", "load_range": "1:2",
        "input_data": "zero", "stabilised_on": "p95", "measurement_interval_ms": 4000,
        "model_config_sha256": {"gone": "bb22", "resnet50": "aa11"}},
    "results": [
        {"model": "resnet50", "batch_size": 1, "csv": "resnet50-b1.csv", "concurrency": 2,
         "throughput_infer_per_sec": 25.537, "p99_latency_us": 99085},
        {"model": "resnet50", "batch_size": 1, "csv": "resnet50-b1.csv", "concurrency": 1,
         "throughput_infer_per_sec": 23.4765, "p99_latency_us": 54148,
         "gpu_utilization": None},
        {"model": "resnet50", "batch_size": 8, "csv": "resnet50-b8.csv", "concurrency": 1,
         "throughput_infer_per_sec": 28.8386}],
    "unstable": [{"model": "resnet50", "batch_size": 8, "concurrency": 2}],
    # added since (what the server and the GPU did per cell; these cells observed nothing)
    "cells": [dict(model="resnet50", batch_size=1, csv="resnet50-b1.csv", **NOT_OBSERVED),
              dict(model="resnet50", batch_size=8, csv="resnet50-b8.csv", **NOT_OBSERVED)],
    "measurement_seconds": 24.035, "perf_analyzer_seconds": 51.25}

# No server running (so image_info skipped), no ROCm facts, a binary client that printed
# nothing for --version, request rates, every level unstable.
BARE_HOST = dict(
    run_id="loadgen", host="node2", started="2026-12-02T08:15:00Z", ended=ENDED, rocm={},
    server_inspect={"stdout_lines": [], "stdout": "", "rc": 1},
    server_image_info={"skipped": True, "changed": False,
                       "skip_reason": "Conditional result was False"},
    versions={"results": [{"item": "node2", "stdout": "", "stderr": ""}]},
    configs={"results": []}, client="binary", client_image="inferops/perf-analyzer:2.60.0",
    client_host="node2", protocol="http", load_mode="request_rate", load_range="10:40:10",
    input_data="", percentile=None, measurement_interval_ms=1500)
BARE_CELLS = [{"cell": {"index": 1, "model": "m", "batch_size": 4, "name": "m-b4"},
               "results": [], "unstable": [10.0, 20.0], "files": {}, "measured_seconds": 0,
               "elapsed_seconds": 3}]
BARE_SUMMARY = {
    "run_id": "loadgen", "host": "node2", "started": "2026-12-02T08:15:00Z", "ended": ENDED,
    "metadata": {
        "server_image": None, "server_image_id": None, "server_image_digest": None,
        "rocm_version": None, "gpu_model": None, "gpu_count": 0,
        "perf_analyzer_version": None, "client": "binary", "client_image": None,
        "client_host": "node2", "protocol": "http", "load_mode": "request_rate",
        "load_range": "10:40:10", "input_data": "", "stabilised_on": "average latency",
        "measurement_interval_ms": 1500, "model_config_sha256": {}},
    "results": [],
    "unstable": [{"model": "m", "batch_size": 4, "request_rate": 10.0},
                 {"model": "m", "batch_size": 4, "request_rate": 20.0}],
    "cells": [dict(model="m", batch_size=4, csv="m-b4.csv", **NOT_OBSERVED)],
    "measurement_seconds": 0, "perf_analyzer_seconds": 3}


def as_json(data):
    """As the role writes it (to_nice_json: sorted keys), so 0 and 0.0 differ."""
    return json.dumps(data, indent=4, sort_keys=True)


@pytest.mark.parametrize("cells, host, expected", [(GPU_CELLS, GPU_HOST, GPU_SUMMARY),
                                                   (BARE_CELLS, BARE_HOST, BARE_SUMMARY)],
                         ids=["gpu host, load generator", "bare host, binary client"])
def test_the_summary_the_role_wrote(cells, host, expected):
    summary = FILTER(cells, **host)
    assert summary == expected
    assert as_json(summary) == as_json(expected)


def test_a_missing_model_config_is_null():
    """stat of a config.pbtxt that is not there has no checksum (the role's Jinja failed
    on it: map(attribute=..., default=none) is map without a default)."""
    configs = {"results": [{"item": "resnet50", "stat": {"exists": False}}]}
    summary = FILTER(GPU_CELLS, **{**GPU_HOST, "configs": configs})
    assert summary["metadata"]["model_config_sha256"] == {"resnet50": None}


def test_ended_defaults_to_now():
    summary = FILTER([], **{**GPU_HOST, "ended": None})
    assert summary["ended"] >= GPU_HOST["started"]
    assert len(summary["ended"]) == len("2026-12-02T08:17:10Z")


def test_a_malformed_cell_is_a_filter_error():
    with pytest.raises(AnsibleFilterError,
                       match=r"benchmark_host_summary: measured cell 0: expected"):
        FILTER([{"results": []}], **GPU_HOST)


def test_the_documentation_matches_the_signature():
    doc = yaml.safe_load(plugin.DOCUMENTATION)
    assert doc["name"] == "benchmark_host_summary"
    params = inspect.signature(FILTER).parameters
    assert set(doc["options"]) == {"_input", *list(params)[1:]}
    for option, spec in doc["options"].items():
        if option != "_input":
            required = params[option].default is inspect.Parameter.empty
            assert bool(spec.get("required")) == required, option
    assert yaml.safe_load(plugin.EXAMPLES) and yaml.safe_load(plugin.RETURN)["_value"]
