"""A host's summary.json: built by host_summary from its cells and host_metadata, read back by
check_host_summary; and the readers of the benchmark role's registered results."""

import json
import re
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.bench import _results_controller as rc
from ansible_collections.inferops.triton.plugins.module_utils.bench._perf import (
    parse_csv,
    summarize,
)

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "perf_analyzer"
SETTINGS = dict(client="slim", client_image="inferops/perf-analyzer:2.60.0",
                client_host="node1", protocol="grpc", load_mode="concurrency",
                load_range="1:2", input_data="zero", measurement_interval_ms=4000)


def captured(name):
    return summarize(parse_csv((FIXTURES / name).read_text()))


def cell(model, batch, results, unstable=(), measured=12.0, elapsed=15.0, observed=None):
    return {"cell": {"index": 1, "model": model, "batch_size": batch,
                     "name": f"{model}-b{batch}"},
            "results": results, "unstable": list(unstable), "files": {},
            "measured_seconds": measured, "elapsed_seconds": elapsed, "observed": observed}


# What the perf_analyzer module returned as ``observed`` for a cell without an exporter (its
# RETURN sample).
OBSERVED = {"seconds": 31.4, "server": {"url": "http://127.0.0.1:8002/metrics", "requests": 712,
                                        "failures": 0, "inferences": 712, "executions": 655,
                                        "queue_us": 2150.3, "compute_input_us": 140.2,
                                        "compute_infer_us": 37012.9,
                                        "compute_output_us": 1990.4, "compute_us": 39143.5},
            "server_reason": None, "gpu": None,
            "gpu_reason": "no exporter answered at http://127.0.0.1:5000/metrics: "
                          "connection refused",
            "inferences_per_joule": None}


# --------------------------------------------------------------------------- host_metadata

def test_metadata_of_a_gpu_host():
    meta = rc.host_metadata(
        rocm={"rocm_version": "7.2.0", "gpus": [{"name": "AMD Instinct MI210",
                                                 "gfx_target": "gfx90a"}] * 4},
        server_ref="inferops/tritonserver:2.51.0-rocm",
        server_image={"id": "sha256:abcd", "repo_digests": ["reg/t@sha256:11", "x@sha256:2"]},
        perf_analyzer_version="Perf Analyzer 2.60.0",
        model_config_sha256={"resnet50": "aa11"}, percentile=95, **SETTINGS)
    assert meta == {
        "server_image": "inferops/tritonserver:2.51.0-rocm", "server_image_id": "sha256:abcd",
        "server_image_digest": "reg/t@sha256:11", "rocm_version": "7.2.0",
        "gpu_model": "AMD Instinct MI210", "gpu_count": 4,
        "perf_analyzer_version": "Perf Analyzer 2.60.0", "client": "slim",
        "client_image": "inferops/perf-analyzer:2.60.0", "client_host": "node1",
        "protocol": "grpc", "load_mode": "concurrency", "load_range": "1:2",
        "input_data": "zero", "stabilised_on": "p95", "measurement_interval_ms": 4000,
        "model_config_sha256": {"resnet50": "aa11"}}
    assert tuple(meta) == rc.METADATA_KEYS


def test_metadata_of_a_cpu_host_with_nothing_known():
    meta = rc.host_metadata(**{**SETTINGS, "client": "binary"})
    assert meta == dict(
        SETTINGS, client="binary", client_image=None, server_image=None,
        server_image_id=None, server_image_digest=None, rocm_version=None, gpu_model=None,
        gpu_count=0, perf_analyzer_version=None, stabilised_on="average latency",
        model_config_sha256={})


def test_the_gpu_model_falls_back_to_its_gfx_target():
    meta = rc.host_metadata(rocm={"gpus": [{"name": "", "gfx_target": "gfx1100"}]}, **SETTINGS)
    assert (meta["gpu_model"], meta["gpu_count"]) == ("gfx1100", 1)


@pytest.mark.parametrize("percentile, label", [(None, "average latency"), (0, "average latency"),
                                               (99, "p99")])
def test_stabilised_on(percentile, label):
    assert rc.stabilised_on(percentile) == label


# --------------------------------------------------------------------------- host_summary

def test_host_summary_from_captured_cells():
    b1, b8 = captured("lab-grpc-concurrency-b1.csv"), captured("lab-grpc-concurrency-b8.csv")
    meta = rc.host_metadata(**SETTINGS)
    summary = rc.host_summary([cell("resnet50", 1, b1, measured=14.4345, elapsed=31.2,
                                    observed=OBSERVED),
                               cell("resnet50", 8, b8[:1], unstable=[2], measured=9.6001,
                                    elapsed=20.05)],
                              run_id="r1", host="node1", started="2026-12-02T08:15:00Z",
                              ended="2026-12-02T08:17:10Z", metadata=meta)
    assert summary == {
        "run_id": "r1", "host": "node1", "started": "2026-12-02T08:15:00Z",
        "ended": "2026-12-02T08:17:10Z", "metadata": meta,
        "results": [dict(model="resnet50", batch_size=1, csv="resnet50-b1.csv", **row)
                    for row in b1]
        + [dict(model="resnet50", batch_size=8, csv="resnet50-b8.csv", **b8[0])],
        "unstable": [{"model": "resnet50", "batch_size": 8, "concurrency": 2}],
        # one entry per perf_analyzer run: what it observed, or that nothing was read
        "cells": [dict(model="resnet50", batch_size=1, csv="resnet50-b1.csv", **OBSERVED),
                  dict(model="resnet50", batch_size=8, csv="resnet50-b8.csv",
                       **rc.NOT_OBSERVED)],
        "measurement_seconds": 24.035, "perf_analyzer_seconds": 51.25}
    # what perf_analyzer wrote, whole: every summary key of the CSV, under its own name
    assert summary["results"][0]["p99_latency_us"] == b1[0]["p99_latency_us"]


def test_host_summary_unstable_levels_take_the_load_key():
    meta = rc.host_metadata(**{**SETTINGS, "load_mode": "request_rate", "load_range": "10:20:10"})
    summary = rc.host_summary([cell("m", 4, [], unstable=[10.0, 20.0])], run_id="r", host="h",
                              started="s", ended="e", metadata=meta)
    assert summary["unstable"] == [{"model": "m", "batch_size": 4, "request_rate": 10.0},
                                   {"model": "m", "batch_size": 4, "request_rate": 20.0}]


def test_host_summary_sums_count_missing_numbers_as_zero():
    cells = [cell("m", 1, [], measured=None, elapsed=2), cell("m", 2, [], measured=0.0004)]
    del cells[1]["elapsed_seconds"]
    summary = rc.host_summary(cells, run_id="r", host="h", started="s", ended="e",
                              metadata=rc.host_metadata(**SETTINGS))
    assert (summary["measurement_seconds"], summary["perf_analyzer_seconds"]) == (0.0, 2)
    empty = rc.host_summary([], run_id="r", host="h", started="s", ended="e",
                            metadata=rc.host_metadata(**SETTINGS))
    # as the role's Jinja wrote them: an int when nothing was summed
    assert json.dumps([empty["measurement_seconds"], empty["perf_analyzer_seconds"]]) == "[0, 0]"


def test_host_summary_ended_defaults_to_now():
    summary = rc.host_summary([], run_id="r", host="h", started="s",
                              metadata=rc.host_metadata(**SETTINGS))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", summary["ended"])


@pytest.mark.parametrize("entry", [{}, {"cell": {"model": "m"}}, {"cell": None},
                                   {"cell": {"model": "m", "batch_size": 1, "name": "x"},
                                    "results": [5]}])
def test_host_summary_refuses_a_malformed_cell(entry):
    with pytest.raises(rc.BenchReportError, match=r"measured cell 0: expected"):
        rc.host_summary([entry], run_id="r", host="h", started="s",
                        metadata=rc.host_metadata(**SETTINGS))


def test_host_summary_refuses_results_the_report_cannot_read():
    with pytest.raises(rc.BenchReportError, match=r"summary of host h: results\[0\]: expected "
                                                  r"exactly one of concurrency or request_rate"):
        rc.host_summary([cell("m", 1, [{"throughput_infer_per_sec": 1.0}])], run_id="r",
                        host="h", started="s", metadata=rc.host_metadata(**SETTINGS))


# --------------------------------------------------------------------------- registered results

def test_server_ref_is_the_first_line_docker_inspect_printed():
    assert rc.server_ref_of({"stdout_lines": ["img:1", "img:2"]}) == "img:1"
    assert rc.server_ref_of({"stdout_lines": []}) == ""
    assert rc.server_ref_of(None) == ""


def test_image_of():
    info = {"images": {"img:1": {"id": "sha256:ff", "repo_digests": []}}}
    assert rc.image_of(info, "img:1") == {"id": "sha256:ff", "repo_digests": []}
    assert rc.image_of(info, "") == {}
    assert rc.image_of({"skipped": True}, "img:1") == {}
    assert rc.image_of({"images": {"img:1": None}}, "img:1") == {}


def test_version_of_the_client_host():
    runs = {"results": [{"item": "a", "stdout": "Perf Analyzer 2.60.0 ", "stderr": "warn\n"},
                        {"item": "b", "stdout": "other", "stderr": ""}]}
    assert rc.version_of(runs, "a") == "Perf Analyzer 2.60.0  warn"
    assert rc.version_of(runs, "c") == ""
    assert rc.version_of({"results": [{"item": "a", "stdout": "", "stderr": ""}]}, "a") == ""
    assert rc.version_of(None, "a") == ""


def test_config_hashes():
    stats = {"results": [{"item": "a", "stat": {"exists": True, "checksum": "c1"}},
                         {"item": "b", "stat": {"exists": False}}]}
    assert rc.config_hashes(stats) == {"a": "c1", "b": None}
    assert rc.config_hashes({"results": []}) == {} == rc.config_hashes(None)


# --------------------------------------------------------------------------- check_host_summary

def test_what_host_summary_builds_passes_the_check():
    summary = rc.host_summary([cell("resnet50", 1, captured("lab-grpc-request-rate-plain-b1.csv"),
                                    unstable=[8.0])],
                              run_id="r", host="h", started="s",
                              metadata=rc.host_metadata(**SETTINGS))
    rc.check_host_summary(json.loads(json.dumps(summary)), "summary.json")


@pytest.mark.parametrize("data", [{}, {"results": None, "unstable": None, "cells": None},
                                  {"cells": [{"model": "m", "batch_size": 1}]},
                                  {"results": [{"model": "m", "batch_size": 1,
                                                "request_rate": 2.0, "concurrency": None}]}])
def test_check_accepts(data):
    rc.check_host_summary(data, "x")


@pytest.mark.parametrize("data, message", [
    ([], r"^x holds JSON but not an object$"),
    ({"unstable": "no"}, r"^x: 'unstable' must be a list, got str$"),
    ({"results": [1]}, r"^x: results\[0\] is not an object$"),
    ({"results": [{"model": "m", "concurrency": 1}]}, r"^x: results\[0\] has no 'batch_size'$"),
    ({"unstable": [{"model": "m", "batch_size": 1}]},
     r"^x: unstable\[0\]: expected exactly one of concurrency or request_rate, found neither$"),
    ({"cells": {"model": "m"}}, r"^x: 'cells' must be a list, got dict$"),
    ({"cells": [{"model": "m"}]}, r"^x: cells\[0\] has no 'batch_size'$"),
])
def test_check_refuses(data, message):
    with pytest.raises(rc.BenchReportError, match=message):
        rc.check_host_summary(data, "x")
