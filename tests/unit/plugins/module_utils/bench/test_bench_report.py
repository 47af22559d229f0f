"""The fleet report and the regression gate (bench/_report_controller.py and the load,
compare and render files it is made of), fed with perf_analyzer CSVs captured in the lab
(tests/fixtures/perf_analyzer/SOURCE.md).

Each test lays out a run the way the benchmark role leaves it on the controller,
``<results>/<run id>/<host>/`` with the raw CSVs and a ``summary.json`` made from them by
``_perf.summarize`` and ``_results_controller.host_summary``, as the role makes it. Where
one side has to be slower, it is the other captured file (the batch-8 run is faster in
infer/s and slower in p99 than the batch-1 run), or a captured value scaled in the test,
said so where it is done.
"""

import csv
import json
import shutil
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.bench._compare_controller import (
    compare,
    validate_thresholds,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._load_controller import (
    NUMBER_KEYS,
    fleet_rows,
    load_run,
    resolve_baseline,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._observe import (
    gpu_cell,
    gpu_reading,
    inferences_per_joule,
    server_delta,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._perf import (
    parse_csv,
    summarize,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._render_controller import (
    CELL_CSV_COLUMNS,
    CSV_COLUMNS,
    plot_png,
    regression_message,
    render_report_md,
    write_summary_csv,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._report_controller import (
    OUTPUT_FILES,
    make_report,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._results_controller import (
    BenchReportError,
    host_metadata,
    host_summary,
)

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "perf_analyzer"
B1 = "lab-grpc-concurrency-b1.csv"
B8 = "lab-grpc-concurrency-b8.csv"
RUN = "20261202T081500Z"
BASE = "20261201T081500Z"


def captured(name):
    return summarize(parse_csv((FIXTURES / name).read_text()))


def write_host(run_dir, host, cells, run_id=None, unstable=(), scale=None, observed=None):
    """``cells``: {batch size: captured CSV name}; ``unstable``: the cells' load levels that
    did not stabilise, ``{model, batch_size, concurrency}``; ``observed``: {batch size: what
    the perf_analyzer module observed}. The CSV is copied beside the summary, as the role
    fetches it, and the summary built as the role builds it (``host_summary``). ``scale``
    multiplies chosen numbers (synthetic changes only)."""
    directory = run_dir / host
    directory.mkdir(parents=True)
    measured = {}
    for batch, name in cells.items():
        shutil.copy(FIXTURES / name, directory / f"resnet50-b{batch}.csv")
        results = captured(name)
        for row in results:
            for key, factor in (scale or {}).items():
                row[key] = row[key] * factor
        measured[("resnet50", batch)] = {
            "cell": {"model": "resnet50", "batch_size": batch, "name": f"resnet50-b{batch}"},
            "results": results, "unstable": [], "measured_seconds": 12.0,
            "elapsed_seconds": 15.0, "observed": (observed or {}).get(batch)}
    load_mode = "request_rate" if any("request_rate" in row for cell in measured.values()
                                      for row in cell["results"]) else "concurrency"
    for entry in unstable:
        model, batch = entry["model"], entry["batch_size"]
        measured.setdefault((model, batch), {
            "cell": {"model": model, "batch_size": batch, "name": f"{model}-b{batch}"},
            "results": [], "unstable": []})["unstable"].append(entry[load_mode])
    metadata = host_metadata(
        server_ref="inferops/tritonserver:2.51.0-cpu",
        server_image={"id": "sha256:" + "4f" * 32, "repo_digests": []},
        perf_analyzer_version="2.60.0", model_config_sha256={"resnet50": "150b9acd" + "0" * 56},
        client="slim", client_image="inferops/perf-analyzer:2.60.0", client_host=host,
        protocol="grpc", load_mode=load_mode, load_range="1:2", input_data="zero",
        measurement_interval_ms=4000)
    summary = host_summary(list(measured.values()), run_id=run_id or run_dir.name, host=host,
                           started="2026-12-02T08:15:00Z", ended="2026-12-02T08:17:10Z",
                           metadata=metadata)
    # as the role writes it (to_nice_json)
    (directory / "summary.json").write_text(json.dumps(summary, indent=4, sort_keys=True) + "\n")
    return summary


@pytest.fixture
def fleet(tmp_path):
    """Two hosts, batch 1 and 8 at concurrency 1 and 2, as captured."""
    run_dir = tmp_path / "results" / RUN
    for host in ("node1", "node2"):
        write_host(run_dir, host, {1: B1, 8: B8})
    return run_dir


def rows_of(run_dir, hosts=None):
    return fleet_rows(load_run(run_dir, hosts))


# --------------------------------------------------------------------------- load_run

def test_load_run_reads_every_host(fleet):
    run = load_run(fleet)
    assert run["run_id"] == RUN
    assert list(run["hosts"]) == ["node1", "node2"]
    assert run["hosts"]["node2"]["metadata"]["perf_analyzer_version"] == "2.60.0"


def test_load_run_only_named_hosts_in_their_order(fleet):
    assert list(load_run(fleet, ["node2"])["hosts"]) == ["node2"]
    assert list(load_run(fleet, ["node2", "node1"])["hosts"]) == ["node2", "node1"]


def test_load_run_outputs_beside_hosts_are_not_hosts(fleet):
    """The report's own files sit in the run directory; a second call still loads."""
    make_report(fleet, plot=False)
    assert list(load_run(fleet)["hosts"]) == ["node1", "node2"]


def test_load_run_missing_directory(tmp_path):
    with pytest.raises(BenchReportError, match=r"run directory .*/nope does not exist"):
        load_run(tmp_path / "nope")


def test_load_run_no_hosts(tmp_path):
    with pytest.raises(BenchReportError, match="holds no host directories"):
        load_run(tmp_path)


def test_load_run_named_host_missing(fleet):
    with pytest.raises(BenchReportError,
                       match=r"host node3: no results directory in run 20261202T081500Z "
                             r"\(expected .*/node3/summary.json\)"):
        load_run(fleet, ["node1", "node3"])


def test_load_run_host_without_summary(fleet):
    (fleet / "node3").mkdir()
    with pytest.raises(BenchReportError, match=r"host node3: no summary.json in run"):
        load_run(fleet)


def test_load_run_bad_json(fleet):
    (fleet / "node2" / "summary.json").write_text('{"run_id": "x", "results": [')
    with pytest.raises(BenchReportError,
                       match=r"host node2: .*node2/summary.json is not valid JSON: "):
        load_run(fleet)


@pytest.mark.parametrize("content, message", [
    ([], "holds JSON but not an object"),
    ({"results": {}}, "'results' must be a list, got dict"),
    ({"results": [{"model": "resnet50", "batch_size": 1}]},
     r"results\[0\]: expected exactly one of concurrency or request_rate, found neither"),
    ({"results": [{"model": "resnet50", "batch_size": 1, "concurrency": 1,
                   "request_rate": 5.0}]}, "found .'concurrency', 'request_rate'."),
    ({"unstable": [{"batch_size": 8, "concurrency": 2}]}, r"unstable\[0\] has no 'model'"),
])
def test_load_run_bad_shape(fleet, content, message):
    (fleet / "node1" / "summary.json").write_text(json.dumps(content))
    with pytest.raises(BenchReportError, match=message):
        load_run(fleet)


def test_load_run_refuses_two_runs_in_one_directory(tmp_path):
    run_dir = tmp_path / RUN
    write_host(run_dir, "node1", {1: B1})
    write_host(run_dir, "node2", {1: B1}, run_id=BASE)
    with pytest.raises(BenchReportError, match=f"mixes .*node1: {RUN}, node2: {BASE}"):
        load_run(run_dir)


# --------------------------------------------------------------------------- rows

def test_rows_hold_the_captured_numbers(fleet):
    rows = rows_of(fleet)
    assert len(rows) == 8  # 2 hosts x 2 batch sizes x concurrency 1, 2
    assert [(r["host"], r["batch_size"], r["concurrency"]) for r in rows[:4]] == [
        ("node1", 1, 1), ("node1", 1, 2), ("node1", 8, 1), ("node1", 8, 2)]
    by_cell = {(r["batch_size"], r["concurrency"]): r for r in rows if r["host"] == "node2"}
    for batch, name in ((1, B1), (8, B8)):
        for raw in captured(name):
            row = by_cell[(batch, raw["concurrency"])]
            assert row["stable"] is True
            assert row["load"] == "concurrency"
            assert row["csv"] == f"resnet50-b{batch}.csv"
            # the report keeps the numbers it compares and shows (NUMBER_KEYS)
            for key in NUMBER_KEYS:
                if key in raw:
                    assert row[key] == raw[key]
            assert row["concurrency"] == raw["concurrency"]
    # perf_analyzer 2.60 writes no average latency in this mode: the key is there, empty
    assert all(row["avg_latency_us"] is None for row in rows)


def test_unstable_cells_are_rows_without_numbers(tmp_path):
    run_dir = tmp_path / RUN
    write_host(run_dir, "node1", {1: B1},
               unstable=[{"model": "resnet50", "batch_size": 8, "concurrency": 2}])
    rows = rows_of(run_dir)
    assert len(rows) == 3
    last = rows[-1]
    assert (last["batch_size"], last["concurrency"], last["stable"]) == (8, 2, False)
    assert all(last[key] is None for key in NUMBER_KEYS)


def test_request_rate_rows(tmp_path):
    run_dir = tmp_path / RUN
    # captured in request-rate mode (2 and 4 requests per second; see SOURCE.md)
    write_host(run_dir, "node1", {1: "lab-grpc-request-rate-plain-b1.csv"})
    rows = rows_of(run_dir)
    assert [(r["load"], r["request_rate"]) for r in rows] == [("request_rate", 2),
                                                              ("request_rate", 4)]
    assert rows[1]["throughput_infer_per_sec"] == pytest.approx(3.73761)
    report = render_report_md(load_run(run_dir), rows)
    assert "| node1 | 1 | 4 | 3.7 |" in report
    assert "| host | batch | request rate | infer/s |" in report


# --------------------------------------------------------------------------- files

def test_summary_csv_holds_the_rows(fleet, tmp_path):
    rows = rows_of(fleet)
    write_summary_csv(rows, tmp_path / "summary.csv")
    with open(tmp_path / "summary.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == list(CSV_COLUMNS)
    assert len(table) == 8
    first = table[0]
    assert (first["host"], first["batch_size"], first["concurrency"]) == ("node1", "1", "1")
    assert first["request_rate"] == "" and first["avg_latency_us"] == ""
    assert float(first["throughput_infer_per_sec"]) == pytest.approx(23.4765)
    assert int(first["p99_latency_us"]) == 54148
    assert first["stable"] == "True"


def test_summary_json_numbers_are_the_raw_csvs(fleet):
    """What the summary.json says is what perf_analyzer wrote in each host's CSV."""
    result = make_report(fleet, plot=False)
    assert str(fleet / "summary.json") in result["files"]
    summary = json.loads((fleet / "summary.json").read_text())
    assert summary["run_id"] == RUN
    assert summary["comparison"] is None
    assert summary["hosts"]["node1"]["started"] == "2026-12-02T08:15:00Z"
    assert summary["hosts"]["node1"]["metadata"]["protocol"] == "grpc"
    assert len(summary["rows"]) == 8
    for row in summary["rows"]:
        raw = parse_csv((fleet / row["host"] / row["csv"]).read_text())
        (line,) = [r for r in raw if r["Concurrency"] == row["concurrency"]]
        assert row["throughput_infer_per_sec"] == line["Inferences/Second"]
        assert row["p50_latency_us"] == line["p50 latency"]
        assert row["p90_latency_us"] == line["p90 latency"]
        assert row["p99_latency_us"] == line["p99 latency"]
        assert row["server_queue_us"] == line["Server Queue"]
        assert row["server_compute_infer_us"] == line["Server Compute Infer"]


def test_report_md_tables(fleet):
    run = load_run(fleet)
    (fleet / "node2" / "summary.json").write_text(json.dumps(dict(
        run["hosts"]["node2"], unstable=[{"model": "resnet50", "batch_size": 16,
                                          "concurrency": 1}])))
    run = load_run(fleet)
    text = render_report_md(run, fleet_rows(run))
    assert text.startswith(f"# Benchmark run {RUN}\n")
    assert "2 hosts, 9 cells (8 stable), measured by perf_analyzer over grpc." in text
    assert "## resnet50\n" in text
    assert ("| host | batch | concurrency | infer/s | p50 ms | p90 ms | p99 ms | "
            "server queue ms | server compute ms |") in text
    # batch 1, concurrency 1: 23.4765 infer/s, p50 41386 us, p90 43902, p99 54148, queue 2197,
    # compute 139 + 37159 + 1986 us
    assert "| node1 | 1 | 1 | 23.5 | 41.4 | 43.9 | 54.1 | 2.2 | 39.3 |" in text
    assert "| node2 | 8 | 2 | 29.4 | 538.0 | 547.6 | 554.7 | 252.0 | 270.1 |" in text
    assert "| node2 | 16 | 1 | not stable |  |  |  |  |  |  |" in text
    assert "| host | image | digest | ROCm | GPU | perf_analyzer | model config sha256 |" in text
    assert ("| node1 | inferops/tritonserver:2.51.0-cpu (sha256:4f4f4f4f4f4f) | - | - | none "
            "| 2.60.0 | resnet50 150b9acd0000 | 2026-12-02T08:15:00Z | 2026-12-02T08:17:10Z |"
            ) in text
    assert "Regressions" not in text


def test_report_md_gpu_host(fleet):
    run = load_run(fleet)
    run["hosts"]["node1"]["metadata"].update(rocm_version="7.2.0", gpu_model="AMD Instinct MI210",
                                             gpu_count=4)
    text = render_report_md(run, fleet_rows(run))
    assert "| node1 | inferops/tritonserver:2.51.0-cpu (sha256:4f4f4f4f4f4f) | - | 7.2.0 | " \
           "AMD Instinct MI210 \u00d7 4 |" in text


def test_png_is_drawn(fleet, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "report.png"
    assert plot_png(rows_of(fleet), path, title=f"Run {RUN}") is True
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 1000
    assert not [p.name for p in tmp_path.iterdir() if "inferops-tmp" in p.name]


def test_png_with_one_model_and_batch(tmp_path):
    pytest.importorskip("matplotlib")
    run_dir = tmp_path / RUN
    write_host(run_dir, "node1", {1: B1})
    assert plot_png(rows_of(run_dir), tmp_path / "one.png") is True
    assert (tmp_path / "one.png").read_bytes()[:4] == b"\x89PNG"


def test_png_without_matplotlib(fleet, tmp_path, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(__import__("sys").modules, name, None)
    assert plot_png(rows_of(fleet), tmp_path / "report.png") is False
    assert not (tmp_path / "report.png").exists()
    result = make_report(fleet)
    assert result["plot"] is False
    assert str(fleet / "report.png") not in result["files"]
    assert any("matplotlib is not importable" in w for w in result["warnings"])


# --------------------------------------------------------------------------- compare

def two_runs(tmp_path, current_cells, baseline_cells, current_scale=None):
    results = tmp_path / "results"
    write_host(results / BASE, "node2", baseline_cells)
    write_host(results / RUN, "node2", current_cells, scale=current_scale)
    return rows_of(results / RUN), rows_of(results / BASE)


def test_compare_clean(fleet):
    rows = rows_of(fleet)
    result = compare(rows, rows, 10, 20, baseline_run_id=BASE)
    assert result["regressions"] == [] and result["missing"] == [] and result["new"] == []
    assert result["compared"] == 8
    assert result["baseline_run_id"] == BASE


def test_compare_throughput_drop(tmp_path):
    """Baseline: the batch-8 capture; now: the batch-1 capture, under the same cell labels.
    Throughput falls 28.8 -> 23.5 and 29.4 -> 25.5 infer/s; p99 falls too (not a rise)."""
    current, baseline = two_runs(tmp_path, {1: B1}, {1: B8})
    result = compare(current, baseline, 10, 20)
    assert result["compared"] == 2
    assert result["regressions"] == [
        {"host": "node2", "model": "resnet50", "batch_size": 1, "concurrency": 1,
         "metric": "throughput_infer_per_sec", "baseline": 28.8386, "current": 23.4765,
         "change_pct": -18.59, "allowed_pct": -10.0},
        {"host": "node2", "model": "resnet50", "batch_size": 1, "concurrency": 2,
         "metric": "throughput_infer_per_sec", "baseline": 29.3795, "current": 25.537,
         "change_pct": -13.08, "allowed_pct": -10.0}]
    # a 15% allowance lets the concurrency-2 drop (13.1%) through, not the other (18.6%)
    assert [r["concurrency"] for r in compare(current, baseline, 15, 20)["regressions"]] \
        == [1]
    assert compare(current, baseline, 20, 20)["regressions"] == []


def test_compare_p99_rise(tmp_path):
    """Baseline: the batch-1 capture; now: the batch-8 capture. p99 rises 54.1 -> 297.0 ms
    and 99.1 -> 554.7 ms while throughput rises (not a drop)."""
    current, baseline = two_runs(tmp_path, {1: B8}, {1: B1})
    regressions = compare(current, baseline, 10, 20)["regressions"]
    assert [(r["concurrency"], r["metric"], r["baseline"], r["current"], r["change_pct"])
            for r in regressions] == [(1, "p99_latency_us", 54148, 296986, 448.47),
                                      (2, "p99_latency_us", 99085, 554664, 459.79)]
    assert compare(current, baseline, 10, 500)["regressions"] == []


def test_compare_both_metrics_of_one_cell(tmp_path):
    # synthetic slowdown of captured values: throughput halved, p99 latency x1.5
    current, baseline = two_runs(tmp_path, {1: B1}, {1: B1}, current_scale={
        "throughput_infer_per_sec": 0.5, "p99_latency_us": 1.5})
    result = compare(current, baseline, 10, 20, baseline_run_id=BASE)
    assert [(r["concurrency"], r["metric"], r["change_pct"]) for r in result["regressions"]] == [
        (1, "throughput_infer_per_sec", -50.0), (1, "p99_latency_us", 50.0),
        (2, "throughput_infer_per_sec", -50.0), (2, "p99_latency_us", 50.0)]


def test_compare_within_thresholds_is_clean(tmp_path):
    # synthetic change of captured values, inside both limits: throughput -9%, p99 +19%
    current, baseline = two_runs(tmp_path, {1: B1}, {1: B1}, current_scale={
        "throughput_infer_per_sec": 0.91, "p99_latency_us": 1.19})
    assert compare(current, baseline, 10, 20)["regressions"] == []


def test_compare_missing_and_new_cells(tmp_path):
    results = tmp_path / "results"
    write_host(results / BASE, "node1", {1: B1, 8: B8})
    write_host(results / BASE, "node2", {1: B1})
    # now: node1 batch 8 concurrency 2 did not stabilise, node2 gained batch 8, node3 is new
    write_host(results / RUN, "node1", {1: B1},
               unstable=[{"model": "resnet50", "batch_size": 8, "concurrency": 2}])
    write_host(results / RUN, "node2", {1: B1, 8: B8})
    write_host(results / RUN, "node3", {1: B1})
    result = compare(rows_of(results / RUN), rows_of(results / BASE), 10, 20)
    assert result["regressions"] == []
    assert result["compared"] == 4
    assert result["missing"] == [
        {"host": "node1", "model": "resnet50", "batch_size": 8, "concurrency": 1,
         "reason": "not measured"},
        {"host": "node1", "model": "resnet50", "batch_size": 8, "concurrency": 2,
         "reason": "not stable"}]
    assert [(c["host"], c["batch_size"], c["concurrency"]) for c in result["new"]] == [
        ("node2", 8, 1), ("node2", 8, 2), ("node3", 1, 1), ("node3", 1, 2)]


@pytest.mark.parametrize("drop, rise, message", [
    (-1, 20, r"max_throughput_drop_pct must be a percentage between 0 and 100, got -1"),
    (101, 20, r"max_throughput_drop_pct must be a percentage between 0 and 100, got 101"),
    ("ten", 20, r"max_throughput_drop_pct must be a percentage between 0 and 100, got 'ten'"),
    (None, 20, r"max_throughput_drop_pct .* got None"),
    (True, 20, r"max_throughput_drop_pct .* got True"),
    (float("nan"), 20, r"max_throughput_drop_pct .* got nan"),
    (10, -0.5, r"max_p99_rise_pct must be a percentage 0 or more, got -0.5"),
])
def test_thresholds_are_validated(drop, rise, message):
    with pytest.raises(BenchReportError, match=message):
        compare([], [], drop, rise)


def test_thresholds_at_their_limits():
    assert validate_thresholds(0, 0) == (0.0, 0.0)
    assert validate_thresholds("100", 1000) == (100.0, 1000.0)


# --------------------------------------------------------------------------- baseline, message

def test_baseline_by_id_and_by_path(tmp_path, monkeypatch):
    results = tmp_path / "results"
    write_host(results / BASE, "node1", {1: B1})
    assert resolve_baseline(BASE, results) == results / BASE
    assert resolve_baseline(str(results / BASE), "/nonexistent") == results / BASE
    monkeypatch.chdir(results)
    assert resolve_baseline(f"./{BASE}", "/nonexistent") == Path(f"./{BASE}")


def test_baseline_not_found_lists_the_runs(tmp_path):
    results = tmp_path / "results"
    write_host(results / BASE, "node1", {1: B1})
    write_host(results / RUN, "node1", {1: B1})
    with pytest.raises(BenchReportError,
                       match=rf"baseline 20261130T000000Z: no run with that id in .*results "
                             rf"\(runs found: {BASE}, {RUN}\)"):
        resolve_baseline("20261130T000000Z", results)
    with pytest.raises(BenchReportError, match=r"runs found: none"):
        resolve_baseline("x", tmp_path / "empty")
    with pytest.raises(BenchReportError, match=r"baseline /nope/run: no such run directory"):
        resolve_baseline("/nope/run", results)


def test_regression_message(tmp_path):
    # synthetic slowdown of captured values: throughput halved, p99 latency x1.5
    current, baseline = two_runs(tmp_path, {1: B1}, {1: B1}, current_scale={
        "throughput_infer_per_sec": 0.5, "p99_latency_us": 1.5})
    # concurrency 1: throughput put back as captured, so only its p99 regressed
    current = [dict(r, throughput_infer_per_sec=r["throughput_infer_per_sec"] * 2)
               if r["concurrency"] == 1 else r for r in current]
    message = regression_message(compare(current, baseline, 10, 20, BASE))
    assert message == (
        f"2 cells regressed against run {BASE}: "
        "node2 resnet50 batch 1 concurrency 1: p99 latency 54.1 -> 81.2 ms "
        "(+50.0%, allowed +20%); "
        "node2 resnet50 batch 1 concurrency 2: throughput 25.5 -> 12.8 infer/s "
        "(-50.0%, allowed -10%), p99 latency 99.1 -> 148.6 ms (+50.0%, allowed +20%)")
    one = compare([r for r in current if r["concurrency"] == 1], baseline, 10, 20, BASE)
    assert regression_message(one).startswith(f"1 cell regressed against run {BASE}: ")


# --------------------------------------------------------------------------- the module's run

def test_make_report_writes_everything_and_reports_regressions(tmp_path):
    results = tmp_path / "results"
    write_host(results / BASE, "node1", {1: B1, 8: B8})
    write_host(results / BASE, "node2", {1: B1, 8: B8})
    write_host(results / BASE, "node9", {1: B1})  # not in this run: not compared, not missing
    write_host(results / RUN, "node1", {1: B1, 8: B8})
    # synthetic slowdown of node2's captured values: throughput -30%
    write_host(results / RUN, "node2", {1: B1, 8: B8},
               scale={"throughput_infer_per_sec": 0.7})
    run_dir = results / RUN
    result = make_report(run_dir, baseline=BASE, plot=True)
    assert result["run_id"] == RUN and result["baseline_run_id"] == BASE
    assert result["rows"] == 8 and result["compared"] == 8 and result["missing"] == []
    assert {(r["host"], r["metric"]) for r in result["regressions"]} == {
        ("node2", "throughput_infer_per_sec")}
    assert len(result["regressions"]) == 4
    expected = ["summary.csv", "summary.json", "report.md", "cells.csv"]
    if result["plot"]:
        expected.append("report.png")
    assert result["files"] == [str(run_dir / name) for name in expected]
    for name in expected:
        assert (run_dir / name).stat().st_size > 0
    report = (run_dir / "report.md").read_text()
    assert report == result["report"]
    assert f"## Regressions against {BASE}\n" in report
    assert ("- node2 resnet50 batch 1 concurrency 1: throughput 23.5 -> 16.4 infer/s "
            "(-30.0%, allowed -10%)") in report
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["comparison"]["regressions"] == result["regressions"]
    assert summary["comparison"]["baseline_run_id"] == BASE


def test_report_files_are_replaced_whole_and_readable_by_everyone(fleet):
    """Each file is written beside its place and renamed over it (common._files.write_atomic),
    mode 0644: the report is for people to read."""
    (fleet / "report.md").write_text("an older report\n")
    (fleet / "report.md").chmod(0o600)
    result = make_report(fleet)
    assert (fleet / "report.md").read_text() == result["report"]
    for name in result["files"]:
        assert Path(name).stat().st_mode & 0o777 == 0o644, name
    assert not [p.name for p in fleet.iterdir() if "inferops-tmp" in p.name]


def test_make_report_clean_comparison_says_none(tmp_path):
    results = tmp_path / "results"
    write_host(results / BASE, "node1", {1: B1})
    write_host(results / RUN, "node1", {1: B1})
    result = make_report(results / RUN, baseline=str(results / BASE), plot=False)
    assert result["regressions"] == [] and result["compared"] == 2
    assert f"## Regressions against {BASE}\n\nAllowed: throughput down by at most 10%, " \
           "p99 latency up by at most 20%; 2 cells compared.\n\nNone.\n" in result["report"]


def test_make_report_warns_about_missing_cells(tmp_path):
    results = tmp_path / "results"
    write_host(results / BASE, "node1", {1: B1, 8: B8})
    write_host(results / RUN, "node1", {1: B1},
               unstable=[{"model": "resnet50", "batch_size": 8, "concurrency": 1}])
    result = make_report(results / RUN, baseline=BASE, plot=False)
    assert result["warnings"] == [
        f"2 cells of baseline run {BASE} have no stable result in run {RUN}, so they were not "
        "compared: node1 resnet50 batch 8 concurrency 1 (not stable); "
        "node1 resnet50 batch 8 concurrency 2 (not measured)"]
    assert "- node1 resnet50 batch 8 concurrency 1 (not stable)" in result["report"]


def test_make_report_check_mode_writes_nothing(tmp_path):
    results = tmp_path / "results"
    write_host(results / BASE, "node1", {1: B1})
    # synthetic slowdown of captured values: throughput halved
    write_host(results / RUN, "node1", {1: B1}, scale={"throughput_infer_per_sec": 0.5})
    before = sorted(p.name for p in (results / RUN).iterdir())
    result = make_report(results / RUN, baseline=BASE, check_mode=True)
    assert sorted(p.name for p in (results / RUN).iterdir()) == before
    assert len(result["regressions"]) == 2
    assert result["files"][:3] == [str(results / RUN / n) for n in OUTPUT_FILES[:3]]


def test_make_report_check_mode_without_a_run(tmp_path):
    result = make_report(tmp_path / RUN, check_mode=True)
    assert result["rows"] == 0 and result["files"] == []
    assert "does not exist; nothing to report" in result["warnings"][0]
    with pytest.raises(BenchReportError, match="does not exist"):
        make_report(tmp_path / RUN)


def test_make_report_refuses_itself_as_baseline(fleet):
    with pytest.raises(BenchReportError, match="is the run being reported"):
        make_report(fleet, baseline=RUN)


def test_make_report_validates_thresholds_before_reading(tmp_path):
    with pytest.raises(BenchReportError, match="max_throughput_drop_pct"):
        make_report(tmp_path / "nope", max_throughput_drop_pct=150)


# --------------------------------------------------------------------------- cells

OBSERVE = FIXTURES.parent / "bench_observe"


def observed_cell(gpu_files=None, gpu_reason=None, seconds=20.0):
    """A cell's ``observed`` as the module builds it: the server's counter differences of
    the lab capture around a real perf_analyzer run, and the GPU from the exporter readings
    of tests/fixtures/bench_observe (composed from AMD's docs) or a reason."""
    server = server_delta((OBSERVE / "triton-before.txt").read_text(),
                          (OBSERVE / "triton-after.txt").read_text(), "resnet50")
    gpu = None
    if gpu_files:
        before, during, after = (gpu_reading((OBSERVE / name).read_text()) for name in gpu_files)
        gpu, gpu_reason = gpu_cell(before, [during], after, seconds)
    return {"seconds": seconds, "server": dict(url="http://127.0.0.1:8002/metrics", **server),
            "server_reason": None, "gpu": gpu, "gpu_reason": gpu_reason,
            "inferences_per_joule": inferences_per_joule(server["inferences"],
                                                         (gpu or {}).get("energy_j"))}


def test_report_shows_the_server_and_the_gpu_per_cell(tmp_path):
    run_dir = tmp_path / "results" / RUN
    refused = "no exporter answered at http://127.0.0.1:5000/metrics: connection refused"
    write_host(run_dir, "node1", {1: B1, 8: B8}, observed={
        1: observed_cell(("exporter-before.txt", "exporter-during.txt", "exporter-after.txt")),
        8: observed_cell(gpu_reason=refused)})
    write_host(run_dir, "node2", {1: B1})  # a run that read neither
    result = make_report(run_dir, plot=False)
    report = result["report"]
    assert ("| host | batch | s | requests | inferences | failures | server queue ms/req | "
            "server compute ms/req | GPU W | GPU busy % | GPU J | infer/J |") in report
    # 31 requests, queue 4492.3 us and compute 1127330.7 us per request; 680 W, 45 %, the
    # counters' 13600 J, 31 / 13600 inferences per joule
    assert ("| node1 | 1 | 20.0 | 31 | 31 | 0 | 4.5 | 1127.3 | 680.0 | 45.0 | 13600.0 | "
            "0.00228 |") in report
    assert "| node1 | 8 | 20.0 | 31 | 31 | 0 | 4.5 | 1127.3 |  |  |  |  |" in report
    assert f"- node1 batch 8: GPU columns empty - {refused}" in report
    assert "| node2 | 1 |  |  |  |  |  |  |  |  |  |  |" in report
    assert "- node2 batch 1: server columns empty - not read" in report
    assert "- node2 batch 1: GPU columns empty - not read" in report
    with open(run_dir / "cells.csv", newline="") as handle:
        cells = list(csv.DictReader(handle))
    assert tuple(cells[0]) == CELL_CSV_COLUMNS
    assert [(c["host"], c["batch_size"]) for c in cells] == [
        ("node1", "1"), ("node1", "8"), ("node2", "1")]
    assert cells[0]["gpu_energy_j"] == "13600.0" and cells[0]["inferences_per_joule"] == "0.002279"
    assert cells[0]["server_queue_us"] == "4492.3" and cells[0]["gpu_reason"] == ""
    assert cells[1]["gpu_power_w"] == "" and cells[1]["gpu_reason"] == refused
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["cells"][0]["gpu_power_w"] == 680.0


def test_a_summary_without_cells_still_reports(fleet):
    # summaries written before the role read the server and the GPU have no "cells"
    for host in ("node1", "node2"):
        path = fleet / host / "summary.json"
        data = json.loads(path.read_text())
        del data["cells"]
        path.write_text(json.dumps(data))
    result = make_report(fleet, plot=False)
    assert "Per cell" not in result["report"] and result["rows"] == 8
    assert (fleet / "cells.csv").read_text() == ",".join(CELL_CSV_COLUMNS) + "\n"
