# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's benchmark results on the controller: its ``summary.json``, built and checked here.

The benchmark role writes one per measured host, ``<benchmark_results_dir>/<run id>/<host>/
summary.json`` (:func:`host_summary`, through the ``inferops.triton.benchmark_host_summary``
filter), beside the raw files it fetched; the fleet report reads it back
(:func:`check_host_summary`, from ``_load_controller.load_run``). Its shape::

    {"run_id": str, "host": str,
     "started": "YYYY-MM-DDTHH:MM:SSZ", "ended": "YYYY-MM-DDTHH:MM:SSZ",   # the sweep, UTC
     "metadata": {
         "server_image": str | None,          # the image the server container runs
         "server_image_id": str | None, "server_image_digest": str | None,
         "rocm_version": str | None, "gpu_model": str | None, "gpu_count": int,
         "perf_analyzer_version": str | None, # what `perf_analyzer --version` printed
         "client": "slim" | "image" | "binary", "client_image": str | None,
         "client_host": str, "protocol": "grpc" | "http",
         "load_mode": "concurrency" | "request_rate", "load_range": "start:end[:step]",
         "input_data": str, "stabilised_on": "p<N>" | "average latency",
         "measurement_interval_ms": int,
         "model_config_sha256": {model: sha256 of its config.pbtxt | None}},
     "results": [{"model": str, "batch_size": int, "csv": "<cell>.csv",
                  "concurrency" | "request_rate": N,
                  ...the summary keys of _perf.summarize (throughput_infer_per_sec,
                     p50_latency_us ... p99_latency_us, server_queue_us, ...)}],
     "unstable": [{"model": str, "batch_size": int, "concurrency" | "request_rate": N}],
     "cells": [{"model": str, "batch_size": int, "csv": "<cell>.csv",
                ...what the perf_analyzer module returned as ``observed`` (the shape is
                   _observe.Observer's: seconds, server, server_reason, gpu, gpu_reason,
                   inferences_per_joule)}],
     "measurement_seconds": float,   # the sum of perf_analyzer's measurement windows
     "perf_analyzer_seconds": float} # the sum of its runs' wall times

One entry of ``results`` per load level perf_analyzer measured, one of ``unstable`` per
level it could not stabilise, one of ``cells`` per perf_analyzer run (summaries written
before the server and GPU were read have no ``cells``). The fleet report's own
``<run id>/summary.json`` is another shape, built by ``_render_controller.fleet_summary``.

Standard library only, but it runs on the controller: the benchmark_host_summary filter and
the benchmark_report module (delegated to localhost) import it.
"""

from __future__ import annotations

from ansible_collections.inferops.triton.plugins.module_utils.bench._perf_run import utc_text

LOAD_KEYS = ("concurrency", "request_rate")
# The keys of a host summary's metadata, in the order documented above.
METADATA_KEYS = ("server_image", "server_image_id", "server_image_digest", "rocm_version",
                 "gpu_model", "gpu_count", "perf_analyzer_version", "client", "client_image",
                 "client_host", "protocol", "load_mode", "load_range", "input_data",
                 "stabilised_on", "measurement_interval_ms", "model_config_sha256")


# A cell's ``observed`` when the perf_analyzer run returned none (a module of an older
# collection, or a run that failed before reading anything).
NOT_OBSERVED = {"seconds": None, "server": None, "server_reason": "not read", "gpu": None,
                "gpu_reason": "not read", "inferences_per_joule": None}


class BenchReportError(ValueError):
    """A run, a baseline or an option that cannot be reported on; the text says which."""


# --------------------------------------------------------------------------- building

def stabilised_on(percentile) -> str:
    """What perf_analyzer stabilises a load level on: ``p<N>`` with ``--percentile``, else
    the average latency."""
    return f"p{percentile}" if percentile else "average latency"


def host_metadata(*, rocm=None, server_ref=None, server_image=None, perf_analyzer_version=None,
                  model_config_sha256=None, client, client_image, client_host, protocol,
                  load_mode, load_range, input_data, percentile=None,
                  measurement_interval_ms) -> dict:
    """The ``metadata`` of a host summary.

    ``rocm``: the ``rocm`` facts of ``inferops.triton.rocm_facts`` (``rocm_version``,
    ``gpus``: the first GPU's ``name``, else its ``gfx_target``, is the model); ``server_ref``
    the image reference the server container runs; ``server_image`` that image as
    ``inferops.triton.image_info`` returns it (``id``, ``repo_digests``: the first is the
    digest); ``client_image`` is recorded unless the client is ``binary``.
    """
    rocm = rocm or {}
    gpus = rocm.get("gpus") or []
    image = server_image or {}
    return {
        "server_image": server_ref or None,
        "server_image_id": image.get("id"),
        "server_image_digest": (image.get("repo_digests") or [None])[0],
        "rocm_version": rocm.get("rocm_version"),
        "gpu_model": (gpus[0].get("name") or gpus[0].get("gfx_target")) if gpus else None,
        "gpu_count": len(gpus),
        "perf_analyzer_version": perf_analyzer_version or None,
        "client": client,
        "client_image": client_image if client != "binary" else None,
        "client_host": client_host,
        "protocol": protocol,
        "load_mode": load_mode,
        "load_range": load_range,
        "input_data": input_data,
        "stabilised_on": stabilised_on(percentile),
        "measurement_interval_ms": measurement_interval_ms,
        "model_config_sha256": dict(model_config_sha256 or {}),
    }


def host_summary(cells, *, run_id, host, started, ended=None, metadata: dict) -> dict:
    """A host's ``summary.json`` (the shape in this module's docstring), from its measured
    cells and its :func:`host_metadata`.

    ``cells``: one per perf_analyzer run, in the order measured, each ``{"cell": {"model",
    "batch_size", "name"}, "results": [perf_analyzer's results], "unstable": [load levels],
    "measured_seconds", "elapsed_seconds", "observed"}`` (a missing or null number counts 0).
    Each result is kept whole, with the cell's model, batch size and CSV file
    (``<name>.csv``); each unstable level is keyed by ``metadata["load_mode"]``; ``observed``
    (the module's, :data:`NOT_OBSERVED` when missing or null) becomes the cell's entry of
    ``cells``. ``ended`` defaults to now.
    """
    load_mode = metadata["load_mode"]
    results, unstable, observed = [], [], []
    measured = elapsed = 0
    for index, entry in enumerate(cells):
        try:
            cell = entry["cell"]
            identity = {"model": cell["model"], "batch_size": cell["batch_size"]}
            results += [{**identity, "csv": f"{cell['name']}.csv", **result}
                        for result in entry.get("results") or []]
            unstable += [{**identity, load_mode: level} for level in entry.get("unstable") or []]
            observed.append({**identity, "csv": f"{cell['name']}.csv",
                             **(entry.get("observed") or NOT_OBSERVED)})
        except (KeyError, TypeError) as exc:
            raise BenchReportError(f"measured cell {index}: expected {{'cell': {{'model', "
                                   f"'batch_size', 'name'}}, 'results', 'unstable', ...}}, "
                                   f"got {str(entry)[:120]} ({exc!r})") from None
        measured += entry.get("measured_seconds") or 0
        elapsed += entry.get("elapsed_seconds") or 0
    summary = {
        "run_id": run_id,
        "host": host,
        "started": started,
        "ended": ended or utc_text(),
        "metadata": metadata,
        "results": results,
        "unstable": unstable,
        "cells": observed,
        "measurement_seconds": round(measured, 3),
        "perf_analyzer_seconds": round(elapsed, 3),
    }
    check_host_summary(summary, f"summary of host {host}")
    return summary


# The benchmark role's registered results, read once here.

def server_ref_of(inspect_result) -> str:
    """The image reference of the first server container ``docker inspect --format
    {{.Config.Image}} <name> <name>-0`` printed (one server per GPU: the first instance), or
    "" when neither runs."""
    lines = (inspect_result or {}).get("stdout_lines") or []
    return lines[0] if lines else ""


def image_of(image_info_result, ref: str) -> dict:
    """``ref``'s entry in an ``inferops.triton.image_info`` result ({} when it was skipped or
    does not hold it)."""
    return ((image_info_result or {}).get("images") or {}).get(ref) or {}


def version_of(version_runs, client_host: str) -> str:
    """What ``perf_analyzer --version`` printed on ``client_host`` (stdout, then stderr), from
    the looped command's registered result; "" when it printed nothing."""
    return "".join(f"{run.get('stdout') or ''} {run.get('stderr') or ''}".strip()
                   for run in (version_runs or {}).get("results") or []
                   if run.get("item") == client_host)


def config_hashes(stat_runs) -> dict:
    """{model: sha256} from the looped ``ansible.builtin.stat`` of each model's config.pbtxt
    (None for a config that is not there)."""
    return {run["item"]: (run.get("stat") or {}).get("checksum")
            for run in (stat_runs or {}).get("results") or []}


# --------------------------------------------------------------------------- checking

def load_key(entry: dict, where: str) -> str:
    """``concurrency`` or ``request_rate``: the one of them ``entry`` holds."""
    keys = [key for key in LOAD_KEYS if entry.get(key) is not None]
    if len(keys) != 1:
        raise BenchReportError(f"{where}: expected exactly one of concurrency or request_rate, "
                               f"found {keys or 'neither'}")
    return keys[0]


def check_host_summary(data, where) -> None:
    """What the fleet report needs of a host summary: an object whose ``results`` and
    ``unstable`` (either may be missing or null) are lists of objects with a ``model``, a
    ``batch_size`` and exactly one load key, and whose ``cells`` (may be missing or null)
    are objects with a ``model`` and a ``batch_size``. ``where`` starts each message (a
    path)."""
    if not isinstance(data, dict):
        raise BenchReportError(f"{where} holds JSON but not an object")
    for field in ("results", "unstable", "cells"):
        value = data.get(field, [])
        if value is None:
            continue
        if not isinstance(value, list):
            raise BenchReportError(f"{where}: {field!r} must be a list, got {type(value).__name__}")
        for index, entry in enumerate(value):
            here = f"{where}: {field}[{index}]"
            if not isinstance(entry, dict):
                raise BenchReportError(f"{here} is not an object")
            for key in ("model", "batch_size"):
                if entry.get(key) is None:
                    raise BenchReportError(f"{here} has no {key!r}")
            if field != "cells":
                load_key(entry, here)
