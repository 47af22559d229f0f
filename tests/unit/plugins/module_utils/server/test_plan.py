"""server/_plan: how the running servers take a run's changes, and what the repository API
refused. The role's YAML reads both through filters and restates neither."""

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.server._plan import (
    change_plan,
    refusals,
)


@pytest.mark.parametrize(("image", "repository", "mode", "restart"), [
    (True, False, "none", True),
    (True, False, "explicit", True),
    (True, False, "poll", True),
    (False, True, "none", True),
    (False, True, "explicit", False),  # loaded live through the repository API
    (False, True, "poll", False),      # the server polls the repository itself
    (False, False, "none", False),
])
def test_a_new_image_restarts_and_a_changed_repository_only_in_none_mode(
        image, repository, mode, restart):
    plan = change_plan(image, repository, mode, [], [])
    assert plan["restart"] is restart
    assert plan["serves_changed"] is (image or repository)


def test_explicit_mode_with_models_to_change_gates_after_the_repository_api():
    plan = change_plan(False, True, "explicit", ["resnet50", "bert"], ["bert", "old"])
    assert plan["loads"] == ["resnet50"]  # a model both changed and removed is only unloaded
    assert plan["unloads"] == ["bert", "old"]
    assert plan["gate_in_service"] is False
    assert change_plan(False, True, "explicit", [], ["old"])["gate_in_service"] is False
    assert change_plan(False, False, "explicit", [], [])["gate_in_service"] is True
    # other modes gate in the service call whatever changed
    assert change_plan(False, True, "none", ["resnet50"], [])["gate_in_service"] is True
    assert change_plan(False, True, "poll", ["resnet50"], ["x"])["gate_in_service"] is True


UNIT0 = {"unit": "triton-server@0", "url": "http://127.0.0.1:8000"}
UNIT1 = {"unit": "triton-server@1", "url": "http://127.0.0.1:8010"}


def test_refusals_name_the_model_and_tritons_error_and_skip_what_was_accepted():
    # what ansible.builtin.uri registers per loop item (failed_when: false): status, json (the
    # body Triton answered), msg (a request that got no answer), skipped (check mode)
    results = [
        {"item": [UNIT0, "resnet50"], "status": 200, "json": {}},
        {"item": [UNIT0, "bert"], "status": 400,
         "json": {"error": "what Triton said"}},
        {"item": [UNIT0, "gone"], "status": -1,
         "msg": "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] "
                "Connection refused>"},
        {"item": [UNIT0, "teapot"], "status": 418},
        {"item": [UNIT0, "later"], "skipped": True, "skip_reason": "Conditional result was False"},
    ]
    assert refusals(results, 1) == [
        "bert: what Triton said",
        "gone: Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] "
        "Connection refused>",
        "teapot: HTTP 418",
    ]
    assert refusals([], 1) == []
    assert refusals(None, 1) == []


def test_refusals_name_the_unit_when_the_host_runs_several_servers():
    results = [{"item": [UNIT1, "bert"], "status": 400, "json": {"error": "no such model"}}]
    assert refusals(results, 2) == ["bert on triton-server@1: no such model"]
