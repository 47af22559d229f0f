"""The tuned file (module_utils/tune/_record_controller.py): made from a tuning run's
result, read back from a directory, and applied to triton_models only on the hosts of its
target and image, with the reason where it is not; the canary rule; the Pareto front.

The run is tune() over the lab's served configuration (tests/fixtures/triton/
config-resnet50.json) against test_tune_run's server surface; the inventory entry is the
demo's (inventory/demo/group_vars)."""

import copy
from pathlib import Path

import pytest
import yaml
from test_tune_run import OBJECTIVE, Server

from ansible_collections.inferops.triton.plugins.module_utils.tune._record_controller import (
    TuneError,
    canary_refusal,
    load_records,
    make_record,
    messages,
    pareto,
    record_path,
    target_of,
    tuned_models,
)
from ansible_collections.inferops.triton.plugins.module_utils.tune._tune_controller import tune

ROOT = Path(__file__).resolve().parents[5]
FIXTURES = ROOT / "tests" / "fixtures" / "triton"
IMAGE = {"ref": "inferops/tritonserver:cpu", "id": "sha256:" + "a" * 64}
SPACE = {"instance_count": [1, 2], "max_queue_delay_microseconds": [0, 500]}


def demo_models():
    text = (ROOT / "inventory" / "demo" / "group_vars" / "triton_nodes.yml").read_text()
    return yaml.safe_load(text)["triton_models"]


@pytest.fixture()
def record():
    served = yaml.safe_load((FIXTURES / "config-resnet50.json").read_text())
    server = Server()
    outcome = tune(served, SPACE, OBJECTIVE, server.load, server.measure,
                   baseline={"instance_count": 1, "max_queue_delay_microseconds": 100})
    return make_record("resnet50", "cpu", IMAGE, outcome, "node1",
                       {"rocm": None, "perf_analyzer": "perf_analyzer 2.60.0"},
                       "2026-12-07T10:00:00Z", "2026-12-07T10:05:00Z")


def write(root, record):
    path = Path(record_path(str(root), record["model"], record["target"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(record))
    return path


def test_the_record_holds_the_winner_and_the_evidence(record):
    assert record["values"] == {"instance_count": 2, "max_queue_delay_microseconds": 500}
    assert record["image"] == IMAGE and record["target"] == "cpu"
    assert record["baseline"]["values"] == {"instance_count": 1,
                                            "max_queue_delay_microseconds": 100}
    tuned = record["tuned"]
    assert tuned["grid"] == 4 and tuned["measurements"] == len(record["candidates"])
    assert tuned["measurements"] <= tuned["budget"]
    assert tuned["noise"] == {"given": 0.03, "measured": 0.0, "used": 0.03}
    assert record["values"] in tuned["finalists"]
    assert tuned["perf_analyzer_version"] == "perf_analyzer 2.60.0"
    assert all(c["served"] == c["values"] for c in record["candidates"])
    # the winner's score: the mean of its measurements, each kept in the evidence
    mine = [c["score"]["value"] for c in record["candidates"] if c["values"] == record["values"]]
    assert record["score"]["values"] == mine and len(mine) == 2
    assert record["score"]["value"] == pytest.approx(sum(mine) / 2)


def test_a_matching_file_gives_the_entry_its_values(tmp_path, record):
    path = write(tmp_path, record)
    tuning = tuned_models(demo_models(), load_records(str(tmp_path)), "cpu", {}, IMAGE["id"])
    entry = tuning["models"][0]
    assert entry["config"]["instance_group"] == [{"kind": "KIND_GPU", "count": 2,
                                                  "gpus": [0]}]
    assert entry["config"]["dynamic_batching"] == {"max_queue_delay_microseconds": 500}
    assert tuning["applied"] == [{"model": "resnet50", "file": str(path),
                                  "values": record["values"]}]
    assert messages(tuning) == [f"resnet50: the tuned configuration {path} applies "
                                "(instance_count=2, max_queue_delay_microseconds=500)"]
    # the rest of the entry is the inventory's
    assert entry["versions"] == demo_models()[0]["versions"]
    assert entry["accelerator"] == demo_models()[0]["accelerator"]


@pytest.mark.parametrize(("flavour", "rocm", "image", "reason"), [
    ("cpu", {}, "sha256:" + "b" * 64,
     "was tuned on image sha256:" + "a" * 64 + ", this host's server image is sha256:bbbb"),
    ("cpu", {}, None, "this host's server image is unknown"),
    ("rocm", {"gfx_targets": ["gfx942"]}, IMAGE["id"],
     "tuned for target cpu, this host's is gfx942"),
    ("rocm", {"gfx_targets": []}, IMAGE["id"], "this host's is unknown (the host reports no GPU"),
])
def test_a_file_of_another_image_or_target_leaves_the_inventory_s(tmp_path, record, flavour,
                                                                  rocm, image, reason):
    write(tmp_path, record)
    models = demo_models()
    tuning = tuned_models(models, load_records(str(tmp_path)), flavour, rocm, image)
    assert tuning["models"] == models and tuning["applied"] == []
    [line] = messages(tuning)
    assert line.startswith("resnet50: the inventory's configuration is used; ")
    assert reason in line, line


def test_models_without_files_are_not_mentioned_and_need_no_target(tmp_path):
    models = demo_models()
    # a rocm host without GPUs: no file, so its target is never asked for
    tuning = tuned_models(models, load_records(str(tmp_path / "none")), "rocm", {}, None)
    assert tuning == {"models": models, "applied": [], "fallback": []}


def test_a_file_whose_search_met_no_objective_applies_nowhere(tmp_path, record):
    write(tmp_path, dict(record, values=None, score=None))
    tuning = tuned_models(demo_models(), load_records(str(tmp_path)), "cpu", {}, IMAGE["id"])
    assert tuning["applied"] == []
    assert "found no configuration meeting its objective" in messages(tuning)[0]


def test_per_gpu_instances_and_the_accelerator_keep_their_place(tmp_path, record):
    entry = copy.deepcopy(demo_models()[0])
    del entry["config"]["instance_group"]
    entry["instances_per_gpu"] = 1
    record = dict(record, target="gfx942",
                  values={"instance_count": 3, "migraphx_max_dynamic_batch": 16})
    write(tmp_path, record)
    tuning = tuned_models([entry], load_records(str(tmp_path)), "rocm",
                          {"gfx_targets": ["gfx942"]}, IMAGE["id"])
    tuned = tuning["models"][0]
    assert tuned["instances_per_gpu"] == 3 and "instance_group" not in tuned["config"]
    assert tuned["accelerator"]["parameters"]["migraphx_max_dynamic_batch"] == 16


@pytest.mark.parametrize(("change", "words"), [
    ({"format": 2}, "not a tuned file of format 1 (found 2)"),
    ({"image": {"ref": "x"}}, "has no id"),
    ({"values": [1]}, "values [1] is not a mapping"),
    ({"target": "gfx90a"}, "holds model resnet50 on target gfx90a, which belongs in"),
])
def test_a_bad_file_is_refused_naming_it(tmp_path, record, change, words):
    path = write(tmp_path, record)
    path.write_text(yaml.safe_dump(dict(record, **change)))
    with pytest.raises(TuneError, match="^" + str(path)) as caught:
        load_records(str(tmp_path))
    assert words in str(caught.value)


def test_an_unreadable_file_is_refused_naming_it(tmp_path, record):
    path = write(tmp_path, record)
    path.write_text("model: [resnet50\n")
    with pytest.raises(TuneError, match=f"^{path}: not a readable tuned file"):
        load_records(str(tmp_path))


def test_the_target_is_the_gfx_name_or_cpu():
    assert target_of("cpu", {"gfx_targets": ["gfx942"]}) == "cpu"
    assert target_of("rocm", {"gfx_targets": ["gfx942"]}) == "gfx942"
    assert target_of("rocm", {"gfx_targets": ["gfx942", "gfx90a"]}) == "gfx90a+gfx942"
    with pytest.raises(TuneError, match="reports no GPU target"):
        target_of("rocm", {"gfx_targets": []})


def test_the_whole_fleet_is_never_tuned_at_once():
    assert canary_refusal(["n1"], ["n1", "n2", "n3"]) is None
    assert canary_refusal(["n1"], ["n1"]) is None  # a fleet of one is its own canary
    fleet = ["n1", "n2", "n3"]
    assert "matches every host of the fleet (3)" in canary_refusal(fleet, fleet)
    assert canary_refusal([], ["n1"]) == "tune_hosts matches no host of the inventory"


def test_the_pareto_front_keeps_the_points_nothing_beats():
    points = [{"throughput_infer_per_sec": t, "p99_latency_us": us}
              for t, us in ((10, 1000), (20, 3000), (15, 4000), (30, 9000), (25, 9000))]
    front = pareto(points)
    assert [(p["throughput_infer_per_sec"], p["p99_latency_us"]) for p in front] == [
        (10, 1000), (20, 3000), (30, 9000)]


def test_tune_writes_where_site_reads():
    """tune_dir and model_repository_tuned_dir: two roles, one directory."""
    tune = yaml.safe_load((ROOT / "roles" / "tune" / "defaults" / "main.yml").read_text())
    models = yaml.safe_load((ROOT / "roles" / "model_repository" / "defaults" / "main.yml")
                            .read_text())
    assert tune["tune_dir"] == models["model_repository_tuned_dir"] == "{{ inventory_dir }}/.tuned"


def test_the_report_of_captured_tuned_files():
    """Files tune.yml wrote in the lab (tests/fixtures/tune/SOURCE.md)."""
    from ansible_collections.inferops.triton.plugins.module_utils.tune._report_controller import (
        render_md,
    )
    search = yaml.safe_load((ROOT / "tests" / "fixtures" / "tune" / "search-cpu.yml").read_text())
    report = render_md(search)
    assert ("measured 8 times; the grid has 36 candidates (coordinate search, 1 pass(es)); "
            "noise: 1.1% between the start's two measurements, threshold 3.0%") in report
    assert "max_queue_delay_microseconds=2000 (18.4 mean of 18.3, 18.5)" in report
    assert ("| baseline | instance_count=1, max_queue_delay_microseconds=100 | - | - | - | "
            "no load level stabilised (perf_analyzer's max_trials) |") in report
    given = yaml.safe_load((ROOT / "tests" / "fixtures" / "tune" / "given-cpu.yml").read_text())
    report = render_md(given)
    assert "measured 9 times, the given candidates" in report
    assert "(19.0 mean of 18.8, 18.3, 20.0)" in report
    assert report.count("| chosen |") == 3
