# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One perf_analyzer run: its command line from the module's options, the run itself (a
host binary, or a client container with host networking), its raw files kept under one
name in an output directory, and the results read back from them.

The raw files of a run named ``N`` in the output directory:

- ``N.csv``: perf_analyzer's ``-f`` CSV;
- ``N.log``: what it printed (stdout, then stderr); it runs with ``-v``, so each
  measurement window is a ``Pass [k]`` line under its load level;
- ``N.windows.json``: the measurement windows of each load level;
- ``N.profile.json``: only with ``profile_export``: perf_analyzer's
  ``--profile-export-file``, which holds every request's input and output tensors (about
  0.6 MB per ResNet50 request at batch 1: 600 MB for a one-minute sweep of a CPU server,
  far more on a GPU), so it is off by default. With it, the windows are its measured
  window boundaries; without it, the ``Pass`` lines times the window perf_analyzer
  measures in time_windows mode: 1.2 x ``--measurement-interval`` (its
  inference_profiler sleeps ``measurement_window_ms_ * 1.2`` per window; the captured
  exports in tests/fixtures/perf_analyzer show the same).

perf_analyzer writes into a staging directory first (mode 0777: the slim client image
runs as an unprivileged user), then the files are moved into place, so a failed run leaves
no half-written CSV under the final name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from decimal import Decimal, InvalidOperation

from ansible_collections.inferops.triton.plugins.module_utils.bench._perf import (
    _LOAD_COLUMNS,
    parse_csv,
    parse_profile_export,
    summarize,
)

LOAD_OPTIONS = {"concurrency": "concurrency_range", "request_rate": "request_rate_range"}
DEFAULT_PORTS = {"grpc": 8001, "http": 8000}
_UNSTABLE = "Failed to obtain stable measurement"


class PerfRunError(ValueError):
    """Options that perf_analyzer would refuse, or a run that did not finish."""


def parse_range(text: str, option: str, integer: bool) -> list:
    """The load levels of ``start[:end[:step]]``, as perf_analyzer walks them."""
    parts = str(text).split(":")
    kind = "whole numbers" if integer else "numbers"
    try:
        if len(parts) > 3:
            raise ValueError
        values = [Decimal(p) for p in parts]
        if integer and any(v != v.to_integral_value() for v in values):
            raise ValueError
    except (InvalidOperation, ValueError):
        raise PerfRunError(f"{option}={text!r}: expected start[:end[:step]] with {kind}, "
                           f"for example '1:8:2'") from None
    start = values[0]
    end = values[1] if len(values) > 1 else start
    step = values[2] if len(values) > 2 else Decimal(1)
    if start <= 0 or end < start or step <= 0:
        raise PerfRunError(f"{option}={text!r}: start must be above 0, end at least start "
                           f"and step above 0")
    levels = []
    value = start
    while value <= end:
        levels.append(int(value) if integer else float(value))
        value += step
    return levels


def load_of(params: dict) -> tuple[str, str]:
    """(load key, range text): concurrency by default, at a concurrency of 1."""
    if params.get("request_rate_range"):
        return "request_rate", str(params["request_rate_range"])
    return "concurrency", str(params.get("concurrency_range") or "1")


def requested_levels(params: dict) -> list:
    """The load levels of the run's range (raises PerfRunError on a bad range)."""
    key, text = load_of(params)
    return parse_range(text, LOAD_OPTIONS[key], integer=key == "concurrency")


def perf_args(params: dict, results_dir: str, name: str) -> list[str]:
    """perf_analyzer's arguments; its files go to ``results_dir`` as it sees it."""
    key, text = load_of(params)
    protocol = params["protocol"]
    url = params.get("url") or f"127.0.0.1:{DEFAULT_PORTS[protocol]}"
    args = ["-m", params["model"], "-b", str(params["batch_size"]), "-i", protocol, "-u", url,
            f"--{LOAD_OPTIONS[key].replace('_', '-')}={text}",
            f"--measurement-mode={params['measurement_mode']}"]
    if params["measurement_mode"] == "count_windows":
        args.append(f"--measurement-request-count={params['measurement_request_count']}")
    args.append(f"--measurement-interval={params['measurement_interval']}")
    args += [f"--stability-percentage={params['stability_percentage']}",
             f"--max-trials={params['max_trials']}"]
    if params.get("model_version"):
        args += ["-x", str(params["model_version"])]
    if params.get("percentile"):
        args.append(f"--percentile={params['percentile']}")
    if params.get("input_data"):
        args.append(f"--input-data={params['input_data']}")
    for shape in params.get("shapes") or []:
        args += ["--shape", shape]
    if params.get("verbose_csv"):
        args.append("--verbose-csv")
    if params.get("collect_metrics"):
        args.append("--collect-metrics")
        if params.get("metrics_url"):
            args.append(f"--metrics-url={params['metrics_url']}")
    args += ["-v", "-f", f"{results_dir}/{name}.csv"]
    if params.get("profile_export"):
        args.append(f"--profile-export-file={results_dir}/{name}.profile.json")
    return args + list(params.get("extra_args") or [])


# perf_analyzer's window in time_windows mode is 1.2 x --measurement-interval
WINDOW_FACTOR = 1.2
_LEVEL = re.compile(r"^(Request concurrency|Request Rate): ([0-9.]+)")
_PASS = re.compile(r"^\s+Pass \[(\d+)\] ")


def windows_from_passes(stdout: str, params: dict) -> dict:
    """The measurement windows of each load level from the ``Pass [k]`` lines of ``-v``:
    their count, and in time_windows mode their length (1.2 x the interval)."""
    key = load_of(params)[0]
    window = (params["measurement_interval"] * WINDOW_FACTOR / 1000
              if params["measurement_mode"] == "time_windows" else None)
    experiments = []
    for line in stdout.splitlines():
        level = _LEVEL.match(line)
        if level:
            value = float(level[2])
            experiments.append({"mode": key, "value": int(value) if value.is_integer()
                                else value, "windows": 0})
        elif _PASS.match(line) and experiments:
            experiments[-1]["windows"] += 1
    for exp in experiments:
        exp["measured_seconds"] = round(exp["windows"] * window, 3) if window else None
    measured = (round(sum(e["measured_seconds"] for e in experiments), 3)
                if window is not None else None)
    return {"source": "passes", "window_seconds": window, "experiments": experiments,
            "measured_seconds": measured}


def command(params: dict, staging: str, name: str, container: str) -> list[str]:
    """The whole command: the host binary, or a client container on the host network."""
    if not params.get("image"):
        return [params["executable"], *perf_args(params, staging, name)]
    argv = [params["docker"], "run", "--rm", "--name", container, "--network=host",
            f"--volume={staging}:/results"]
    data = params.get("input_data") or ""
    if data.startswith("/"):
        argv.append(f"--volume={data}:{data}:ro")
    return [*argv, "--entrypoint", "perf_analyzer", params["image"],
            *perf_args(params, "/results", name)]


# perf_analyzer's options the benchmark sets from its own settings (short and long forms),
# each with the setting: extra_args may not set them again.
RESERVED_PERF_ARGS = {
    "-m": "model", "--model-name": "model", "-x": "model_version",
    "--model-version": "model_version", "-b": "batch_size", "--batch-size": "batch_size",
    "-i": "protocol", "--protocol": "protocol", "-u": "url", "--url": "url",
    "--concurrency-range": "concurrency_range", "--request-rate-range": "request_rate_range",
    "--measurement-mode": "measurement_mode",
    "--measurement-request-count": "measurement_request_count",
    "-p": "measurement_interval", "--measurement-interval": "measurement_interval",
    "-s": "stability_percentage", "--stability-percentage": "stability_percentage",
    "-r": "max_trials", "--max-trials": "max_trials", "--percentile": "percentile",
    "--input-data": "input_data", "--shape": "shapes", "--verbose-csv": "verbose_csv",
    "--collect-metrics": "collect_metrics", "--metrics-url": "metrics_url",
    "-f": "the raw result files", "--latency-report-file": "the raw result files",
    "--profile-export-file": "profile_export",
}


def problems(params: dict, names: dict | None = None) -> list[str]:
    """Everything perf_analyzer would refuse in ``params``, said before anything runs.
    ``names`` renames options in the messages (the benchmark role's variables)."""
    names = names or {}

    def name(option):
        return names.get(option, option)

    errors = []
    if params.get("concurrency_range") and params.get("request_rate_range"):
        errors.append(f"{name('concurrency_range')} and {name('request_rate_range')} are "
                      "exclusive: perf_analyzer runs one load mode per run")
    for option, integer in (("concurrency_range", True), ("request_rate_range", False)):
        if params.get(option):
            try:
                parse_range(params[option], name(option), integer)
            except PerfRunError as exc:
                errors.append(str(exc))
    for option, low in (("batch_size", 1), ("measurement_interval", 1),
                        ("measurement_request_count", 1), ("stability_percentage", 1),
                        ("max_trials", 1)):
        if option in params and params[option] < low:
            errors.append(f"{name(option)}={params[option]}: must be {low} or more")
    if params.get("percentile") is not None and not 1 <= params["percentile"] <= 99:
        errors.append(f"{name('percentile')}={params['percentile']}: must be 1 to 99")
    for shape in params.get("shapes") or []:
        tensor, dims = shape.rpartition(":")[::2]
        if not tensor or not all(d.strip().isdigit() for d in dims.split(",")):
            errors.append(f"{name('shapes')}: {shape!r} is not <input name>:<dim>[,<dim>...], "
                          "for example 'data:3,224,224'")
    file_name = params.get("name") or ""
    if "/" in file_name or file_name in (".", ".."):
        errors.append(f"{name('name')}={file_name!r}: a file name without '/', used for the "
                      "raw files")
    for arg in params.get("extra_args") or []:
        option = str(arg).split("=", 1)[0]
        if option in RESERVED_PERF_ARGS:
            setting = RESERVED_PERF_ARGS[option]
            errors.append(f"{name('extra_args')}: {str(arg)!r} sets {option}, which the "
                          f"benchmark sets from {name(setting)}; use that instead")
    return errors


def validate(params: dict) -> None:
    """What perf_analyzer would refuse, said before anything runs."""
    errors = problems(params)
    if errors:
        raise PerfRunError("; ".join(errors))


def cell_name(model: str, batch_size: int) -> str:
    """A cell's name: its files are ``<name>.csv`` and ``<name>.json``."""
    return f"{model}-b{batch_size}"


def default_name(params: dict) -> str:
    key, text = load_of(params)
    tag = "c" if key == "concurrency" else "r"
    return f"{cell_name(params['model'], params['batch_size'])}-{tag}{text.replace(':', '_')}"


def sweep(models: list, batch_sizes: list, concurrency_range: str = "",
          request_rate_range: str = "") -> dict:
    """The benchmark role's sweep: the load it varies (``load``: request_rate when a request
    rate range is set, else concurrency, as :func:`load_of` decides for one run), its
    ``range``, and one cell per model and batch size, in that order (``cells``: ``index``
    from 1, ``model``, ``batch_size``, ``name`` and ``title``, the line that says which cell
    runs and how many remain)."""
    key, text = load_of({"concurrency_range": concurrency_range,
                         "request_rate_range": request_rate_range})
    pairs = [(model, int(batch)) for model in models for batch in batch_sizes]
    cells = [{"index": index, "model": model, "batch_size": batch,
              "name": cell_name(model, batch),
              "title": f"Cell {index}/{len(pairs)} ({len(pairs) - index} after it): {model} "
                       f"batch {batch}, {key.replace('_', ' ')} {text}"}
             for index, (model, batch) in enumerate(pairs, start=1)]
    return {"load": key, "range": text, "cells": cells}


def missing_levels(params: dict, rows: list[dict]) -> list:
    """The requested load levels with no row: perf_analyzer could not stabilise them."""
    key = load_of(params)[0]
    levels = requested_levels(params)
    column = next(col for col, name in _LOAD_COLUMNS.items() if name == key)
    seen = {float(row[column]) for row in rows if isinstance(row.get(column), (int, float))}
    if key == "request_rate":
        # perf_analyzer reports the rate it reached, which may differ a little from the asked one
        return [lv for lv in levels if not any(abs(s - lv) <= 0.05 * lv for s in seen)]
    return [lv for lv in levels if float(lv) not in seen]


def utc_text(ts: float | None = None) -> str:
    """A time (now by default) as the benchmark writes it: UTC, ``YYYY-MM-DDTHH:MM:SSZ`` (the
    module's ``started`` and ``ended``, and a host summary's)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def run(params: dict) -> dict:
    """Run perf_analyzer once; the raw files end in ``output_dir``; the results read back."""
    validate(params)
    out_dir = params["output_dir"]
    name = params.get("name") or default_name(params)
    os.makedirs(out_dir, mode=0o755, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{name}.", dir=out_dir)
    container = f"perf-analyzer-{uuid.uuid4().hex[:12]}"
    try:
        os.chmod(staging, 0o777)  # noqa: S103 - the client image's user writes here
        argv = command(params, staging, name, container)
        started = time.time()
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, check=False,
                                  timeout=params.get("timeout") or None)
        except subprocess.TimeoutExpired:
            if params.get("image"):
                subprocess.run([params["docker"], "rm", "-f", container], capture_output=True,
                               check=False)
            raise PerfRunError(f"perf_analyzer did not finish within timeout="
                               f"{params['timeout']} s: {' '.join(argv)}") from None
        except FileNotFoundError as exc:
            raise PerfRunError(f"cannot run {argv[0]!r}: {exc.strerror} (set executable to "
                               f"perf_analyzer's path, or image to a client image)") from None
        ended = time.time()
        files = {}
        with open(os.path.join(staging, f"{name}.log"), "w", encoding="utf-8") as log:
            log.write(proc.stdout + proc.stderr)
        export = os.path.join(staging, f"{name}.profile.json")
        if os.path.exists(export):
            with open(export, encoding="utf-8") as fh:
                profile = dict(parse_profile_export(fh.read()), source="profile export")
        else:
            profile = windows_from_passes(proc.stdout, params)
        with open(os.path.join(staging, f"{name}.windows.json"), "w", encoding="utf-8") as fh:
            json.dump(profile, fh, indent=1)
        for kind, suffix in (("csv", ".csv"), ("windows", ".windows.json"),
                             ("profile", ".profile.json"), ("log", ".log")):
            src = os.path.join(staging, name + suffix)
            if os.path.exists(src):
                dest = os.path.join(out_dir, name + suffix)
                shutil.move(src, dest)
                os.chmod(dest, 0o644)
                files[kind] = dest
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # "exit_code", not "rc": Ansible fails any result whose rc is not 0, and a level that
    # did not stabilise makes perf_analyzer exit 2 after measuring the others.
    result = {"cmd": argv, "exit_code": proc.returncode, "stdout": proc.stdout,
              "stderr": proc.stderr, "files": files, "name": name, "started": utc_text(started),
              "ended": utc_text(ended), "elapsed_seconds": round(ended - started, 3),
              "load_mode": load_of(params)[0], "rows": [], "results": [], "profile": profile,
              "measured_seconds": profile.get("measured_seconds", 0.0)}
    if "csv" in files:
        with open(files["csv"], encoding="utf-8") as fh:
            result["rows"] = parse_csv(fh.read())
        result["results"] = summarize(result["rows"])
    # perf_analyzer ends with an error when a level did not stabilise, after writing the
    # levels that did: those runs are results with unstable levels, not failures. A run
    # that ended well but wrote no CSV is a failure (not perf_analyzer, or not measuring).
    said = proc.stdout + proc.stderr
    result["unstable"] = []
    if _UNSTABLE in said or (proc.returncode == 0 and "csv" in files):
        result["unstable"] = missing_levels(params, result["rows"])
    result["failed"] = not result["unstable"] and (proc.returncode != 0 or "csv" not in files)
    return result
