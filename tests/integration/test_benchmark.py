"""Benchmarks across a fleet of two real nodes (the session's demo node and a second lab
node, both serving the real CPU-flavour tritonserver), through playbooks/benchmark.yml:

- a sweep over both nodes (one model, two batch sizes, a concurrency range) with the slim
  client on each node: every raw file and the fleet report (summary.csv, summary.json,
  report.md, report.png) land on the controller, the numbers in summary.json are the
  numbers of the raw CSVs (read here with the csv module, not the collection's parser),
  the metadata names the image, the client and the config hash the node really has, and
  the play says which cell runs and how many remain;
- a load-generator host: the first node runs perf_analyzer against the second node's
  server over the lab network, by request rate, over HTTP, with --verbose-csv;
- the regression gate: the second node measured, then slowed (its model config set to one
  ONNX Runtime intra-op thread on this 2-core machine, where the default uses both) and
  measured against the first run as baseline: the play fails naming the regressed cells,
  and the report lists them.

There is no GPU here: the servers are the CPU flavour; the benchmark path (client image,
perf_analyzer, fetch, report, gate) is the one GPU hosts take.

Needs root and the lab (make lab).
"""

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from demonode import NODE, ROOT, recap

sys.path.insert(0, str(ROOT / "lab"))
import labctl  # noqa: E402

NODE2 = "inferops-test-bench2"
# Short windows: the test checks the path and the numbers' plumbing, not the model's speed.
FAST = {"benchmark_batch_sizes": [1, 2], "benchmark_concurrency_range": "1:2",
        "benchmark_measurement_interval_ms": 2500, "benchmark_stability_percentage": 50,
        "benchmark_max_trials": 10}
REPORT_FILES = ("summary.csv", "summary.json", "report.md", "cells.csv", "report.png")


class Fleet:
    def __init__(self, work, model_url):
        self.work = work
        self.results = work / "results"
        self.model_url = model_url
        self.inventory = self.write_inventory("inventory", {NODE: {}, NODE2: {}})

    def write_inventory(self, name, hosts):
        inventory = self.work / name
        inventory.mkdir()
        hosts = {h: dict(v, ansible_connection="community.docker.docker")
                 for h, v in hosts.items()}
        (inventory / "hosts.yml").write_text(yaml.safe_dump({"triton_nodes": {"hosts": hosts}}))
        (inventory / "group_vars").symlink_to(ROOT / "inventory" / "demo" / "group_vars")
        return inventory

    def play(self, playbook, *args, inventory=None, **variables):
        cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), str(ROOT / playbook),
               "-i", str(inventory or self.inventory), "-e", json.dumps(variables), *args]
        env = dict(os.environ, INFEROPS_DEMO_MODEL_URL=self.model_url,
                   INFEROPS_RESULTS_DIR=str(self.results),
                   ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=2400, check=False)
        return proc.returncode, proc.stdout + proc.stderr

    def benchmark(self, run_id, *args, **variables):
        return self.play("benchmark.yml", *args, **dict(FAST, benchmark_run_id=run_id,
                                                        **variables))


@pytest.fixture(scope="module")
def fleet(demo_node, tmp_path_factory):
    rc, out = demo_node.converged()
    assert rc == 0, out[-5000:]
    labctl.node_down(NODE2)
    labctl.node_up(NODE2, [], image=labctl.DOCKER_NODE_IMAGE)  # Docker Engine preinstalled
    # The server image the demo node built from the same context, shared rather than built
    # again: the role finds its provenance current and skips the build (the demo tests it).
    image = subprocess.run(["docker", "exec", NODE, "docker", "inspect", "--format",
                            "{{ .Config.Image }}", "triton-server"], capture_output=True,
                           text=True, check=True).stdout.strip()
    labctl.copy_image(NODE, NODE2, image)
    fleet = Fleet(tmp_path_factory.mktemp("fleet"), demo_node.model_url)
    rc, out = fleet.play("site.yml", "--limit", NODE2, benchmark_enabled=False)
    assert rc == 0, out[-5000:]
    yield fleet
    labctl.node_down(NODE2)


def exec_on(node, *argv):
    return subprocess.run(["docker", "exec", node, *argv], capture_output=True, text=True,
                          check=True).stdout


def raw_rows(path):
    """The CSV as perf_analyzer wrote it: the header row and the data rows up to the first
    blank line (the csv module, not the collection's parser)."""
    rows = []
    with open(path, newline="") as fh:
        for row in csv.reader(fh):
            if not any(cell.strip() for cell in row):
                break
            rows.append(row)
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def test_a_sweep_over_two_nodes_reports_on_the_controller(fleet):
    rc, out = fleet.benchmark("two-nodes")
    assert rc == 0, out[-5000:]
    assert recap(out)["failed"] == 0
    flat = " ".join(out.split())
    assert "Cell 1/2 (1 after it): resnet50 batch 1, concurrency 1:2" in flat
    assert "Cell 2/2 (0 after it): resnet50 batch 2, concurrency 1:2" in flat

    run = fleet.results / "two-nodes"
    for name in REPORT_FILES:
        assert (run / name).stat().st_size > 0, name
    assert (run / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fleet_summary = json.loads((run / "summary.json").read_text())
    fleet_csv = list(csv.DictReader((run / "summary.csv").open()))
    report = (run / "report.md").read_text()

    for host in (NODE, NODE2):
        summary = json.loads((run / host / "summary.json").read_text())
        meta = summary["metadata"]
        assert summary["host"] == host and summary["started"] <= summary["ended"]
        assert meta["server_image_id"].startswith("sha256:")
        assert "Perf Analyzer" in meta["perf_analyzer_version"]
        assert meta["client_host"] == host and meta["gpu_count"] == 0
        config = exec_on(host, "cat", "/var/lib/inferops-triton/models/resnet50/config.pbtxt")
        assert meta["model_config_sha256"]["resnet50"] == hashlib.sha256(
            config.encode()).hexdigest()
        assert summary["measurement_seconds"] > 0
        measured = {(r["batch_size"], r["concurrency"]) for r in summary["results"]}
        unstable = {(u["batch_size"], u["concurrency"]) for u in summary["unstable"]}
        assert measured | unstable == {(1, 1), (1, 2), (2, 1), (2, 2)}
        assert measured, f"no load level of {host} stabilised"
        for batch in (1, 2):
            name = f"resnet50-b{batch}"
            for suffix in (".windows.json", ".log"):
                assert (run / host / (name + suffix)).stat().st_size > 0, name + suffix
            assert not (run / host / f"{name}.profile.json").exists()  # the tensors stay out
            # summary.json holds the numbers of the raw CSV, row for row (perf_analyzer
            # writes no CSV when the first level did not stabilise)
            rows = [r for r in summary["results"] if r["batch_size"] == batch]
            raw = raw_rows(run / host / f"{name}.csv") if rows else []
            assert len(rows) == len(raw)
            for row, line in zip(rows, raw):
                assert row["csv"] == f"{name}.csv"
                assert row["concurrency"] == int(line["Concurrency"])
                assert row["throughput_infer_per_sec"] == float(line["Inferences/Second"])
                for pct in (50, 90, 95, 99):
                    assert row[f"p{pct}_latency_us"] == int(line[f"p{pct} latency"])
                assert row["server_queue_us"] == int(line["Server Queue"])
                assert row["server_compute_infer_us"] == int(line["Server Compute Infer"])
                # ... and so do the fleet summary, its CSV and the report
                same = [r for r in fleet_summary["rows"] if r["host"] == host
                        and r["batch_size"] == batch and r.get("concurrency") == row["concurrency"]]
                assert same and same[0]["throughput_infer_per_sec"] == row[
                    "throughput_infer_per_sec"]
                assert any(r["host"] == host and float(r["throughput_infer_per_sec"] or 0)
                           == row["throughput_infer_per_sec"] for r in fleet_csv)
            # what the server counted on its metrics port during the cell, and why the GPU
            # columns are empty on the CPU flavour
            cell = next(c for c in summary["cells"] if c["batch_size"] == batch)
            assert cell["server_reason"] is None, cell
            assert cell["server"]["requests"] > 0 and cell["server"]["failures"] == 0
            assert cell["server"]["inferences"] == batch * cell["server"]["requests"]
            assert cell["server"]["queue_us"] > 0 and cell["server"]["compute_us"] > 0
            assert cell["gpu"] is None and cell["gpu_reason"] == "no GPU: CPU flavour"
            assert cell["inferences_per_joule"] is None
            cells_csv = [c for c in csv.DictReader((run / "cells.csv").open())
                         if c["host"] == host and c["batch_size"] == str(batch)]
            assert int(cells_csv[0]["requests"]) == cell["server"]["requests"]
            assert cells_csv[0]["gpu_power_w"] == "" and cells_csv[0]["gpu_reason"]
        assert f"- {host} batch 1, 2: GPU columns empty - no GPU: CPU flavour" in report
        assert host in report
    assert sorted(fleet_summary["hosts"]) == sorted([NODE, NODE2]) or NODE in json.dumps(
        fleet_summary["hosts"])


def test_a_load_generator_host_measures_another_nodes_server(fleet):
    address = subprocess.run(["docker", "inspect", "--format",
                              "{{ .NetworkSettings.IPAddress }}", NODE2], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert address
    inventory = fleet.write_inventory("loadgen", {
        NODE: {}, NODE2: {"benchmark_client_host": NODE, "benchmark_server_address": address}})
    rc, out = fleet.play("benchmark.yml", "--limit", NODE2, inventory=inventory,
                         **dict(FAST, benchmark_run_id="loadgen", benchmark_batch_sizes=[1],
                                benchmark_request_rate_range="3:6:3", benchmark_protocol="http",
                                benchmark_verbose_csv=True))
    assert rc == 0, out[-5000:]
    summary = json.loads((fleet.results / "loadgen" / NODE2 / "summary.json").read_text())
    assert summary["metadata"]["client_host"] == NODE
    assert summary["metadata"]["load_mode"] == "request_rate"
    levels = sorted([r["request_rate"] for r in summary["results"]]
                    + [u["request_rate"] for u in summary["unstable"]])
    assert len(levels) == 2 and levels[0] == pytest.approx(3, rel=0.1)
    # perf_analyzer ran on the load generator, against the other node's address
    raw = f"/var/lib/inferops-triton/benchmark/runs/loadgen/{NODE2}/resnet50-b1.log"
    assert "Request Rate: 6, throughput" in exec_on(NODE, "cat", raw)
    assert subprocess.run(["docker", "exec", NODE2, "test", "-e", raw],
                          check=False).returncode != 0
    header = (fleet.results / "loadgen" / NODE2 / "resnet50-b1.csv").read_text().splitlines()[0]
    assert header.startswith("Request Rate,") and "Avg latency" in header  # --verbose-csv


def test_a_slowed_server_trips_the_gate_and_names_the_cells(fleet):
    rc, out = fleet.benchmark("node2-before", "--limit", NODE2, benchmark_batch_sizes=[1])
    assert rc == 0, out[-5000:]
    # Slow node2's server: one intra-op thread instead of ONNX Runtime's default (both cores).
    group_vars = yaml.safe_load((ROOT / "inventory" / "demo" / "group_vars" / "triton_nodes.yml")
                                .read_text())
    slow = group_vars["triton_models"]
    slow[0]["config"]["parameters"] = {"intra_op_thread_count": {"string_value": "1"}}
    rc, out = fleet.play("site.yml", "--limit", NODE2, benchmark_enabled=False,
                         triton_models=slow)
    assert rc == 0, out[-5000:]
    rc, out = fleet.benchmark("node2-after", "--limit", NODE2, benchmark_batch_sizes=[1],
                              benchmark_baseline="node2-before")
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert "regressed against run node2-before" in flat, out[-3000:]
    assert f"{NODE2} resnet50 batch 1 concurrency" in flat, out[-3000:]
    report = (fleet.results / "node2-after" / "report.md").read_text()
    assert "Regressions against" in report and NODE2 in report
    comparison = json.loads((fleet.results / "node2-after" / "summary.json").read_text())
    assert comparison["comparison"]["regressions"], comparison.get("comparison")


def test_the_module_runs_a_host_binary(fleet):
    """perf_analyzer as a binary on a host (an Ubuntu 24.04 node: glibc 2.39, which the
    wheel's binary needs), against the second node's server over the lab network."""
    host = "inferops-test-pa-binary"
    binary = Path.home() / ".cache" / "inferops.triton" / "contexts" / "perf-analyzer" / \
        "perf_analyzer"
    assert binary.exists(), "the slim client's context holds the binary the wheel carries"
    address = subprocess.run(["docker", "inspect", "--format",
                              "{{ .NetworkSettings.IPAddress }}", NODE2], capture_output=True,
                             text=True, check=True).stdout.strip()
    labctl.node_down(host)
    labctl.node_up(host, [], image="inferops-lab/node:ubuntu2404")
    try:
        subprocess.run(["docker", "cp", str(binary), f"{host}:/usr/local/bin/perf_analyzer"],
                       check=True)
        inventory = fleet.write_inventory("binary", {host: {}})
        args = {"model": "resnet50", "url": f"{address}:8001", "concurrency_range": "1",
                "executable": "/usr/local/bin/perf_analyzer", "input_data": "zero",
                "measurement_interval": 2500, "stability_percentage": 50,
                "output_dir": "/tmp/perf", "name": "binary"}
        cmd = [str(ROOT / ".venv" / "bin" / "ansible"), host, "-i", str(inventory),
               "-m", "inferops.triton.perf_analyzer", "-a", json.dumps(args)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False,
                              env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        # the module's result, as the yaml result format of ansible.cfg prints it
        assert f"{host} | SUCCESS" in proc.stdout, proc.stdout[-3000:]
        assert "throughput_infer_per_sec:" in proc.stdout and "concurrency: 1" in proc.stdout
        files = exec_on(host, "ls", "/tmp/perf").split()
        assert sorted(files) == ["binary.csv", "binary.log", "binary.windows.json"]
    finally:
        labctl.node_down(host)
