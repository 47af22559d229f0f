"""perf_analyzer CSV parsing, on outputs captured in the lab (see fixtures SOURCE.md)."""

from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils._perf import (
    PerfCsvError,
    parse_csv,
    summarize,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "perf_analyzer"


def test_every_column_is_kept_and_typed():
    rows = parse_csv((FIXTURES / "lab-grpc-concurrency-b1.csv").read_text())
    assert [row["Concurrency"] for row in rows] == [1, 2]
    first = rows[0]
    assert first["Inferences/Second"] == pytest.approx(23.4765)
    assert first["p99 latency"] == 54148
    assert first["Server Compute Infer"] == 37159
    assert len(first) == 13


def test_summary_matches_the_tools_own_stdout():
    """The numbers perf_analyzer printed for the same run are the ones the summary keeps."""
    rows = summarize(parse_csv((FIXTURES / "lab-grpc-concurrency-b1.csv").read_text()))
    stdout = (FIXTURES / "lab-grpc-concurrency-b1.stdout").read_text()
    for row in rows:
        assert f"Throughput: {row['throughput_infer_per_sec']} infer/sec" in stdout
        assert f"p99 latency: {row['p99_latency_us']} usec" in stdout
        assert f"queue {row['server_queue_us']} usec" in stdout


def test_summary_keys_are_only_the_columns_present():
    rows = summarize(parse_csv((FIXTURES / "lab-grpc-concurrency-b8.csv").read_text()))
    assert set(rows[0]) == {
        "concurrency", "throughput_infer_per_sec", "p50_latency_us", "p90_latency_us",
        "p95_latency_us", "p99_latency_us", "server_queue_us", "server_compute_input_us",
        "server_compute_infer_us", "server_compute_output_us"}
    assert [r["concurrency"] for r in rows] == [1, 2]


def test_empty_cells_are_none():
    text = (FIXTURES / "lab-grpc-concurrency-b1.csv").read_text().splitlines()
    header, row = text[0], text[1].split(",")
    row[4] = ""
    assert parse_csv(header + "\n" + ",".join(row))[0]["Server Queue"] is None


@pytest.mark.parametrize("text", ["", "foo,bar\n1,2\n", "*** Measurement Settings ***\n"])
def test_not_a_perf_csv(text):
    with pytest.raises(PerfCsvError, match="not a perf_analyzer CSV"):
        parse_csv(text)
