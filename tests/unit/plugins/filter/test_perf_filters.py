"""The perf_analyzer filters: parse_perf_csv (and its older name perf_csv) and
parse_perf_profile, on the lab's captured outputs, and their documentation (with
benchmark_host_summary's, as ansible-doc shows it)."""

import inspect
import json
import lzma
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter import (
    benchmark_host_summary as host_summary_plugin,
)
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


def test_parse_perf_csv_request_rate():
    """Request-rate mode: the first column is the rate, the summary key request_rate."""
    text = (FIXTURES / "lab-grpc-request-rate-plain-b1.csv").read_text()
    summary = FILTERS["parse_perf_csv"](text, summary=True)
    assert sorted(r["request_rate"] for r in summary) == [2, 4]
    assert all("concurrency" not in r for r in summary)
    assert [r["Request Rate"] for r in FILTERS["parse_perf_csv"](text)] \
        == [r["request_rate"] for r in summary]


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


def _sidecar(name):
    return yaml.safe_load((ROOT / "plugins" / "filter" / f"{name}.yml").read_text())


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_s_examples_are_named_tasks_that_use_it(name):
    sidecar = _sidecar(name)
    tasks = yaml.safe_load(sidecar["EXAMPLES"])
    assert tasks and all(task.get("name") for task in tasks)
    assert f"inferops.triton.{name}" in sidecar["EXAMPLES"]
    assert sidecar["RETURN"]["_value"]["description"]


def ansible_doc(names, cwd):
    """ansible-doc's JSON for filters of the collection, by short name, as the tests install
    it (build/collections)."""
    env = {key: value for key, value in os.environ.items() if key != "ANSIBLE_CONFIG"}
    env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / "build" / "collections")
    proc = subprocess.run([sys.executable, "-m", "ansible.cli.doc", "--json", "-t", "filter",
                           *(f"inferops.triton.{name}" for name in names)],
                          capture_output=True, text=True, env=env, cwd=cwd, check=False,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_ansible_doc_shows_each_bench_filter_s_own_documentation(tmp_path):
    """ansible-doc finds each bench filter by its FQCN and shows its own documentation: the
    sidecar of the perf filters (their plugin file carries none), benchmark_host_summary's
    inline."""
    docs = ansible_doc([*sorted(FILTERS), "benchmark_host_summary"], tmp_path)
    for name in FILTERS:
        entry = docs[f"inferops.triton.{name}"]
        assert entry["doc"]["name"] == name
        assert set(entry["doc"]["options"]) == set(_docs()[name]["options"])
        assert entry["examples"].strip() == _sidecar(name)["EXAMPLES"].strip()
        assert entry["return"]["_value"]["description"]
    entry = docs["inferops.triton.benchmark_host_summary"]
    inline = yaml.safe_load(host_summary_plugin.DOCUMENTATION)
    assert entry["doc"]["name"] == "benchmark_host_summary"
    assert set(entry["doc"]["options"]) == set(inline["options"])
    assert entry["examples"].strip() == host_summary_plugin.EXAMPLES.strip()


def test_benchmark_sweep_filter_wraps_the_sweep():
    from ansible_collections.inferops.triton.plugins.filter.benchmark_sweep import FilterModule
    sweep_filter = FilterModule().filters()["benchmark_sweep"]
    plan = sweep_filter(["resnet50"], [1, 2], concurrency_range="1:2", request_rate_range="")
    assert [c["title"] for c in plan["cells"]] == [
        "Cell 1/2 (1 after it): resnet50 batch 1, concurrency 1:2",
        "Cell 2/2 (0 after it): resnet50 batch 2, concurrency 1:2"]
    assert sweep_filter(["m"], [4], request_rate_range="5")["load"] == "request_rate"
    assert sweep_filter(["m"], [4], None, None)["range"] == "1"
