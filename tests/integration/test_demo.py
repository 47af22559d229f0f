"""The demo path, for real: lab/demo.py runs site.yml against a fresh lab node container
(systemd, its own Docker engine), the real tritonserver and the real perf_analyzer.

Ordered: the first test converges the node; the others run against it. The node is removed
at the end. Needs root and the lab (make lab).
"""

import csv
import json

import pytest
from demonode import NODE, recap


def test_demo_converges_and_reports(demo_node):
    rc, out = demo_node.converged()
    assert rc == 0, out[-5000:]
    assert recap(out)["failed"] == 0
    assert "| host | batch | concurrency | infer/s |" in out
    reports = sorted(demo_node.results.glob("*/report.md"))
    assert len(reports) == 1
    host_dir = reports[0].parent / NODE
    summary = json.loads((host_dir / "summary.json").read_text())
    cells = {(r["batch_size"], r["concurrency"]): r for r in summary["results"]}
    unstable = {(u["batch_size"], u["concurrency"]) for u in summary["unstable"]}
    # every load level is either measured or reported as not stable, never dropped
    assert set(cells) | unstable == {(1, 1), (1, 2), (8, 1), (8, 2)}
    assert not set(cells) & unstable
    assert len(cells) >= 3, summary["unstable"]
    # summary.json holds exactly what perf_analyzer wrote
    for batch in {cell[0] for cell in cells}:  # no CSV when a batch size's first level was unstable
        with (host_dir / f"resnet50-b{batch}.csv").open() as handle:
            for row in csv.DictReader(handle):
                cell = cells[(batch, int(row["Concurrency"]))]
                assert cell["throughput_infer_per_sec"] == pytest.approx(
                    float(row["Inferences/Second"]))
                assert cell["p99_latency_us"] == int(row["p99 latency"])
                assert cell["throughput_infer_per_sec"] > 0


def test_second_run_changes_nothing(demo_node):
    # The whole path again, the benchmark included; one cell of it is enough here (the
    # sweep's numbers are the first run's test).
    rc, out = demo_node.run("-e", '{"benchmark_batch_sizes": [1], '
                            '"benchmark_concurrency_range": "1:1"}')
    assert rc == 0, out[-5000:]
    assert recap(out)["changed"] == 0, out[-5000:]


def test_check_mode_reports_a_pending_change_and_makes_none(demo_node):
    unit = "/etc/systemd/system/triton-server.service"
    before = demo_node.file_sha256(unit)
    rc, out = demo_node.run("--check", "--diff", "-e", "triton_server_log_verbose=1",
                            "-e", "benchmark_enabled=false")
    assert rc == 0, out[-5000:]
    assert recap(out)["changed"] >= 1
    assert "+  --log-verbose=1" in out
    assert demo_node.file_sha256(unit) == before


def test_bad_variable_fails_before_the_node_changes(demo_node):
    config = "/var/lib/inferops-triton/models/resnet50/config.pbtxt"
    before = demo_node.file_sha256(config)
    assert before is not None
    bad = json.loads(json.dumps({"triton_models": [{
        "name": "resnet50",
        "config": {"max_batch_size": "eight",
                   "input": [{"name": "data", "data_type": "TYPE_FP32", "dims": [3, 224, 224]}]},
        "versions": []}]}))
    rc, out = demo_node.run("-e", json.dumps(bad))
    assert rc != 0
    assert "triton_models[0] (resnet50): config.max_batch_size: 'eight'" in out
    assert "is not an integer" in out
    assert "inferops.triton.docker_engine" not in out  # no role ran
    assert demo_node.file_sha256(config) == before
