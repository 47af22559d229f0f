"""The rollout filters wrap module_utils/rollout/_rollout_controller.py: errors become
filter errors, and each filter has its documentation beside the plugin."""

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter import rollout as plugin

FILTERS = plugin.FilterModule().filters()
DOCS = Path(plugin.__file__).parent


def test_the_summary_filter_takes_the_role_s_arguments():
    summary = FILTERS["rollout_summary"](["a", "b"], {"a": {"outcome": "updated"}, "b": None},
                                         batches=[["a"]], rollout_id="r",
                                         max_fail_percentage="25", stopped=False)
    assert [row["outcome"] for row in summary["hosts"]] == ["updated", "not reached"]
    assert summary["max_fail_percentage"] == 25.0


def test_errors_become_filter_errors():
    with pytest.raises(AnsibleFilterError, match="rollout_max_fail_percentage: 'x'"):
        FILTERS["rollout_should_stop"](["updated"], "x")
    with pytest.raises(AnsibleFilterError, match="outcome 'odd'"):
        FILTERS["rollout_summary"](["a"], {"a": {"outcome": "odd"}})


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_is_documented(name):
    doc = yaml.safe_load((DOCS / f"{name}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    assert doc["EXAMPLES"].strip() and doc["RETURN"]["_value"]["description"]
