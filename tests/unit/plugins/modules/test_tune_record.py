"""The tune_record module: the tuned file (and its report and plot) from a tuning run's
result, written once, shown as a diff, and not written in check mode. The result is tune()
over the lab's served configuration against test_tune_run's server surface."""

import json
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.inferops.triton.plugins.module_utils.tune._tune_controller import tune
from ansible_collections.inferops.triton.plugins.modules import tune_record

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "module_utils" / "tune"))
from test_tune_run import OBJECTIVE, Server  # noqa: E402

SERVED = json.loads((HERE.parents[3] / "fixtures" / "triton" / "config-resnet50.json")
                    .read_text())
VERSIONS = {"results": [{"item": "node1", "stdout": "perf_analyzer 2.60.0", "stderr": ""}]}


def run(capsys, check_mode=False, diff=False, **params):
    params.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(params), pytest.raises(SystemExit):
        tune_record.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture()
def params(tmp_path):
    server = Server()
    outcome = tune(SERVED, {"instance_count": [1, 2], "max_queue_delay_microseconds": [0, 500]},
                   OBJECTIVE, server.load, server.measure,
                   baseline={"instance_count": 1, "max_queue_delay_microseconds": 100})
    return dict(dir=str(tmp_path / "tuned"), model="resnet50", target="cpu",
                image={"ref": "inferops/tritonserver:cpu", "id": "sha256:" + "a" * 64},
                result=outcome, host="node1", rocm={"rocm_version": None},
                perf_versions=VERSIONS, started="2026-12-07T10:00:00Z",
                ended="2026-12-07T10:05:00Z")


def test_check_mode_writes_nothing_and_says_what_would_change(capsys, params, tmp_path):
    out = run(capsys, check_mode=True, diff=True, **params)
    assert out["changed"] is True and not (tmp_path / "tuned").exists()
    assert "values:\n  instance_count: 2\n" in out["diff"]["after"]
    assert out["diff"]["before"] == ""


def test_the_tuned_file_its_report_and_plot_are_written(capsys, params, tmp_path):
    out = run(capsys, **params)
    path = tmp_path / "tuned" / "resnet50" / "cpu.yml"
    assert out["changed"] is True and out["path"] == str(path)
    text = path.read_text()
    assert text.startswith("# Written by inferops.triton's tune.yml.")
    record = yaml.safe_load(text)
    chosen = {"instance_count": 2, "max_queue_delay_microseconds": 500}
    assert record["values"] == out["values"] == chosen
    assert record["tuned"]["perf_analyzer_version"] == "perf_analyzer 2.60.0"
    report = path.with_suffix(".md").read_text()
    assert report == out["report"]
    assert "| baseline | instance_count=1, max_queue_delay_microseconds=100 | 100.0 |" in report
    assert "| instance_count=2, max_queue_delay_microseconds=500 | 240.0 | 80.0 | 4 | chosen |" \
        in report
    assert path.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the same result again changes nothing
    assert run(capsys, **params)["changed"] is False


def test_the_tuned_file_passes_yamllint(capsys, params, tmp_path):
    """Users lint their inventories; the tuned file lives in one."""
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    run(capsys, **params)
    text = (tmp_path / "tuned" / "resnet50" / "cpu.yml").read_text()
    config = YamlLintConfig(file=str(HERE.parents[4] / ".yamllint"))  # the project's rules
    assert [str(problem) for problem in linter.run(text, config)] == []
    assert "candidates:\n  - values:\n" in text
