# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""perf_analyzer results: its ``-f`` CSV as typed rows, and the few numbers a
fleet report compares (throughput, latency percentiles, server queue/compute).

perf_analyzer writes times in microseconds; the CSV's first column is
``Concurrency`` or ``Request Rate`` depending on the mode.
"""

from __future__ import annotations

import csv
import io

# CSV column -> summary key (microseconds unless said otherwise)
_SUMMARY_COLUMNS = {
    "Inferences/Second": "throughput_infer_per_sec",
    "p50 latency": "p50_latency_us",
    "p90 latency": "p90_latency_us",
    "p95 latency": "p95_latency_us",
    "p99 latency": "p99_latency_us",
    "Avg latency": "avg_latency_us",
    "Server Queue": "server_queue_us",
    "Server Compute Input": "server_compute_input_us",
    "Server Compute Infer": "server_compute_infer_us",
    "Server Compute Output": "server_compute_output_us",
}
_LOAD_COLUMNS = {"Concurrency": "concurrency", "Request Rate": "request_rate"}


class PerfCsvError(ValueError):
    """The text is not a perf_analyzer CSV."""


def _number(text: str):
    text = text.strip()
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def parse_csv(text: str) -> list[dict]:
    """Every row of a perf_analyzer CSV, every column kept, numbers typed; empty cells are None."""
    reader = csv.reader(io.StringIO(text))
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    if not rows or rows[0][0] not in _LOAD_COLUMNS:
        first = rows[0][0] if rows else "(empty)"
        raise PerfCsvError(f"not a perf_analyzer CSV: first column is {first!r}, expected "
                           f"one of {', '.join(_LOAD_COLUMNS)}")
    header = [name.strip() for name in rows[0]]
    return [{name: _number(cell) for name, cell in zip(header, row)} for row in rows[1:]]


def summarize(rows: list[dict]) -> list[dict]:
    """The comparable numbers of each row, under stable snake_case keys (only the columns
    this perf_analyzer version wrote)."""
    out = []
    for row in rows:
        item = {key: row[col] for col, key in _LOAD_COLUMNS.items() if col in row}
        item.update({key: row[col] for col, key in _SUMMARY_COLUMNS.items() if col in row})
        out.append(item)
    return out
