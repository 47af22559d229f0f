# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the server and the GPU did during one benchmark cell (one perf_analyzer run), read
on the client host around the run (:class:`Observer`), from two Prometheus endpoints:

- **Triton's metrics port** (``http://<server>:8002/metrics``), read once before and once
  after the run: the model's ``nv_inference_*`` counters (``server/_metrics.py``), whose
  differences are what the server did for the cell - requests, failures, inferences,
  executions, and the queue and compute time per request (Triton adds each request's
  durations to the counters, so the difference divided by the successful requests is the
  mean per request, the basis of perf_analyzer's own "Server Queue" columns). They count
  everything the server did for the model in that time: perf_analyzer's warm-up, every
  load level, unstable windows, and any other client's requests.
- **AMD's device metrics exporter** (``http://<host>:5000/metrics``; Triton's own GPU
  metrics come from NVIDIA's DCGM and are absent on AMD GPUs), read before, every
  ``interval`` seconds during the run (at most ``max_samples`` times) and after. Which of its
  metrics are read is decided here only (:data:`EXPORTER_POWER`, :data:`EXPORTER_ACTIVITY`,
  :data:`EXPORTER_ENERGY`; the exporter's metric names are its field names in lower case,
  after the configured ``MetricsFieldPrefix``, empty by default). All the GPUs the exporter
  reports are counted: power and energy summed over them, activity averaged.

Energy is the difference of the exporter's energy counter (``gpu_energy_consumed``, in
microjoules) when both readings carry it, else the mean power of the samples times the time
between the two readings of the server's counters; inferences per joule are the server's
inferences over that energy. A column that cannot be filled is None with a reason
(``server_reason``, ``gpu_reason``) that the report prints.

Travels to hosts: standard library and the collection's host files only.
"""

from __future__ import annotations

import math
import threading
import time

from ansible_collections.inferops.triton.plugins.module_utils.server._client import (
    Unreachable,
    urllib_transport,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._metrics import (
    METRICS,
    MetricsError,
    model_metrics,
    parse_prometheus,
)

# AMD device metrics exporter (docs/configuration/metricslist.md), without the prefix.
# Power in watts, in order of preference: GPU_PACKAGE_POWER (MI3xx, current socket power),
# GPU_POWER_USAGE (MI2xx, MI3xx), GPU_AVERAGE_PACKAGE_POWER (MI2xx, Radeon). In a partitioned
# GPU only partition 0 reports power and the others 0, so a GPU's series are summed.
EXPORTER_POWER = ("gpu_package_power", "gpu_power_usage", "gpu_average_package_power")
# GPU_GFX_ACTIVITY: graphics engine use, 0-100 %; only partition 0 reports it (the maximum
# of a GPU's series is taken).
EXPORTER_ACTIVITY = "gpu_gfx_activity"
# GPU_ENERGY_CONSUMED: accumulated energy in microjoules.
EXPORTER_ENERGY = "gpu_energy_consumed"
# The label that names a GPU in every exporter series.
EXPORTER_GPU_LABEL = "gpu_id"

FETCH_TIMEOUT = 5


def gpu_absent_reason(flavour: str) -> str:
    """Why a cell has no GPU columns when no exporter URL is given: the CPU flavour has no
    GPU; any other server has one, but nobody said where its exporter answers."""
    if flavour == "cpu":
        return "no GPU: CPU flavour"
    return "no exporter configured (no exporter URL given)"


def full_url(url: str) -> str:
    """``url`` with ``http://`` when it names no scheme (perf_analyzer's ``--metrics-url`` is
    commonly given as ``host:port/metrics``)."""
    return url if "://" in url else f"http://{url}"


def fetch_text(url: str, timeout: float = FETCH_TIMEOUT) -> str:
    """The body of ``GET url``; Unreachable(reason) when nothing answers or the status is not
    200."""
    response = urllib_transport("GET", url, timeout=timeout)
    if response.status != 200:
        raise Unreachable(f"HTTP {response.status}")
    return response.body.decode("utf-8", "replace")


# --------------------------------------------------------------------------- server

def server_delta(before: str, after: str, model: str) -> dict:
    """The model's counters after the cell minus before (Prometheus texts of Triton's metrics
    port): ``requests``, ``failures``, ``inferences``, ``executions`` and the mean per
    successful request of ``queue_us``, ``compute_input_us``, ``compute_infer_us``,
    ``compute_output_us`` and their sum ``compute_us`` (None without a request). Raises
    ValueError with the reason when the model is not in the metrics or a counter went back
    (the server restarted during the cell)."""
    first = model_metrics(parse_prometheus(before), [model]).get(model)
    last = model_metrics(parse_prometheus(after), [model]).get(model)
    if last is None:
        raise ValueError(f"model {model} is not in the server's metrics")
    first = first or dict.fromkeys(METRICS.values(), 0)
    delta = {key: last[key] - first[key] for key in last}
    if any(value < 0 for value in delta.values()):
        raise ValueError("the server's counters went back during the cell (it restarted)")
    requests = delta["request_success"]

    def per_request(value):
        return round(value / requests, 1) if requests else None

    compute = delta["compute_input_us"] + delta["compute_infer_us"] + delta["compute_output_us"]
    return {
        "requests": requests,
        "failures": delta["request_failure"],
        "inferences": delta["inference_count"],
        "executions": delta["execution_count"],
        "queue_us": per_request(delta["queue_us"]),
        "compute_input_us": per_request(delta["compute_input_us"]),
        "compute_infer_us": per_request(delta["compute_infer_us"]),
        "compute_output_us": per_request(delta["compute_output_us"]),
        "compute_us": per_request(compute),
    }


# --------------------------------------------------------------------------- GPU

def gpu_reading(text: str, prefix: str = "") -> dict:
    """One reading of the exporter: ``{"gpus": {gpu_id: {"power_w", "activity_pct",
    "energy_uj"}}, "power_metric", "power_w", "activity_pct", "energy_uj"}`` - each GPU's
    values (None where the exporter reports none), the power metric used (the first of
    :data:`EXPORTER_POWER` present), and the host's totals: power and energy summed over the
    GPUs, activity their mean (None when no GPU reports it)."""
    names = {prefix + name: name for name in (*EXPORTER_POWER, EXPORTER_ACTIVITY,
                                              EXPORTER_ENERGY)}
    found: dict = {}
    for name, labels, value in parse_prometheus(text):
        if name in names and not math.isnan(value):  # NaN: no reading
            gpu = labels.get(EXPORTER_GPU_LABEL, "")
            found.setdefault(names[name], {}).setdefault(gpu, []).append(value)
    power_metric = next((name for name in EXPORTER_POWER if name in found), None)
    power = found.get(power_metric, {})
    activity = found.get(EXPORTER_ACTIVITY, {})
    energy = found.get(EXPORTER_ENERGY, {})
    gpus = {}
    for gpu in sorted({*power, *activity, *energy}):
        gpus[gpu] = {"power_w": sum(power[gpu]) if gpu in power else None,
                     "activity_pct": max(activity[gpu]) if gpu in activity else None,
                     "energy_uj": sum(energy[gpu]) if gpu in energy else None}
    return {
        "gpus": gpus,
        "power_metric": prefix + power_metric if power_metric else None,
        "power_w": sum(sum(v) for v in power.values()) if power else None,
        "activity_pct": (sum(max(v) for v in activity.values()) / len(activity)
                         if activity else None),
        "energy_uj": sum(sum(v) for v in energy.values()) if energy else None,
    }


def _mean(values):
    values = [value for value in values if value is not None]
    return sum(values) / len(values) if values else None


def gpu_cell(before: dict, samples: list, after: dict | None, seconds: float,
             prefix: str = "") -> tuple[dict, str | None]:
    """The GPU columns of a cell from the exporter's readings (:func:`gpu_reading`): before
    the run, during it (``samples``; when there are none, the reading after it stands in) and
    after it, and the cell's ``seconds``. Returns ``(gpu, reason)``: ``gpu`` holds ``gpus``
    (their number), ``power_metric``, ``power_w`` and ``activity_pct`` (means over the
    samples), ``energy_j`` and ``energy_source`` (``energy counter`` or ``mean power x
    time``); ``reason`` says why power or activity is None, else None."""
    during = samples or ([after] if after else [])
    power = _mean(reading["power_w"] for reading in during)
    activity = _mean(reading["activity_pct"] for reading in during)
    energy, source = None, None
    first = before.get("energy_uj")
    last = (after or {}).get("energy_uj")
    if first is not None and last is not None and last > first:
        energy, source = (last - first) / 1e6, "energy counter"
    elif power is not None and seconds:
        energy, source = power * seconds, "mean power x time"
    metrics = next((reading["power_metric"] for reading in during if reading["power_metric"]),
                   None)
    gpus = max((len(reading["gpus"]) for reading in [before, *during]), default=0)
    missing = []
    if power is None:
        missing.append("no GPU power (none of "
                       + ", ".join(prefix + name for name in EXPORTER_POWER) + ")")
    if activity is None:
        missing.append(f"no GPU activity (no {prefix}{EXPORTER_ACTIVITY})")
    reason = ("the exporter reports " + " and ".join(missing)) if missing else None
    gpu = {"gpus": gpus, "power_metric": metrics,
           "power_w": None if power is None else round(power, 1),
           "activity_pct": None if activity is None else round(activity, 1),
           "energy_j": None if energy is None else round(energy, 1),
           "energy_source": source}
    return gpu, reason


def inferences_per_joule(inferences, energy_j):
    """The server's inferences over the GPU energy of the cell (four significant digits); None
    unless both are known and the energy is above 0."""
    if inferences is None or not energy_j:
        return None
    return float(f"{inferences / energy_j:.4g}")


# --------------------------------------------------------------------------- one cell

class Observer:
    """Reads both endpoints around one perf_analyzer run: :meth:`start` before it (the
    server's counters, the exporter's first reading, then a sampling thread), :meth:`finish`
    after it (the thread stopped, the last readings) returns what the module returns as
    ``observed``::

        {"seconds": float,              # between the two readings of the server's counters
         "server": {"url", "requests", "failures", "inferences", "executions", "queue_us",
                    "compute_input_us", "compute_infer_us", "compute_output_us",
                    "compute_us"} | None,
         "server_reason": str | None,   # why server is None
         "gpu": {"url", "samples", "sample_errors", "gpus", "power_metric", "power_w",
                 "activity_pct", "energy_j", "energy_source"} | None,
         "gpu_reason": str | None,      # why gpu is None, or power or activity in it
         "inferences_per_joule": float | None}

    ``server_url`` or ``exporter_url`` None: that side is not read, with the reason
    ``no_server_reason`` or ``no_exporter_reason``. Sampling is bounded by ``max_samples`` and
    ends with the run; each request waits at most ``timeout`` seconds. ``fetch(url, timeout)``
    returns the text or raises Unreachable (tests pass their own; ``clock`` likewise)."""

    def __init__(self, model, server_url=None, exporter_url=None, interval=1.0,
                 max_samples=1800, prefix="", no_server_reason="not read",
                 no_exporter_reason="no exporter configured", timeout=FETCH_TIMEOUT,
                 fetch=fetch_text, clock=time.monotonic):
        self.model = model
        self.server_url = full_url(server_url) if server_url else None
        self.exporter_url = full_url(exporter_url) if exporter_url else None
        self.interval = max(float(interval), 0.1)
        self.max_samples = max(int(max_samples), 0)
        self.prefix = prefix or ""
        self.no_server_reason = no_server_reason
        self.no_exporter_reason = no_exporter_reason
        self.timeout = timeout
        self.fetch = fetch
        self.clock = clock
        self.samples: list = []
        self.sample_errors = 0
        self._server_before = self._gpu_before = None
        self._server_error = self._gpu_error = None
        self._started = None
        self._stop = threading.Event()
        self._thread = None

    def _read(self, url):
        """(text, None) or (None, why)."""
        try:
            return self.fetch(url, self.timeout), None
        except (Unreachable, ValueError) as exc:  # ValueError: urllib refused the URL
            return None, str(exc)

    def _reading(self, url):
        """(gpu reading, None) or (None, what went wrong)."""
        text, error = self._read(url)
        if text is None:
            return None, f"no exporter answered at {url}: {error}"
        try:
            return gpu_reading(text, self.prefix), None
        except MetricsError as exc:
            return None, f"the exporter at {url} answered, but not with Prometheus text: {exc}"

    def start(self):
        if self.server_url:
            self._server_before, error = self._read(self.server_url)
            if error:
                self._server_error = (f"the server's metrics did not answer at "
                                      f"{self.server_url}: {error}")
        self._started = self.clock()
        if self.exporter_url:
            self._gpu_before, self._gpu_error = self._reading(self.exporter_url)
            if self._gpu_error is None and self.max_samples:
                self._thread = threading.Thread(target=self._sample, daemon=True)
                self._thread.start()
        return self

    def _sample(self):
        while len(self.samples) + self.sample_errors < self.max_samples \
                and not self._stop.wait(self.interval):
            reading, _error = self._reading(self.exporter_url)
            if reading is None:
                self.sample_errors += 1
            else:
                self.samples.append(reading)

    def finish(self) -> dict:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 1)
        server_after = None
        if self.server_url and self._server_error is None:
            server_after, error = self._read(self.server_url)
            if error:
                self._server_error = (f"the server's metrics did not answer at "
                                      f"{self.server_url} after the run: {error}")
        seconds = round(self.clock() - self._started, 3) if self._started is not None else 0.0
        gpu_after = None
        if self.exporter_url and self._gpu_error is None:
            gpu_after, _error = self._reading(self.exporter_url)
        observed = {"seconds": seconds, "server": None, "server_reason": None, "gpu": None,
                    "gpu_reason": None, "inferences_per_joule": None}
        if not self.server_url:
            observed["server_reason"] = self.no_server_reason
        elif self._server_error:
            observed["server_reason"] = self._server_error
        else:
            try:
                observed["server"] = dict(url=self.server_url, **server_delta(
                    self._server_before, server_after, self.model))
            except (ValueError, MetricsError) as exc:
                observed["server_reason"] = f"{self.server_url}: {exc}"
        if not self.exporter_url:
            observed["gpu_reason"] = self.no_exporter_reason
        elif self._gpu_error:
            observed["gpu_reason"] = self._gpu_error
        else:
            gpu, reason = gpu_cell(self._gpu_before, list(self.samples), gpu_after, seconds,
                                   self.prefix)
            observed["gpu"] = dict(url=self.exporter_url, samples=len(self.samples),
                                   sample_errors=self.sample_errors, **gpu)
            observed["gpu_reason"] = reason and f"{reason} at {self.exporter_url}"
        server, gpu = observed["server"] or {}, observed["gpu"] or {}
        observed["inferences_per_joule"] = inferences_per_joule(server.get("inferences"),
                                                                gpu.get("energy_j"))
        return observed
