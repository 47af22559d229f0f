import json

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.common._jsonfile import (
    deep_merge,
    plan,
)


def test_merge_keeps_foreign_keys_and_merges_nested():
    current = {"registry-mirrors": ["http://mirror"], "log-opts": {"max-size": "10m", "x": "1"}}
    wanted = {"log-driver": "json-file", "log-opts": {"max-size": "50m"}}
    assert deep_merge(current, wanted) == {
        "registry-mirrors": ["http://mirror"], "log-driver": "json-file",
        "log-opts": {"max-size": "50m", "x": "1"}}


def test_plan_is_a_no_op_on_a_file_it_wrote():
    _before, after = plan(None, {"a": {"b": 1}})
    before, again = plan(after, {"a": {"b": 1}})
    assert before == again == after
    assert json.loads(after) == {"a": {"b": 1}}


def test_plan_refuses_a_non_object():
    with pytest.raises(ValueError):
        plan("[1, 2]", {"a": 1})
