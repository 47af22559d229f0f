"""The triton_server role's filters wrap module_utils/server: the role's YAML calls them and
restates none of their rules; each filter has its documentation beside the plugin."""

from pathlib import Path

import pytest
import yaml

from ansible_collections.inferops.triton.plugins.filter import triton_server as plugin

FILTERS = plugin.FilterModule().filters()
DOCS = Path(plugin.__file__).parent


def test_the_header_goes_only_with_restricted_apis():
    headers = FILTERS["triton_api_headers"]
    assert headers(["model-repository"], "Triton-Admin-Key", "s3cret") == {
        "Triton-Admin-Key": "s3cret"}
    assert headers([], "Triton-Admin-Key", "s3cret") == {}
    assert headers(None, "Triton-Admin-Key", "s3cret") == {}
    # an unset value (the role's default, or none at all) is sent empty, never as "None"
    assert headers(["health"], "infer-key", None) == {"infer-key": ""}
    assert headers(["health"]) == {"Triton-Admin-Key": ""}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_is_documented(name):
    doc = yaml.safe_load((DOCS / f"{name}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    assert doc["EXAMPLES"].strip() and doc["RETURN"]["_value"]["description"]


def test_the_journal_filter_is_the_module_s_rule():
    from ansible_collections.inferops.triton.plugins.module_utils.server._service import (
        journal_errors,
    )

    text = (Path(__file__).resolve().parents[3] / "fixtures" / "journal" /
            "wrong-output-name.txt").read_text()
    errors = FILTERS["triton_journal_errors"](text)
    assert errors == journal_errors(text) and "error: creating server: Internal - failed to " \
        "load all models" in errors
    assert FILTERS["triton_journal_errors"](text, 1) == errors[:1]
    assert FILTERS["triton_journal_errors"](None) == []
