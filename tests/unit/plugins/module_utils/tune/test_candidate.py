"""Autotune's candidates as configurations, on the config the lab's real CPU server served
for the demo model (tests/fixtures/triton/config-resnet50.json, see its SOURCE.md)."""

import json
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.tune._candidate_controller import (
    CandidateError,
    blocks,
    config_for,
    current,
    default_space,
    entry_for,
)

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "triton"


@pytest.fixture()
def served():
    return json.loads((FIXTURES / "config-resnet50.json").read_text())


def test_a_candidate_changes_only_its_fields(served):
    config = config_for(served, {"instance_count": 2, "max_batch_size": 16,
                                 "max_queue_delay_microseconds": 500,
                                 "preferred_batch_size": [4, 8],
                                 "intra_op_thread_count": 1})
    assert config["instance_group"][0]["count"] == 2
    assert config["instance_group"][0]["kind"] == "KIND_CPU"
    assert config["max_batch_size"] == 16
    assert config["dynamic_batching"]["max_queue_delay_microseconds"] == 500
    assert config["dynamic_batching"]["preferred_batch_size"] == [4, 8]
    assert config["parameters"] == {"intra_op_thread_count": {"string_value": "1"}}
    untouched = {k: v for k, v in config.items()
                 if k not in ("instance_group", "max_batch_size", "dynamic_batching",
                              "parameters")}
    assert untouched == {k: v for k, v in served.items() if k in untouched}
    assert served["instance_group"][0]["count"] == 1  # the served config is not changed


def test_the_start_is_what_the_server_serves(served):
    assert current(served, ["instance_count", "max_batch_size", "max_queue_delay_microseconds",
                            "preferred_batch_size", "intra_op_thread_count"]) == {
        "instance_count": 1, "max_batch_size": 8, "max_queue_delay_microseconds": 2000,
        "preferred_batch_size": [8], "intra_op_thread_count": 0}


def test_a_round_trip_gives_the_candidate_back(served):
    candidate = {"instance_count": 3, "max_queue_delay_microseconds": 0,
                 "inter_op_thread_count": 2}
    assert current(config_for(served, candidate), list(candidate)) == candidate


@pytest.mark.parametrize(("candidate", "message"), [
    ({"threads": 2}, "threads: not a parameter autotune varies"),
    ({"instance_count": 0}, "instance_count: 0 is not a positive integer"),
    ({"instance_count": True}, "instance_count: True is not a positive integer"),
    ({"max_queue_delay_microseconds": -1}, "-1 is not a non-negative integer"),
    ({"preferred_batch_size": 4}, "preferred_batch_size: 4 is not a list"),
    ({"preferred_batch_size": [16]}, r"\[16\] exceed max_batch_size 8"),
    ({"max_batch_size": 4, "preferred_batch_size": [8]}, r"\[8\] exceed max_batch_size 4"),
    ({"migraphx_max_dynamic_batch": 64}, "does not use"),
])
def test_a_candidate_the_config_rules_out_is_refused(served, candidate, message):
    with pytest.raises(CandidateError, match=message):
        config_for(served, candidate)


def test_a_model_without_a_batch_dimension_cannot_vary_batching(served):
    served["max_batch_size"] = 0
    with pytest.raises(CandidateError, match="resnet50: max_batch_size is 0"):
        config_for(served, {"max_queue_delay_microseconds": 100})
    assert config_for(served, {"instance_count": 2})["instance_group"][0]["count"] == 2


def test_the_migraphx_parameter_goes_to_the_accelerator(served):
    served["optimization"]["execution_accelerators"] = {
        "gpu_execution_accelerator": [{"name": "migraphx", "parameters": {}}]}
    config = config_for(served, {"migraphx_max_dynamic_batch": 64})
    assert config["optimization"]["execution_accelerators"]["gpu_execution_accelerator"] == [
        {"name": "migraphx", "parameters": {"migraphx_max_dynamic_batch": "64"}}]
    assert current(config, ["migraphx_max_dynamic_batch"]) == {"migraphx_max_dynamic_batch": 64}


def test_the_default_space_follows_the_flavour_and_batching(served):
    cpu = default_space(served, "cpu")
    assert cpu == {"instance_count": [1, 2, 4], "max_batch_size": [8, 16],
                   "max_queue_delay_microseconds": [0, 100, 1000, 5000],
                   "intra_op_thread_count": [0, 1, 2]}
    rocm = dict(served, optimization={"execution_accelerators": {
        "gpu_execution_accelerator": [{"name": "migraphx", "parameters": {}}]}})
    assert default_space(rocm, "rocm")["migraphx_max_dynamic_batch"] == [8, 16]
    assert "intra_op_thread_count" not in default_space(rocm, "rocm")
    # a model without a batch dimension: instances only
    assert default_space(dict(served, max_batch_size=0), "rocm") == {"instance_count": [1, 2, 4]}


def test_an_inventory_entry_takes_a_candidate_in_its_own_form():
    entry = {"name": "m", "config": {"max_batch_size": 8}, "versions": []}
    tuned = entry_for(entry, {"instance_count": 2, "max_queue_delay_microseconds": 0,
                              "intra_op_thread_count": 1})
    assert tuned["config"] == {"max_batch_size": 8, "instance_group": [{"count": 2}],
                               "dynamic_batching": {"max_queue_delay_microseconds": 0},
                               "parameters": {"intra_op_thread_count": {"string_value": "1"}}}
    assert entry == {"name": "m", "config": {"max_batch_size": 8}, "versions": []}
    with pytest.raises(CandidateError, match="max_batch_size is 0"):
        entry_for({"name": "m", "config": {}}, {"max_queue_delay_microseconds": 0})


def test_the_blocks_a_search_varies_together():
    space = {"max_queue_delay_microseconds": [0], "instance_count": [1, 2],
             "max_batch_size": [8], "intra_op_thread_count": [0, 1],
             "preferred_batch_size": [[4]]}
    assert blocks(space) == [("max_queue_delay_microseconds",),
                             ("instance_count", "intra_op_thread_count"),
                             ("max_batch_size", "preferred_batch_size")]
    assert blocks({"instance_count": [1, 2]}) == [("instance_count",)]
