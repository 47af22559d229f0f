"""perf_analyzer output parsing, on outputs captured in the lab and the samples of its
upstream documentation (see tests/fixtures/perf_analyzer/SOURCE.md)."""

import functools
import lzma
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.bench._perf import (
    PerfCsvError,
    PerfOutputError,
    parse_csv,
    parse_profile_export,
    parse_stdout,
    summarize,
)

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "perf_analyzer"

BASE_COLUMNS = [
    "Inferences/Second", "Client Send", "Network+Server Send/Recv", "Server Queue",
    "Server Compute Input", "Server Compute Infer", "Server Compute Output", "Client Recv",
    "p50 latency", "p90 latency", "p95 latency", "p99 latency"]
VERBOSE_COLUMNS = ["request/response", "response wait"]
GPU_COLUMNS = ["Avg GPU Utilization", "Avg GPU Power Usage", "Max GPU Memory Usage",
               "Total GPU Memory"]
GPU_KEYS = ["gpu_utilization", "gpu_power_usage", "gpu_memory_used_bytes",
            "gpu_memory_total_bytes"]

# The lab runs of 2026-12-02 (SOURCE.md): how each was made, and its wall time (the
# `docker run` of the client, start to exit).
RUNS = {
    "lab-grpc-concurrency-plain-b1": dict(
        load="Concurrency", levels=[1, 2], verbose=False, avg=False, metrics=False,
        protocol="grpc", interval_ms=1500, wall_s=21),
    "lab-grpc-concurrency-verbose-b1": dict(
        load="Concurrency", levels=[1, 2], verbose=True, avg=True, metrics=False,
        protocol="grpc", interval_ms=1500, wall_s=14),
    "lab-grpc-concurrency-verbose-p95-b1": dict(
        load="Concurrency", levels=[1, 2], verbose=True, avg=False, metrics=False,
        protocol="grpc", interval_ms=1500, wall_s=21),
    "lab-http-concurrency-verbose-metrics-b1": dict(
        load="Concurrency", levels=[1, 2], verbose=True, avg=True, metrics=True,
        protocol="http", interval_ms=1500, wall_s=14),
    "lab-grpc-request-rate-plain-b1": dict(
        load="Request Rate", levels=[2, 4], verbose=False, avg=False, metrics=False,
        protocol="grpc", interval_ms=2000, wall_s=19),
    "lab-http-request-rate-verbose-b1": dict(
        load="Request Rate", levels=[2, 4], verbose=True, avg=True, metrics=False,
        protocol="http", interval_ms=2000, wall_s=31),
}
# Runs with a CSV and the stdout of the same invocation (the make demo one has no export)
PAIRED = [*RUNS, "lab-grpc-concurrency-b1"]


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


def profile_text(run: str) -> str:
    """The export exactly as perf_analyzer wrote it (kept xz-compressed: 25-80 MB of JSON)."""
    return lzma.decompress((FIXTURES / f"{run}.profile.json.xz").read_bytes()).decode()


@functools.cache
def profile(run: str) -> dict:
    return parse_profile_export(profile_text(run))


def expected_columns(spec: dict) -> list:
    columns = [spec["load"], *BASE_COLUMNS]
    if spec["verbose"]:
        columns += (["Avg latency"] if spec["avg"] else []) + VERBOSE_COLUMNS
    if spec["metrics"]:
        columns += GPU_COLUMNS
    return columns


# --- CSV ---------------------------------------------------------------------------------

def test_every_column_is_kept_and_typed():
    rows = parse_csv(read("lab-grpc-concurrency-b1.csv"))
    assert [row["Concurrency"] for row in rows] == [1, 2]
    first = rows[0]
    assert first["Inferences/Second"] == pytest.approx(23.4765)
    assert first["p99 latency"] == 54148
    assert first["Server Compute Infer"] == 37159
    assert len(first) == 13


@pytest.mark.parametrize("run", RUNS)
def test_all_columns_of_each_mode_are_kept(run):
    """Plain, --verbose-csv (Avg latency only without --percentile) and --collect-metrics."""
    spec = RUNS[run]
    rows = parse_csv(read(f"{run}.csv"))
    assert [list(row) for row in rows] == [expected_columns(spec)] * len(spec["levels"])
    assert sorted(row[spec["load"]] for row in rows) == spec["levels"]
    for row in rows:
        assert isinstance(row["Inferences/Second"], float)
        times = [c for c in expected_columns(spec)[2:] if c not in GPU_COLUMNS]
        assert all(isinstance(row[c], int) for c in times), row


def test_verbose_columns():
    rows = parse_csv(read("lab-grpc-concurrency-verbose-b1.csv"))
    first = rows[0]
    assert (first["Avg latency"], first["request/response"], first["response wait"]) == \
        (238608, 111, 238461)
    # request/response is the client's send plus receive
    assert first["request/response"] == first["Client Send"] + first["Client Recv"]
    summary = summarize(rows)[0]
    assert (summary["avg_latency_us"], summary["client_request_response_us"],
            summary["client_response_wait_us"]) == (238608, 111, 238461)


def test_rows_come_in_the_files_order_of_throughput():
    """perf_analyzer sorts the CSV by throughput: here concurrency 2 was the slower one."""
    rows = summarize(parse_csv(read("lab-http-concurrency-verbose-metrics-b1.csv")))
    assert [r["concurrency"] for r in rows] == [2, 1]
    assert rows[0]["throughput_infer_per_sec"] < rows[1]["throughput_infer_per_sec"]


def test_metrics_columns_present_but_empty_on_a_cpu_server():
    rows = parse_csv(read("lab-http-concurrency-verbose-metrics-b1.csv"))
    assert all(row[c] is None for row in rows for c in GPU_COLUMNS)
    for item in summarize(rows):
        assert {k: item[k] for k in GPU_KEYS} == dict.fromkeys(GPU_KEYS)


def test_gpu_metric_cells_are_per_gpu_mappings():
    """The simplified CSV of perf_analyzer's docs: '...' stands for the other columns, and
    each row ends with a comma past the header."""
    rows = parse_csv(read("upstream-measurements-metrics-gpu.csv"))
    assert [row["Concurrency"] for row in rows] == [1, 2, 3]
    assert rows[0]["..."] == "..."
    assert rows[0]["Avg GPU Utilization"] == {"gpu_uuid_0": 0.33, "gpu_uuid_1": 0.5}
    summary = summarize(rows)
    assert summary[2] == {
        "concurrency": 3,
        "gpu_utilization": {"gpu_uuid_0": 0.87, "gpu_uuid_1": 0.9},
        "gpu_power_usage": {"gpu_uuid_0": 87.1, "gpu_uuid_1": 71.7},
        "gpu_memory_used_bytes": {"gpu_uuid_0": 15000, "gpu_uuid_1": 22000},
        "gpu_memory_total_bytes": {"gpu_uuid_0": 50000, "gpu_uuid_1": 75000},
    }


def test_upstream_csv_sample():
    rows = summarize(parse_csv(read("upstream-measurements-metrics.csv")))
    assert [r["concurrency"] for r in rows] == [1, 3, 4, 2]
    assert rows[3]["throughput_infer_per_sec"] == pytest.approx(87.2)
    assert rows[3]["server_queue_us"] == 9151


@pytest.mark.parametrize("run", ["lab-grpc-request-rate-plain-b1",
                                 "lab-http-request-rate-verbose-b1"])
def test_request_rate_rows(run):
    rows = summarize(parse_csv(read(f"{run}.csv")))
    assert [r["request_rate"] for r in rows] == [2, 4]
    assert all("concurrency" not in r for r in rows)
    assert rows[1]["throughput_infer_per_sec"] > rows[0]["throughput_infer_per_sec"]


def test_summary_keys_are_only_the_columns_present():
    rows = summarize(parse_csv(read("lab-grpc-concurrency-b8.csv")))
    assert set(rows[0]) == {
        "concurrency", "throughput_infer_per_sec", "p50_latency_us", "p90_latency_us",
        "p95_latency_us", "p99_latency_us", "server_queue_us", "server_compute_input_us",
        "server_compute_infer_us", "server_compute_output_us", "client_send_us",
        "client_recv_us", "network_server_send_recv_us"}
    assert [r["concurrency"] for r in rows] == [1, 2]


def test_summary_keys_with_verbose_csv_and_metrics():
    rows = summarize(parse_csv(read("lab-http-concurrency-verbose-metrics-b1.csv")))
    assert set(rows[0]) == {
        "concurrency", "throughput_infer_per_sec", "p50_latency_us", "p90_latency_us",
        "p95_latency_us", "p99_latency_us", "avg_latency_us", "server_queue_us",
        "server_compute_input_us", "server_compute_infer_us", "server_compute_output_us",
        "client_send_us", "client_recv_us", "network_server_send_recv_us",
        "client_request_response_us", "client_response_wait_us", *GPU_KEYS}


def test_summary_matches_the_tools_own_stdout():
    """The numbers perf_analyzer printed for the same run are the ones the summary keeps."""
    rows = summarize(parse_csv(read("lab-grpc-concurrency-b1.csv")))
    stdout = read("lab-grpc-concurrency-b1.stdout")
    for row in rows:
        assert f"Throughput: {row['throughput_infer_per_sec']} infer/sec" in stdout
        assert f"p99 latency: {row['p99_latency_us']} usec" in stdout
        assert f"queue {row['server_queue_us']} usec" in stdout


def test_empty_cells_are_none():
    text = read("lab-grpc-concurrency-b1.csv").splitlines()
    header, row = text[0], text[1].split(",")
    row[4] = ""
    assert parse_csv(header + "\n" + ",".join(row))[0]["Server Queue"] is None


def test_a_short_row_gets_none_for_the_missing_columns():
    lines = read("lab-grpc-concurrency-verbose-b1.csv").splitlines()
    short = lines[1].rsplit(",", 2)[0]
    row = parse_csv(lines[0] + "\n" + short + "\n")[0]
    assert (row["request/response"], row["response wait"]) == (None, None)


@pytest.mark.parametrize("text", ["", "foo,bar\n1,2\n", "*** Measurement Settings ***\n"])
def test_not_a_perf_csv(text):
    with pytest.raises(PerfCsvError, match="not a perf_analyzer CSV"):
        parse_csv(text)


def test_csv_errors_say_where():
    lines = read("lab-http-concurrency-verbose-metrics-b1.csv").splitlines()
    with pytest.raises(PerfCsvError, match=r"line 2: .* cells for 20 columns"):
        parse_csv(lines[0] + "\n" + lines[1] + ",1\n")
    with pytest.raises(PerfCsvError, match=r"line 2, column 'Avg GPU Utilization'"):
        parse_csv(lines[0] + "\n" + lines[1].replace(",,,,", ",gpu0,,,,")[:-1] + "\n")
    with pytest.raises(PerfCsvError, match=r"line 3: Concurrency is 'Concurrency', not a"):
        parse_csv(lines[0] + "\n" + lines[1] + "\n" + lines[0] + "\n")


# --- stdout ------------------------------------------------------------------------------

@pytest.mark.parametrize("run", PAIRED)
def test_csv_numbers_equal_the_stdout_of_the_same_run(run):
    csv_rows = summarize(parse_csv(read(f"{run}.csv")))
    levels = parse_stdout(read(f"{run}.stdout"))
    load = "concurrency" if "concurrency" in csv_rows[0] else "request_rate"
    assert sorted(r[load] for r in csv_rows) == [lv[load] for lv in levels]
    for row in csv_rows:
        level = next(lv for lv in levels if lv[load] == row[load])
        shared = set(row) & set(level)
        assert shared >= {load, "throughput_infer_per_sec", "p50_latency_us",
                          "p90_latency_us", "p95_latency_us", "p99_latency_us",
                          "server_queue_us", "server_compute_input_us",
                          "server_compute_infer_us", "server_compute_output_us"}
        assert {k: row[k] for k in shared} == {k: level[k] for k in shared}
    if RUNS.get(run, {}).get("verbose"):
        assert {"client_request_response_us", "client_response_wait_us"} <= shared
        assert ("avg_latency_us" in shared) is RUNS[run]["avg"]
    if RUNS.get(run, {}).get("metrics"):
        assert set(GPU_KEYS) <= shared


@pytest.mark.parametrize("run", RUNS)
def test_stdout_levels(run):
    spec = RUNS[run]
    levels = parse_stdout(read(f"{run}.stdout"))
    load = "concurrency" if spec["load"] == "Concurrency" else "request_rate"
    assert [lv[load] for lv in levels] == spec["levels"]
    for level in levels:
        assert level["protocol"] == spec["protocol"]
        assert level["request_count"] == level["server_success_count"]
        assert level["client_request_time_us"] == pytest.approx(
            level["client_request_response_us"] + level["client_response_wait_us"], abs=1)
        # stdout prints the average latency unless a --percentile is set
        assert ("avg_latency_us" in level) is ("p95" not in run)
        assert "warnings" not in level


def test_stdout_of_the_metrics_run_has_empty_gpu_metrics():
    levels = parse_stdout(read("lab-http-concurrency-verbose-metrics-b1.stdout"))
    assert all(level[k] is None for level in levels for k in GPU_KEYS)
    assert not any(k in lv for lv in parse_stdout(read("lab-grpc-concurrency-verbose-b1.stdout"))
                   for k in GPU_KEYS)


def test_upstream_quick_start_sample():
    assert parse_stdout(read("upstream-quick-start.stdout")) == [{
        "concurrency": 1,
        "request_count": 25348,
        "throughput_infer_per_sec": 1407.84,
        "avg_latency_us": 708,
        "latency_stddev_us": 663,
        "p50_latency_us": 690,
        "p90_latency_us": 881,
        "p95_latency_us": 926,
        "p99_latency_us": 1031,
        "protocol": "http",
        "client_request_time_us": 700,
        "client_request_response_us": 102,
        "client_response_wait_us": 598,
        "server_inference_count": 25348,
        "server_execution_count": 25348,
        "server_success_count": 25348,
        "server_request_latency_us": 382,
        "server_overhead_us": 41,
        "server_queue_us": 41,
        "server_compute_input_us": 26,
        "server_compute_infer_us": 257,
        "server_compute_output_us": 16,
    }]


def test_upstream_p95_sample_has_no_average_latency():
    (level,) = parse_stdout(read("upstream-perf-analyzer-p95.stdout"))
    assert "avg_latency_us" not in level
    assert (level["p95_latency_us"], level["server_inference_count"],
            level["request_count"]) == (19673, 428, 348)


def test_a_level_that_did_not_stabilise_is_left_out():
    """perf_analyzer prints only the heading of such a level (the rest goes to stderr)."""
    text = read("lab-grpc-concurrency-plain-b1.stdout")
    head = text[:text.index("Request concurrency: 1")] + "Request concurrency: 1\n"
    assert parse_stdout(head) == []
    cut = text[:text.index("Request concurrency: 2")] + "Request concurrency: 2\n"
    assert [lv["concurrency"] for lv in parse_stdout(cut)] == [1]


@pytest.mark.parametrize("text", ["", "Perf Analyzer Version 0.0.0 (commit 3a49a23)\n",
                                  "Concurrency,Inferences/Second\n1,2.5\n"])
def test_not_perf_analyzer_stdout(text):
    with pytest.raises(PerfOutputError, match="no 'Request concurrency: N'"):
        parse_stdout(text)


def test_version_output_goes_to_stderr():
    assert read("lab-version.stderr") == "Perf Analyzer Version 0.0.0 (commit 3a49a23)\n"


# --- profile export ----------------------------------------------------------------------

@pytest.mark.parametrize("run", RUNS)
def test_profile_export_structure(run):
    data = profile(run)
    assert list(data) == ["version", "service_kind", "endpoint", "experiments",
                          "measured_seconds"]
    assert (data["version"], data["service_kind"], data["endpoint"]) == \
        ("0.0.0", "triton", "")
    for exp in data["experiments"]:
        assert list(exp) == ["mode", "value", "request_count", "window_boundaries_ns",
                             "windows", "measured_ns", "stable_windows",
                             "stable_measured_ns", "stable_request_count",
                             "stable_requests_per_sec"]
        bounds = exp["window_boundaries_ns"]
        assert exp["windows"] == len(bounds) - 1 >= 3
        assert bounds == sorted(bounds) and bounds[0] > 1.7e18  # ns since the epoch, 2023+
        assert exp["measured_ns"] == bounds[-1] - bounds[0]
        assert exp["stable_windows"] == 3
        assert exp["stable_measured_ns"] == bounds[-1] - bounds[-4]


@pytest.mark.parametrize("run", RUNS)
def test_profile_experiments_match_the_csv_and_stdout(run):
    spec = RUNS[run]
    data = profile(run)
    levels = parse_stdout(read(f"{run}.stdout"))
    csv_rows = summarize(parse_csv(read(f"{run}.csv")))
    mode = "concurrency" if spec["load"] == "Concurrency" else "request_rate"
    assert [(e["mode"], e["value"]) for e in data["experiments"]] == \
        [(mode, lv[mode]) for lv in levels]
    assert sorted(e["value"] for e in data["experiments"]) == sorted(r[mode] for r in csv_rows)
    for exp, level in zip(data["experiments"], levels):
        # the stdout's count is the requests that ended in the last three windows
        assert exp["stable_request_count"] == level["request_count"]
        assert exp["request_count"] >= exp["stable_request_count"]
        # batch 1: requests per second over those windows is the throughput
        assert exp["stable_requests_per_sec"] == pytest.approx(
            level["throughput_infer_per_sec"], rel=1e-5)


@pytest.mark.parametrize("run", RUNS)
def test_measured_seconds_is_the_sum_of_the_windows(run):
    spec = RUNS[run]
    data = profile(run)
    windows = sum(e["windows"] for e in data["experiments"])
    assert data["measured_seconds"] == pytest.approx(
        sum(e["measured_ns"] for e in data["experiments"]) / 1e9)
    # a time window of perf_analyzer 2.60 lasts about 1.2 x --measurement-interval
    assert data["measured_seconds"] == pytest.approx(
        windows * spec["interval_ms"] * 1.2 / 1000, rel=0.02)
    # and the run took longer than its windows: start-up, warm-up, level changes
    assert 1.0 < spec["wall_s"] / data["measured_seconds"] < 2.0


def test_requests_outside_the_stable_windows_are_counted_once():
    """Concurrency 1 of the plain run needed seven windows to stabilise: the export has all
    its requests, perf_analyzer reported the last three windows."""
    (c1, c2) = profile("lab-grpc-concurrency-plain-b1")["experiments"]
    assert (c1["windows"], c1["request_count"], c1["stable_request_count"]) == (7, 78, 17)
    assert (c2["windows"], c2["request_count"], c2["stable_request_count"]) == (3, 16, 16)


def test_the_exports_are_perf_analyzers_own_bytes():
    """The .xz files hold the exports byte for byte (digests in SOURCE.md)."""
    import hashlib

    source = read("SOURCE.md")
    for run in RUNS:
        raw = lzma.decompress((FIXTURES / f"{run}.profile.json.xz").read_bytes())
        digest = hashlib.sha256(raw).hexdigest()
        assert f"| `{run}.profile.json` | {len(raw)} | `{digest}` |" in source


def test_dropping_the_tensors_keeps_everything_else():
    """The fast path (tensors cut out of the text) reads the same as a full json.loads."""
    import json

    text = profile_text("lab-grpc-request-rate-plain-b1")
    full = json.loads(text)
    data = parse_profile_export(text)
    for exp, entry in zip(data["experiments"], full["experiments"]):
        assert exp["window_boundaries_ns"] == entry["window_boundaries"]
        assert exp["request_count"] == len(entry["requests"])
        assert len(entry["requests"][0]["request_inputs"]["data"]) == 3 * 224 * 224


def test_tensor_strings_with_brackets_and_quotes():
    """BYTES tensors are JSON strings: brackets, escaped quotes and the key names inside
    them must not confuse the tensor skipper (a synthetic export of the real shape)."""
    text = (
        '{"experiments":[{"experiment":{"mode":"request_rate","value":2.5},"requests":['
        '{"timestamp":10,"request_inputs":{"text":"a]}{[\\"request_inputs\\":[\\\\"},'
        '"response_timestamps":[25],"response_outputs":[{"out":["}","\\"]"]}]},'
        '{"timestamp":30,"request_inputs":{"x":[1,2]},"response_timestamps":[45],'
        '"response_outputs":[]}],"window_boundaries":[5,20,35,50]}],'
        '"version":"2.60","service_kind":"triton","endpoint":"v1/x"}')
    data = parse_profile_export(text)
    (exp,) = data["experiments"]
    assert (exp["mode"], exp["value"], exp["request_count"]) == ("request_rate", 2.5, 2)
    assert (exp["windows"], exp["measured_ns"], exp["stable_request_count"]) == (3, 45, 2)
    assert data["measured_seconds"] == pytest.approx(45e-9)
    assert data["endpoint"] == "v1/x"


@pytest.mark.parametrize("text, message", [
    ("", "the text is empty"),
    ("Concurrency,Inferences/Second\n1,2\n", "not a perf_analyzer profile export"),
    ("[]", "an 'experiments' list"),
    ('{"experiments": {}}', "an 'experiments' list"),
    ('{"experiments": [{"requests": []}]}', r"experiments\[0\] has no 'experiment'"),
    ('{"experiments": [{"experiment": {"mode": "x", "value": 1}, "window_boundaries": []}]}',
     "expected a mode of 'concurrency' or 'request_rate'"),
    ('{"experiments": [{"experiment": {"mode": "concurrency", "value": 1},'
     ' "window_boundaries": [3, 2]}]}', "expected increasing timestamps"),
    ('{"experiments": [{"experiment": {"mode": "concurrency", "value": 1},'
     ' "window_boundaries": [1, 2], "requests": 5}]}', "expected a list of requests"),
])
def test_not_a_profile_export(text, message):
    with pytest.raises(PerfOutputError, match=message):
        parse_profile_export(text)


def test_a_truncated_export_is_refused():
    text = profile_text("lab-grpc-concurrency-verbose-b1")
    with pytest.raises(PerfOutputError, match="truncated"):
        parse_profile_export(text[: len(text) // 2])
    with pytest.raises(PerfCsvError):  # callers catching PerfCsvError catch it too
        parse_profile_export(text[:-1])
