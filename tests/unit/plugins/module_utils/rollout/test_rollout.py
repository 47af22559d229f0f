"""A rollout's summary and stop rule, on the records of a real lab rollout
(tests/fixtures/rollout/SOURCE.md)."""

import json
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.rollout._rollout_controller import (
    RolloutError,
    should_stop,
    summarize,
)

FIXTURE = Path(__file__).resolve().parents[4] / "fixtures" / "rollout" / "lab-batch1-stopped.json"


@pytest.fixture()
def lab():
    return json.loads(FIXTURE.read_text())


def test_every_host_is_listed_in_inventory_order_with_not_reached_for_the_rest(lab):
    summary = summarize(lab["hosts"], lab["records"], lab["batches"], "lab", 0, True)
    assert [row["host"] for row in summary["hosts"]] == lab["hosts"]
    assert [row["outcome"] for row in summary["hosts"]] == [
        "updated", "rolled back", "not reached", "not reached"]
    assert summary["counts"] == {"updated": 1, "current": 0, "rolled back": 1,
                                 "rollback failed": 0, "not reached": 2}
    assert summary["stopped"] is True


def test_the_table_names_the_images_before_and_after_and_the_failure(lab):
    lines = summarize(lab["hosts"], lab["records"], lab["batches"], "lab", 0, True)["lines"]
    assert lines[0] == "rollout lab: 1 updated, 1 rolled back, 2 not reached - stopped"
    assert lines[1] == ("inferops-fleet-node1: updated (batch 1); inferops/tritonserver:cpu "
                        "(8494fb1a8a9b) -> inferops/tritonserver:cpu-2 (7e273b6fdab5)")
    assert lines[2].startswith("inferops-fleet-node2: rolled back (batch 1); "
                               "inferops/tritonserver:cpu (8494fb1a8a9b) -> "
                               "inferops/tritonserver:cpu (8494fb1a8a9b); failed at Run the server")
    assert "onnxruntime_cpu" in lines[2]
    assert lines[3:] == ["inferops-fleet-node3: not reached", "inferops-fleet-node4: not reached"]


def test_changed_models_and_a_failed_rollback_are_shown(lab):
    records = dict(lab["records"])
    records["inferops-fleet-node1"] = dict(records["inferops-fleet-node1"],
                                           models_changed=["resnet50"])
    records["inferops-fleet-node2"] = dict(records["inferops-fleet-node2"],
                                           outcome="rollback failed",
                                           rollback_error="Gate the old version: not ready")
    lines = summarize(lab["hosts"], records, lab["batches"], "lab", 0, True)["lines"]
    assert lines[1].endswith("; models resnet50")
    assert lines[2].startswith("inferops-fleet-node2: rollback failed (batch 1)")
    assert lines[2].endswith("; rollback failed at Gate the old version: not ready")


def test_a_record_with_an_unknown_outcome_is_refused(lab):
    records = dict(lab["records"])
    records["inferops-fleet-node1"] = dict(records["inferops-fleet-node1"], outcome="done")
    with pytest.raises(RolloutError, match="inferops-fleet-node1: rollout_result.outcome 'done'"):
        summarize(lab["hosts"], records, lab["batches"], "lab", 0, False)


def test_a_host_without_a_batch_shows_none():
    summary = summarize(["a"], {"a": {"outcome": "current"}}, [], "r", 0, False)
    assert summary["lines"] == ["rollout r: 1 current", "a: current; - (-) -> - (-)"]


@pytest.mark.parametrize(("outcomes", "limit", "stop"), [
    (["updated", "rolled back"], 0, True),          # any failure stops at 0
    (["updated", "current"], 0, False),
    (["updated", "rolled back"], 50, False),        # 50% failed is not past 50%
    (["rolled back", "rolled back", "updated"], 50, True),
    (["rollback failed"], 99.9, True),
    (["updated"], 100, False),
    ([], 0, False),
])
def test_the_stop_rule_counts_a_batch_as_max_fail_percentage_does(outcomes, limit, stop):
    assert should_stop(outcomes, limit) is stop


@pytest.mark.parametrize("limit", [-1, 101, "many", None])
def test_a_bad_max_fail_percentage_is_named(limit):
    with pytest.raises(RolloutError, match=r"max_fail_percentage: .* (not a number|not between)"):
        should_stop(["updated"], limit)
