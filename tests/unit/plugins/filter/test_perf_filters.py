"""The perf_analyzer filters: parse_perf_csv (and its older name perf_csv) and
parse_perf_profile, on the lab's captured outputs, and their documentation."""

import inspect
import lzma
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter import perf_csv as plugin
from ansible_collections.inferops.triton.plugins.module_utils.bench._perf import (
    parse_csv,
    summarize,
)

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "fixtures" / "perf_analyzer"
FILTERS = plugin.FilterModule().filters()


def test_the_filter_names():
    assert set(FILTERS) == {"parse_perf_csv", "perf_csv", "parse_perf_profile"}
    assert FILTERS["perf_csv"] is FILTERS["parse_perf_csv"]


@pytest.mark.parametrize("name", ["parse_perf_csv", "perf_csv"])
def test_parse_perf_csv(name):
    text = (FIXTURES / "lab-http-concurrency-verbose-metrics-b1.csv").read_text()
    rows = FILTERS[name](text)
    assert rows == parse_csv(text)
    assert rows[0]["Avg GPU Utilization"] is None
    summary = FILTERS[name](text, summary=True)
    assert summary == summarize(parse_csv(text))
    assert [r["concurrency"] for r in summary] == [2, 1]


def test_parse_perf_profile():
    text = lzma.decompress(
        (FIXTURES / "lab-grpc-request-rate-plain-b1.profile.json.xz").read_bytes()).decode()
    run = FILTERS["parse_perf_profile"](text)
    assert [(e["mode"], e["value"], e["stable_request_count"]) for e in run["experiments"]] \
        == [("request_rate", 2.0, 14), ("request_rate", 4.0, 27)]
    assert run["measured_seconds"] == pytest.approx(14.4345, abs=1e-3)


@pytest.mark.parametrize("name, text, message", [
    ("parse_perf_csv", "foo,bar\n1,2\n", "not a perf_analyzer CSV"),
    ("perf_csv", "", "not a perf_analyzer CSV"),
    ("parse_perf_profile", "{}", "not a perf_analyzer profile export"),
    ("parse_perf_profile", "Concurrency,Inferences/Second\n", "not a perf_analyzer profile"),
])
def test_errors_are_filter_errors(name, text, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS[name](text)


def _docs():
    """Each filter's documentation: the .yml of its name beside the plugin file (which
    carries none itself, or ansible-doc would show it for all three)."""
    assert not hasattr(plugin, "DOCUMENTATION")
    return {name: yaml.safe_load((ROOT / "plugins" / "filter" / f"{name}.yml").read_text())
            ["DOCUMENTATION"] for name in FILTERS}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_is_documented_with_its_options(name):
    doc = _docs()[name]
    assert doc["name"] == name
    params = list(inspect.signature(FILTERS[name]).parameters)
    assert set(doc["options"]) == {"_input", *params[1:]}
    for option, spec in doc["options"].items():
        if option != "_input":
            default = inspect.signature(FILTERS[name]).parameters[option].default
            assert spec.get("default") == default
