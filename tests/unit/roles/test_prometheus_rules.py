"""The Prometheus alerting rules and the Grafana dashboard that roles/prometheus ships.

promtool is Debian's (tools/promtool.sh: `apt-get download prometheus`, unpacked under
build/promtool); the tests that need it skip, saying why, only when it cannot be had.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "roles" / "prometheus" / "files" / "inferops-triton.rules.yml"
DASHBOARD = ROOT / "roles" / "prometheus" / "files" / "grafana" / "inferops-triton.json"
TESTS = ROOT / "tests" / "prometheus"
FIXTURES = ROOT / "tests" / "fixtures"
AMD_DOCS = ROOT.parent / "shared" / "upstream" / "rocm-device-metrics-exporter-docs.tar.gz"
RULE_TESTS = sorted(TESTS.glob("*.test.yml"))


@pytest.fixture(scope="session")
def promtool():
    proc = subprocess.run([str(ROOT / "tools" / "promtool.sh")], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        pytest.skip("promtool cannot be had here (tools/promtool.sh: "
                    f"{(proc.stderr.strip().splitlines() or ['no output'])[-1]})")
    return proc.stdout.strip().splitlines()[-1]


def _run(promtool, *args):
    return subprocess.run([promtool, *args], capture_output=True, text=True, check=False,
                          cwd=ROOT)


def _rules():
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"]]


def test_promtool_checks_the_rules(promtool):
    done = _run(promtool, "check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in done.stdout


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda path: path.name)
def test_promtool_rule_unit_tests_pass(promtool, test_file):
    done = _run(promtool, "test", "rules", str(test_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_the_triton_series_are_the_captures():
    """The input series of the Triton tests are what series.py makes of the raw capture."""
    done = subprocess.run([sys.executable, str(TESTS / "make_tests.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_every_alert_is_tested_firing_and_not_firing():
    fired, quiet = set(), set()
    for path in RULE_TESTS:
        for group in yaml.safe_load(path.read_text())["tests"]:
            for case in group.get("alert_rule_test", []):
                (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    alerts = {rule["alert"] for rule in _rules()}
    assert alerts - fired == set(), "never seen firing"
    assert alerts - quiet == set(), "never seen quiet"


def test_every_alert_has_a_severity_and_names_host_and_service():
    for rule in _rules():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        for key in ("summary", "description"):
            text = rule["annotations"][key]
            assert "$labels.host" in text, (rule["alert"], key)
        assert "$labels.service" in rule["annotations"]["description"], rule["alert"]
        gpu = "$labels.gpu" if rule["alert"].startswith("Triton") else "$labels.gpu_id"
        if "ExporterDown" not in rule["alert"]:
            assert gpu in rule["annotations"]["summary"] + rule["annotations"]["description"]


# --- metric names: only what the sources expose ------------------------------------------

def _triton_names():
    """Every metric family Triton exposed in the lab's captures."""
    names = set()
    for path in (FIXTURES / "triton").glob("metrics-*.txt"):
        names |= set(re.findall(r"^# TYPE (\w+) ", path.read_text(), re.M))
    assert "nv_inference_count" in names
    return names


def _amd_names():
    """AMD's metrics list, lower-case as the exporter exposes the fields."""
    if not AMD_DOCS.exists():
        pytest.skip(f"AMD's exporter docs are not here ({AMD_DOCS}; see ../shared/upstream)")
    with tarfile.open(AMD_DOCS) as tar:
        member = next(m for m in tar.getmembers()
                      if m.name.endswith("docs/configuration/metricslist.md"))
        text = tar.extractfile(member).read().decode()
    return {name.lower() for name in re.findall(r"\b((?:GPU|PCIE)_[A-Z0-9_]+)\b", text)}


def _selectors(expr: str) -> set[str]:
    """The metric names of an expression's selectors (every selector here has braces)."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{", bare))


def _dashboard():
    return json.loads(DASHBOARD.read_text())


def _dashboard_exprs():
    board = _dashboard()
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    exprs += [v["query"]["query"] for v in board["templating"]["list"]]
    return exprs


def test_rules_and_dashboard_use_only_known_metric_names():
    known = _triton_names() | _amd_names() | {"up"}
    used = set()
    for rule in _rules():
        used |= _selectors(rule["expr"])
    for expr in _dashboard_exprs():
        used |= _selectors(expr)
    assert used - known == set()
    assert {"nv_inference_queue_duration_us", "gpu_edge_temperature", "gpu_gfx_activity",
            "gpu_package_power", "gpu_used_vram"} <= used


def test_every_rule_selector_is_named():
    """No selector without a metric name in the braces form, which the check above would miss."""
    for rule in _rules():
        bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', rule["expr"])
        assert not re.search(r"(^|[^\w])\{", bare), rule["alert"]


# --- the dashboard -----------------------------------------------------------------------

def test_dashboard_is_an_importable_grafana_dashboard():
    board = _dashboard()
    assert [i["name"] for i in board["__inputs"]] == ["DS_PROMETHEUS"]
    assert {v["name"] for v in board["templating"]["list"]} == {"host", "model"}
    targets = [t for p in board["panels"] for t in p.get("targets", [])]
    assert targets
    for panel in board["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
    assert all(t["datasource"]["uid"] == "${DS_PROMETHEUS}" for t in targets)
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
    titles = " ".join(p["title"] for p in board["panels"])
    for word in ("Throughput", "latency", "activity", "power", "memory"):
        assert word in titles


def test_dashboard_joins_triton_and_exporter_on_host_and_gpu():
    exprs = [t["expr"] for p in _dashboard()["panels"] for t in p.get("targets", [])]
    for expr in exprs:
        assert '$host' in expr, expr
    gpu_exprs = [e for e in exprs if "amd-gpu-exporter" in e]
    assert gpu_exprs
    for expr in gpu_exprs:
        assert "on (host" in expr and '"gpu_id"' in expr and "nv_inference_count" in expr


def test_dashboard_queries_parse_as_promql(promtool, tmp_path):
    """promtool 2.42 has no standalone PromQL parser; a rule file of recording rules, one
    per query (Grafana's variables replaced by values), is parsed by `promtool check rules`."""
    values = {"$__rate_interval": "5m", "$host": ".*", "$model": ".*"}
    rules = []
    for index, expr in enumerate(_dashboard_exprs()):
        for name, value in values.items():
            expr = expr.replace(name, value)
        if expr.startswith("label_values("):  # Grafana's function: check the selector
            expr = expr[len("label_values("):].rsplit(",", 1)[0]
        rules.append({"record": f"inferops:dashboard_query_{index}", "expr": expr})
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = _run(promtool, "check", "rules", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
