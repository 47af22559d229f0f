# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""perf_analyzer results, from the three things it writes:

- its ``-f`` CSV (:func:`parse_csv`, :func:`summarize`): one row per load level, with
  ``--verbose-csv`` the ``Avg latency`` (when no ``--percentile`` is set),
  ``request/response`` and ``response wait`` columns, and with ``--collect-metrics`` four GPU
  metric columns whose cells are ``<gpu uuid>:<value>;`` pairs (empty on a server without
  GPU metrics, as a CPU server);
- its ``--profile-export-file`` JSON (:func:`parse_profile_export`): every request of every
  load level and the boundaries of every measurement window;
- its human stdout (:func:`parse_stdout`): the ``Request concurrency: N`` /
  ``Request Rate: N inference requests per second`` blocks.

perf_analyzer writes times in microseconds (``usec``) in the CSV and stdout, and in
nanoseconds since the epoch in the profile export. The CSV's first column is
``Concurrency`` or ``Request Rate`` depending on the mode, and its rows come in order of
increasing throughput, not of load level; the parsers keep the order they read.

The summary keys (:func:`summarize`, :func:`parse_stdout`) are the same for the same number
in either source: ``concurrency`` or ``request_rate``, ``throughput_infer_per_sec``,
``p50_latency_us`` ... ``p99_latency_us``, ``avg_latency_us``, ``server_queue_us``,
``server_compute_input_us``, ``server_compute_infer_us``, ``server_compute_output_us``,
``client_request_response_us`` (send + receive: gRPC (un)marshalling, HTTP send/recv),
``client_response_wait_us``, ``gpu_utilization`` (a fraction, 0 to 1), ``gpu_power_usage``
(watts), ``gpu_memory_used_bytes``, ``gpu_memory_total_bytes``; each GPU metric maps a GPU
UUID to its value, or is None when perf_analyzer collected metrics but the server had none.
"""

from __future__ import annotations

import csv
import io
import json
import re

# CSV column -> summary key (microseconds unless said otherwise)
_SUMMARY_COLUMNS = {
    "Inferences/Second": "throughput_infer_per_sec",
    "Response Throughput": "response_throughput",
    "p50 latency": "p50_latency_us",
    "p90 latency": "p90_latency_us",
    "p95 latency": "p95_latency_us",
    "p99 latency": "p99_latency_us",
    "Avg latency": "avg_latency_us",
    "Client Send": "client_send_us",
    "Network+Server Send/Recv": "network_server_send_recv_us",
    "Server Queue": "server_queue_us",
    "Server Compute Input": "server_compute_input_us",
    "Server Compute Infer": "server_compute_infer_us",
    "Server Compute Output": "server_compute_output_us",
    "Server Cache Hit": "server_cache_hit_us",
    "Server Cache Miss": "server_cache_miss_us",
    "Client Recv": "client_recv_us",
    "request/response": "client_request_response_us",
    "response wait": "client_response_wait_us",
    "Avg First Token Latency": "avg_first_token_latency_us",
    "Avg Token-to-Token Latency": "avg_token_to_token_latency_us",
}
# --collect-metrics with --verbose-csv: one column per metric, "<uuid>:<value>;" per GPU
_GPU_COLUMNS = {
    "Avg GPU Utilization": "gpu_utilization",
    "Avg GPU Power Usage": "gpu_power_usage",
    "Max GPU Memory Usage": "gpu_memory_used_bytes",
    "Total GPU Memory": "gpu_memory_total_bytes",
}
_LOAD_COLUMNS = {"Concurrency": "concurrency", "Request Rate": "request_rate"}
# perf_analyzer writes p50/p90/p95/p99, plus the --percentile one when it is another
_PERCENTILE_COLUMN = re.compile(r"^p(\d+) latency$")

# perf_analyzer reports a load level over its last three measurement windows
# (InferenceProfiler: load_parameters_.stability_window = 3)
STABILITY_WINDOWS = 3
# Profile export keys holding tensors: every input and output of every request
_TENSOR_KEYS = ('"request_inputs"', '"response_outputs"')


class PerfCsvError(ValueError):
    """The text is not a perf_analyzer CSV."""


class PerfOutputError(PerfCsvError):
    """The text is not the perf_analyzer output it was taken for (profile export, stdout).
    A PerfCsvError, so callers that catch that catch every perf_analyzer output error."""


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


def _gpu_values(cell, column: str, line: int):
    """``<uuid>:<value>;<uuid>:<value>;`` -> {uuid: value}; an empty cell -> None."""
    if cell is None or str(cell).strip() == "":
        return None
    values = {}
    for pair in str(cell).strip().split(";"):
        if not pair:
            continue
        uuid, sep, value = pair.rpartition(":")
        number = _number(value)
        if not sep or not uuid or not isinstance(number, (int, float)):
            raise PerfCsvError(f"line {line}, column {column!r}: {cell!r} is not "
                               f"'<gpu uuid>:<value>;' pairs")
        values[uuid] = number
    return values or None


def parse_csv(text: str) -> list[dict]:
    """Every row of a perf_analyzer CSV, every column kept under its own name, numbers
    typed, empty cells None; the GPU metric columns as {gpu uuid: value} (None when
    empty). A row shorter than the header gets None for the missing columns; cells past the
    header must be empty (perf_analyzer's own documentation shows a trailing comma)."""
    reader = csv.reader(io.StringIO(text))
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if not rows or rows[0][1][0].strip() not in _LOAD_COLUMNS:
        first = rows[0][1][0] if rows else "(empty)"
        raise PerfCsvError(f"not a perf_analyzer CSV: first column is {first!r}, expected "
                           f"one of {', '.join(_LOAD_COLUMNS)}")
    header = [name.strip() for name in rows[0][1]]
    load = header[0]
    out = []
    for line, row in rows[1:]:
        if any(cell.strip() for cell in row[len(header):]):
            raise PerfCsvError(f"line {line}: {len(row)} cells for {len(header)} columns")
        cells = row + [""] * (len(header) - len(row))
        if not isinstance(_number(cells[0]), (int, float)):
            raise PerfCsvError(f"line {line}: {load} is {cells[0]!r}, not a number")
        out.append({name: (_gpu_values(cell, name, line) if name in _GPU_COLUMNS
                           else _number(cell))
                    for name, cell in zip(header, cells)})
    return out


def _summary_key(column: str):
    if column in _SUMMARY_COLUMNS:
        return _SUMMARY_COLUMNS[column]
    match = _PERCENTILE_COLUMN.match(column)
    return f"p{match.group(1)}_latency_us" if match else None


def summarize(rows: list[dict]) -> list[dict]:
    """The comparable numbers of each row, under stable snake_case keys (only the columns
    this perf_analyzer run wrote; the GPU metrics None when their cells were empty)."""
    out = []
    for row in rows:
        item = {key: row[col] for col, key in _LOAD_COLUMNS.items() if col in row}
        for column, value in row.items():
            key = _summary_key(column)
            if key:
                item[key] = value
        item.update({key: row[col] for col, key in _GPU_COLUMNS.items() if col in row})
        out.append(item)
    return out


# --- profile export ----------------------------------------------------------------------

_SPECIAL = re.compile(r'[\[\]{}"]')
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_COLON = re.compile(r"\s*:\s*")


def _skip_container(text: str, pos: int) -> int:
    """The position after the JSON array or object that starts at ``pos``."""
    depth = 0
    while True:
        match = _SPECIAL.search(text, pos)
        if match is None:
            raise PerfOutputError("not a perf_analyzer profile export: the JSON ends inside "
                                  "a request's tensors (a truncated file?)")
        pos = match.start()
        if text[pos] == '"':
            string = _STRING.match(text, pos)
            if string is None:
                raise PerfOutputError("not a perf_analyzer profile export: an unterminated "
                                      "string")
            pos = string.end()
            continue
        depth += 1 if text[pos] in "[{" else -1
        pos += 1
        if depth == 0:
            return pos


def _without_tensors(text: str) -> str:
    """The export with each ``request_inputs`` and ``response_outputs`` value replaced by
    ``null``. They hold every tensor of every request as JSON numbers (a ResNet50 request's
    input alone is 150528 of them, about 600 kB of text); dropping them on the text before
    ``json.loads`` keeps parsing to a scan of the file instead of building millions of
    floats. Strings are stepped over whole, so keys inside them are never taken for keys."""
    out, last, pos = [], 0, 0
    while True:
        match = _SPECIAL.search(text, pos)
        if match is None:
            break
        pos = match.start()
        if text[pos] != '"':
            pos += 1
            continue
        string = _STRING.match(text, pos)
        if string is None:
            raise PerfOutputError("not a perf_analyzer profile export: an unterminated string")
        pos = string.end()
        if string.group() in _TENSOR_KEYS:
            colon = _COLON.match(text, pos)
            if colon and colon.end() < len(text) and text[colon.end()] in "[{":
                end = _skip_container(text, colon.end())
                out.append(text[last:colon.end()])
                out.append("null")
                last = pos = end
    out.append(text[last:])
    return "".join(out)


def _experiment(entry, index: int) -> dict:
    where = f"experiments[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("experiment"), dict):
        raise PerfOutputError(f"not a perf_analyzer profile export: {where} has no "
                              f"'experiment' object")
    mode = entry["experiment"].get("mode")
    value = entry["experiment"].get("value")
    if mode not in ("concurrency", "request_rate") or isinstance(value, bool) \
            or not isinstance(value, (int, float)):
        raise PerfOutputError(f"{where}.experiment is {entry['experiment']!r}: expected a "
                              f"mode of 'concurrency' or 'request_rate' and a number")
    bounds = entry.get("window_boundaries")
    if not isinstance(bounds, list) or not all(
            isinstance(b, int) and not isinstance(b, bool) for b in bounds) \
            or any(b > a for a, b in zip(bounds[1:], bounds)):
        raise PerfOutputError(f"{where}.window_boundaries: expected increasing timestamps in "
                              f"nanoseconds, got {str(bounds)[:80]}")
    requests = entry.get("requests", [])
    if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
        raise PerfOutputError(f"{where}.requests: expected a list of requests")
    windows = max(len(bounds) - 1, 0)
    stable = min(windows, STABILITY_WINDOWS)
    first, last = (bounds[-1 - stable], bounds[-1]) if windows else (0, 0)
    # perf_analyzer counts a request in a window when its last response falls in it
    ends = [r["response_timestamps"][-1] for r in requests
            if isinstance(r.get("response_timestamps"), list) and r["response_timestamps"]
            and isinstance(r["response_timestamps"][-1], int)]
    stable_count = sum(1 for end in ends if first <= end <= last) if windows else 0
    stable_ns = last - first
    return {
        "mode": mode,
        "value": value,
        "request_count": len(requests),
        "window_boundaries_ns": bounds,
        "windows": windows,
        "measured_ns": bounds[-1] - bounds[0] if windows else 0,
        "stable_windows": stable,
        "stable_measured_ns": stable_ns,
        "stable_request_count": stable_count,
        "stable_requests_per_sec": stable_count * 1e9 / stable_ns if stable_ns else None,
    }


def parse_profile_export(text: str) -> dict:
    """perf_analyzer's ``--profile-export-file`` JSON, without the tensors::

        {"version": ..., "service_kind": ..., "endpoint": ...,
         "experiments": [{"mode": "concurrency" | "request_rate", "value": N,
                          "request_count": int, "window_boundaries_ns": [...],
                          "windows": int, "measured_ns": int,
                          "stable_windows": int, "stable_measured_ns": int,
                          "stable_request_count": int, "stable_requests_per_sec": float},
                         ...],
         "measured_seconds": float}

    One experiment per load level, in the order perf_analyzer ran them. Its
    ``window_boundaries`` are the start of its first measurement window, then the end of
    each window (nanoseconds since the epoch, back to back), so ``windows`` is their count
    minus one and ``measured_ns`` the last minus the first: every window perf_analyzer
    measured at that level, the unstable ones included. ``request_count`` counts every
    request the export recorded at that level (all windows). The ``stable_*`` keys are what
    perf_analyzer reports for the level: its last three windows (fewer if it ran fewer),
    the requests whose last response ended within them (boundaries included) - the
    ``Request count`` of its stdout - and those requests per second (times the batch size,
    its throughput).

    ``measured_seconds`` is the sum over the experiments of ``measured_ns`` / 1e9: the time
    perf_analyzer spent inside its own measurement windows. It leaves out its start-up, the
    model metadata and config queries, and the change from one load level to the next
    (a level's first window starts after its warm-up), so a run's wall time over it is
    perf_analyzer's overhead. A time window lasts about 1.2 times ``--measurement-interval``
    (perf_analyzer 2.60: 1.8 s for 1500 ms)."""
    if not isinstance(text, str):
        raise PerfOutputError(f"not a perf_analyzer profile export: expected its JSON text, "
                              f"got {type(text).__name__}")
    if not text.strip():
        raise PerfOutputError("not a perf_analyzer profile export: the text is empty")
    try:
        doc = json.loads(_without_tensors(text))
    except ValueError as exc:
        raise PerfOutputError(f"not a perf_analyzer profile export: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("experiments"), list):
        raise PerfOutputError("not a perf_analyzer profile export: expected a JSON object with "
                              "an 'experiments' list")
    experiments = [_experiment(entry, i) for i, entry in enumerate(doc["experiments"])]
    return {
        "version": doc.get("version"),
        "service_kind": doc.get("service_kind"),
        "endpoint": doc.get("endpoint"),
        "experiments": experiments,
        "measured_seconds": sum(e["measured_ns"] for e in experiments) / 1e9,
    }


# --- stdout ------------------------------------------------------------------------------

_LEVEL = (
    (re.compile(r"^Request concurrency: (\d+)\s*$"), "concurrency"),
    (re.compile(r"^Request Rate: (\S+) inference requests per second\s*$"), "request_rate"),
)
_SECTIONS = {"Client": "client", "Server": "server", "Server Prometheus Metrics": "metrics"}
_PART = re.compile(r"^(.+?) (\d+) usec$")
# "Avg gRPC time: ... (...)" / "Avg HTTP time: ... (...)" parts, plain and with -v
_CLIENT_PARTS = {
    "(un)marshal request/response": "client_request_response_us",
    "send/recv": "client_request_response_us",
    "response wait": "client_response_wait_us",
    "marshal": "client_send_us",
    "send": "client_send_us",
    "unmarshal": "client_recv_us",
    "receive": "client_recv_us",
}
# "Avg request latency: ... (...)" parts; with the response cache, "cache hit/miss";
# for an ensemble, "compute"
_SERVER_PARTS = {
    "overhead": "server_overhead_us",
    "queue": "server_queue_us",
    "compute input": "server_compute_input_us",
    "compute infer": "server_compute_infer_us",
    "compute output": "server_compute_output_us",
    "compute": "server_compute_us",
    "cache hit/miss": "server_cache_hit_miss_us",
}
_METRIC_HEADINGS = {
    "Avg GPU Utilization:": "gpu_utilization",
    "Avg GPU Power Usage:": "gpu_power_usage",
    "Max GPU Memory Usage:": "gpu_memory_used_bytes",
    "Total GPU Memory:": "gpu_memory_total_bytes",
}
_METRIC_VALUE = re.compile(r"^(\S+) : (\S+?)(%| watts| bytes)$")
_CLIENT_LINES = (
    (re.compile(r"^Request count: (\d+)$"), ("request_count",)),
    (re.compile(r"^Avg send request rate: (\S+) infer/sec$"), ("send_request_rate",)),
    (re.compile(r"^Sequence count: (\d+) \((\S+) seq/sec\)$"),
     ("sequence_count", "sequences_per_sec")),
    (re.compile(r"^Throughput: (\S+) infer/sec$"), ("throughput_infer_per_sec",)),
    (re.compile(r"^Response Throughput: (\S+) infer/sec$"), ("response_throughput",)),
    (re.compile(r"^Avg client overhead: (\S+)%$"), ("client_overhead_pct",)),
    (re.compile(r"^Avg latency: (\d+) usec \(standard deviation (\d+) usec\)$"),
     ("avg_latency_us", "latency_stddev_us")),
)
_SERVER_LINES = (
    (re.compile(r"^Inference count: (\d+)$"), ("server_inference_count",)),
    (re.compile(r"^Execution count: (\d+)$"), ("server_execution_count",)),
    (re.compile(r"^Cache hit count: (\d+)$"), ("server_cache_hit_count",)),
    (re.compile(r"^Cache miss count: (\d+)$"), ("server_cache_miss_count",)),
    (re.compile(r"^Successful request count: (\d+)$"), ("server_success_count",)),
    # printed instead of the above when the server counted no successful request
    (re.compile(r"^Request count: (\d+)$"), ("server_success_count",)),
    (re.compile(r"^Average Cache Hit Latency: (\d+) usec"), ("server_cache_hit_latency_us",)),
    (re.compile(r"^Average Cache Miss Latency: (\d+) usec"),
     ("server_cache_miss_latency_us",)),
)
_PERCENTILE_LINE = re.compile(r"^p(\d+) latency: (\d+) usec$")
_CLIENT_TIME = re.compile(r"^Avg (gRPC|HTTP) time: (\d+) usec \((.*)\)$")
_SERVER_LATENCY = re.compile(r"^Avg request latency: (\d+) usec(?: \((.*)\))?$")


def _parts(text: str, names: dict, level: dict) -> None:
    for part in text.split(" + "):
        match = _PART.match(part.strip())
        if match and match.group(1) in names:
            level[names[match.group(1)]] = int(match.group(2))


def _client_line(line: str, level: dict) -> None:
    for pattern, keys in _CLIENT_LINES:
        match = pattern.match(line)
        if match:
            level.update(zip(keys, (_number(g) for g in match.groups())))
            return
    match = _PERCENTILE_LINE.match(line)
    if match:
        level[f"p{match.group(1)}_latency_us"] = int(match.group(2))
        return
    match = _CLIENT_TIME.match(line)
    if match:
        level["protocol"] = match.group(1).lower()
        level["client_request_time_us"] = int(match.group(2))
        _parts(match.group(3), _CLIENT_PARTS, level)


def _server_line(line: str, level: dict) -> None:
    for pattern, keys in _SERVER_LINES:
        match = pattern.match(line)
        if match:
            level.update(zip(keys, (int(g) for g in match.groups())))
            return
    match = _SERVER_LATENCY.match(line)
    if match:
        level["server_request_latency_us"] = int(match.group(1))
        _parts(match.group(2) or "", _SERVER_PARTS, level)


def _metrics_line(line: str, level: dict, state: dict) -> None:
    if line in _METRIC_HEADINGS:
        state["metric"] = _METRIC_HEADINGS[line]
        level[state["metric"]] = None
        return
    match = _METRIC_VALUE.match(line)
    if match and state.get("metric"):
        value = _number(match.group(2))
        if match.group(3) == "%" and isinstance(value, (int, float)):
            value = value / 100.0  # stdout prints percent; the CSV and Triton a fraction
        level[state["metric"]] = dict(level[state["metric"]] or {}, **{match.group(1): value})


def parse_stdout(text: str) -> list[dict]:
    """The load levels of perf_analyzer's stdout, one dict per ``Request concurrency: N`` /
    ``Request Rate: N inference requests per second`` block, in the order printed, under
    the summary keys of :func:`summarize` where the number is the same (throughput,
    percentiles, average latency, server queue and compute times, client send/receive and
    response wait) plus what only the stdout says: ``request_count`` (the client's, over
    the level's last three windows), ``latency_stddev_us``, ``protocol`` (``grpc`` or
    ``http``) and ``client_request_time_us``, ``server_inference_count``,
    ``server_execution_count``, ``server_success_count``, ``server_request_latency_us``,
    ``server_overhead_us``, and ``warnings`` (perf_analyzer's ``[WARNING]`` lines) when there
    are any. GPU utilization is turned from the printed percent into a fraction, as in the
    CSV. A level that did not stabilise prints only its heading and is left out, as in the
    CSV; an ensemble's composing models are not read."""
    if not isinstance(text, str):
        raise PerfOutputError("not perf_analyzer output: expected text")
    levels, level, section, state = [], None, None, {}
    seen_heading = False
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        heading = None
        for pattern, key in _LEVEL:
            match = pattern.match(line)
            if match:
                heading = (key, _number(match.group(1)))
        if heading:
            seen_heading = True
            level, section, state = {heading[0]: heading[1]}, None, {}
            levels.append(level)
            continue
        if level is None:
            continue
        if stripped.startswith("[WARNING]"):
            level.setdefault("warnings", []).append(stripped)
            continue
        if line and not line.startswith(" "):
            level, section = None, None  # the closing summary, or anything else unindented
            continue
        if line.startswith("  ") and not line.startswith("   ") and stripped.endswith(":"):
            section = _SECTIONS.get(stripped[:-1].strip())
            state = {}
            continue
        if stripped == "Composing models:":
            section = None
        elif section == "client":
            _client_line(stripped, level)
        elif section == "server":
            _server_line(stripped, level)
        elif section == "metrics":
            _metrics_line(stripped, level, state)
    if not seen_heading:
        raise PerfOutputError("not perf_analyzer output: no 'Request concurrency: N' or "
                              "'Request Rate: N inference requests per second' line")
    return [lv for lv in levels if "throughput_infer_per_sec" in lv]
