# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Triton's per-model metrics: a parser of Prometheus' text format (the metrics port's
``GET /metrics``) and the ``nv_inference_*`` counters of each model summed over its
versions.

Travels to hosts; standard library only, no HTTP (``server/_client.py`` fetches the text).
"""

from __future__ import annotations

# Triton's per-model counters -> the keys returned for each model (summed over versions
# and any other labels, such as the failure ``reason`` newer servers add).
METRICS = {
    "nv_inference_request_success": "request_success",
    "nv_inference_request_failure": "request_failure",
    "nv_inference_count": "inference_count",
    "nv_inference_exec_count": "execution_count",
    "nv_inference_queue_duration_us": "queue_us",
    "nv_inference_compute_input_duration_us": "compute_input_us",
    "nv_inference_compute_infer_duration_us": "compute_infer_us",
    "nv_inference_compute_output_duration_us": "compute_output_us",
    "nv_inference_request_duration_us": "request_us",
}


class MetricsError(ValueError):
    """A line of the Prometheus text that is not a comment, blank or a sample."""


_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def parse_prometheus(text):
    """Samples of Prometheus' text format as ``(name, {label: value}, float)``.

    ``# HELP``/``# TYPE`` and other comment lines and blank lines are skipped; label values
    may hold ``\\\\``, ``\\"`` and ``\\n`` escapes (and commas, braces, spaces); the value
    may be ``NaN`` or ``+Inf``; a timestamp after it is ignored.
    """
    samples = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            samples.append(_parse_sample(line))
        except (ValueError, IndexError) as exc:
            raise MetricsError(f"metrics line {number}: {exc}: {line[:200]!r}") from None
    return samples


def _parse_sample(line):
    end = 0
    while end < len(line) and (line[end].isalnum() or line[end] in "_:"):
        end += 1
    name = line[:end]
    if not name or name[0].isdigit():
        raise ValueError("no metric name")
    labels = {}
    pos = end
    if pos < len(line) and line[pos] == "{":
        pos += 1
        while True:
            while line[pos] in " \t":
                pos += 1
            if line[pos] == "}":
                pos += 1
                break
            eq = line.index("=", pos)
            label = line[pos:eq].strip()
            pos = eq + 1
            while line[pos] in " \t":
                pos += 1
            if line[pos] != '"':
                raise ValueError(f"label {label}: value not quoted")
            pos += 1
            value = []
            while line[pos] != '"':
                if line[pos] == "\\":
                    pos += 1
                    value.append(_ESCAPES.get(line[pos], "\\" + line[pos]))
                else:
                    value.append(line[pos])
                pos += 1
            labels[label] = "".join(value)
            pos += 1
            while line[pos] in " \t":
                pos += 1
            if line[pos] == ",":
                pos += 1
            elif line[pos] != "}":
                raise ValueError(f"unexpected {line[pos]!r} after label {label}")
    rest = line[pos:].split()
    if not rest:
        raise ValueError("no value")
    return name, labels, float(rest[0])


def model_metrics(samples, models=None):
    """``{model: {request_success, ..., request_us}}`` from the samples: each known metric
    summed over the model's versions, 0 where absent; other metrics are ignored. With
    ``models``, only those models."""
    wanted = set(models) if models else None
    result = {}
    for name, labels, value in samples:
        key = METRICS.get(name)
        model = labels.get("model")
        if key is None or model is None or (wanted is not None and model not in wanted):
            continue
        if model not in result:
            result[model] = dict.fromkeys(METRICS.values(), 0)
        result[model][key] += value
    for counters in result.values():
        for key, value in counters.items():
            if isinstance(value, float) and value.is_integer():
                counters[key] = int(value)
    return result
