"""tune.yml on a real server (the demo node: the real CPU-flavour tritonserver in explicit
model control, the real perf_analyzer in the collection's client image), then site.yml
taking the tuned file:

- each candidate is loaded through the repository API with its configuration in place of
  config.pbtxt, the server reports serving it, perf_analyzer measures it, and at the end the
  configuration served before serves again, with neither the file nor the container
  touched; the tuned file, its report and plot land beside the inventory;
- the next site.yml gives the model the tuned values (changed), the one after changes
  nothing; a tuned file of another image is not applied, and the run says so.

Needs root and the lab (make lab).
"""

import json
import shutil

import pytest
import yaml
from demomodel import REPOSITORY
from demonode import NODE, ROOT, recap

# The served 2000 us delay is outside the space, so the search starts at 0 and whatever
# wins differs from the inventory's configuration: the next site.yml has a change to make.
SPACE = {"instance_count": [1, 2], "max_queue_delay_microseconds": [0, 500]}
TUNE = {"tune_space": SPACE, "tune_protocol": "http", "tune_concurrency_range": "1:4:3",
        "tune_measurement_interval_ms": 1000, "tune_stability_percentage": 50,
        "tune_max_trials": 8, "tune_latency_slo_ms": 10000, "tune_finalists": 2,
        "tune_hosts": NODE, "triton_server_model_control_mode": "explicit"}
CONVERGE = {"benchmark_enabled": False, "triton_server_model_control_mode": "explicit"}


@pytest.fixture(scope="module")
def node(demo_node):
    rc, out = demo_node.converged()
    assert rc == 0, out[-5000:]
    rc, out = demo_node.run("-e", json.dumps(CONVERGE))
    assert rc == 0, out[-5000:]
    before = served(demo_node)
    yield demo_node
    # the session's other tests see the inventory's configuration (the last test puts it
    # back; a converge here only when a failure left the tuned one)
    shutil.rmtree(demo_node.inventory / ".tuned", ignore_errors=True)
    if served(demo_node) != before:
        rc, out = demo_node.run("-e", json.dumps(CONVERGE))
        assert rc == 0, out[-5000:]


def served(node):
    out = node.exec("python3", "-c", "import sys, urllib.request; sys.stdout.write(urllib."
                    "request.urlopen('http://127.0.0.1:8000/v2/models/resnet50/config')"
                    ".read().decode())", check=True)
    return json.loads(out.stdout)


def started_at(node):
    return node.exec("docker", "inspect", "--format", "{{ .State.StartedAt }}",
                     "triton-server", check=True).stdout.strip()


def image_id(node):
    return node.exec("docker", "inspect", "--format", "{{ .Image }}", "triton-server",
                     check=True).stdout.strip()


@pytest.fixture(scope="module")
def tuned(node):
    """One tune.yml run: the file it wrote, and the server before and after."""
    before = {"served": served(node), "started": started_at(node),
              "pbtxt": node.file_sha256(f"{REPOSITORY}/resnet50/config.pbtxt")}
    rc, out = node.play(str(ROOT / "tune.yml"), "-e", json.dumps(TUNE))
    assert rc == 0, out[-5000:]
    path = node.inventory / ".tuned" / "resnet50" / "cpu.yml"
    assert path.exists(), out[-3000:]
    after = {"served": served(node), "started": started_at(node),
             "pbtxt": node.file_sha256(f"{REPOSITORY}/resnet50/config.pbtxt")}
    return {"path": path, "record": yaml.safe_load(path.read_text()), "before": before,
            "after": after, "out": out}


def test_tuning_measures_candidates_through_the_repository_api_and_puts_the_server_back(
        tuned, node):
    record = tuned["record"]
    assert record["model"] == "resnet50" and record["target"] == "cpu"
    assert record["image"]["id"] == image_id(node)
    tuned_ = record["tuned"]
    assert tuned_["host"] == NODE and tuned_["grid"] == 4
    assert tuned_["measurements"] == len(record["candidates"]) <= tuned_["budget"] == 5
    # the start twice (the run's own noise), each other candidate once, the finalists again
    assert record["candidates"][0]["values"] == record["candidates"][1]["values"]
    assert tuned_["noise"]["used"] >= tuned_["noise"]["given"] == 0.03
    assert record["values"] in tuned_["finalists"]
    assert record["tuned"]["perf_analyzer_version"]
    # the guide's configuration, measured in the same run, and every candidate: the server
    # served each as asked, and perf_analyzer measured each load level
    assert record["baseline"]["values"] == {"instance_count": 1,
                                            "max_queue_delay_microseconds": 100}
    assert record["baseline"]["score"]["value"] > 0
    for entry in record["candidates"]:
        assert entry["error"] is None, entry
        assert entry["served"] == entry["values"]
        assert [p["concurrency"] for p in entry["points"]] == [1, 4]
        # a level that did not stabilise is kept, marked, and scores nothing
        assert all(p["throughput_infer_per_sec"] > 0 for p in entry["points"]
                   if p.get("stable") is not False)
    assert {e["values"]["instance_count"] for e in record["candidates"]} == {1, 2}
    assert record["values"] in [e["values"] for e in record["candidates"]]
    # the winner's score is the mean over its measurements, each in the evidence
    mine = [e["score"] and e["score"]["value"] for e in record["candidates"]
            if e["values"] == record["values"]]
    assert len(mine) == 2 and record["score"]["values"] == mine
    # the report and the plot beside the tuned file
    report = tuned["path"].with_suffix(".md").read_text()
    assert "| baseline |" in report and "chosen" in report
    assert tuned["path"].with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the configuration served before serves again; the file and the container are as
    # they were (the repository API, not a restart); the canary passed its gate
    assert tuned["after"] == tuned["before"]
    assert "Gate the canary after tuning" in tuned["out"]


def test_site_applies_the_tuned_file_then_changes_nothing(tuned, node):
    values = tuned["record"]["values"]
    rc, out = node.run("-e", json.dumps(CONVERGE))
    assert rc == 0, out[-5000:]
    said = " ".join(out.split()).replace("''", "'")  # the callback wraps and quotes
    assert "resnet50: the tuned configuration " in said and "cpu.yml applies" in said, \
        out[-3000:]
    assert recap(out)["changed"] > 0
    now = served(node)
    assert now["instance_group"][0]["count"] == values["instance_count"]
    assert now["dynamic_batching"]["max_queue_delay_microseconds"] == \
        values["max_queue_delay_microseconds"]
    assert started_at(node) == tuned["before"]["started"]  # explicit mode: no restart

    rc, out = node.run("-e", json.dumps(CONVERGE))
    assert rc == 0, out[-5000:]
    assert recap(out)["changed"] == 0, out[-3000:]


def test_a_tuned_file_of_another_image_is_not_applied_and_the_run_says_so(tuned, node):
    record = dict(tuned["record"], image={"ref": "inferops/tritonserver:other",
                                          "id": "sha256:" + "0" * 64})
    tuned["path"].write_text(yaml.safe_dump(record))
    rc, out = node.run("-e", json.dumps(CONVERGE))
    assert rc == 0, out[-5000:]
    said = " ".join(out.split()).replace("''", "'")  # the callback wraps and quotes
    assert "resnet50: the inventory's configuration is used;" in said, out[-3000:]
    assert f"was tuned on image sha256:{'0' * 64}, this host's server image is " \
           f"{image_id(node)}" in said
    # back to the inventory's configuration (2000 us, one instance)
    now = served(node)
    assert now["dynamic_batching"]["max_queue_delay_microseconds"] == 2000
    assert now["instance_group"][0]["count"] == 1


def test_the_whole_fleet_is_refused_before_any_host_is_asked(node):
    # two inventory hosts (both the demo node under other names) in triton_nodes
    fleet = {"canary-a": {}, "canary-b": {}}
    rc, out = node.play(str(ROOT / "tune.yml"), "-e", "tune_hosts=triton_nodes",
                        hosts=fleet)
    assert rc != 0
    said = " ".join(out.split())
    assert "tune_hosts matches every host of the fleet (2); tuning takes a host's capacity" \
        in said.replace("''", "'"), out[-3000:]
    assert "Check every input of the tuning" not in out  # the pre-flight never started
