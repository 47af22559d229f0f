"""What the server and the GPU did in a cell (bench/_observe.py): the server's counter
differences from Triton metrics captured in the lab around a real perf_analyzer run, the GPU
arithmetic on exporter readings in the form of AMD's documentation, and the Observer against
real sockets - a local HTTP server answering with the captures, and a port where nothing
listens (tests/fixtures/bench_observe/SOURCE.md)."""

import http.server
import socket
import threading
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.bench._observe import (
    EXPORTER_POWER,
    Observer,
    full_url,
    gpu_absent_reason,
    gpu_cell,
    gpu_reading,
    inferences_per_joule,
    server_delta,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._perf import parse_stdout
from ansible_collections.inferops.triton.plugins.module_utils.server._client import Unreachable

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "bench_observe"


def text(name):
    return (FIXTURES / name).read_text()


def without(name, *metrics):
    """The fixture without the lines of these metrics (an exporter configured without them)."""
    return "".join(line for line in text(name).splitlines(keepends=True)
                   if not line.startswith(tuple(metric + "{" for metric in metrics)))


# --------------------------------------------------------------------------- server

def test_server_delta_of_a_real_run_is_what_perf_analyzer_sent():
    delta = server_delta(text("triton-before.txt"), text("triton-after.txt"), "resnet50")
    # the perf_analyzer run between the captures (perf-run.log, SOURCE.md): batch 1, 30
    # requests in its three windows, and the one before them the server counted too
    levels = parse_stdout(text("perf-run.log"))
    assert levels[0]["server_success_count"] == levels[0]["server_inference_count"] == 30
    assert delta == {"requests": 31, "failures": 0, "inferences": 31, "executions": 31,
                     "queue_us": 4492.3, "compute_input_us": 128.3,
                     "compute_infer_us": 1118178.3, "compute_output_us": 9024.1,
                     "compute_us": 1127330.7}
    # perf_analyzer's own per-request means over its 30 are close to the 31 the server counted
    assert delta["queue_us"] == pytest.approx(levels[0]["server_queue_us"], rel=0.05)
    assert delta["compute_infer_us"] == pytest.approx(levels[0]["server_compute_infer_us"],
                                                      rel=0.05)


def test_server_delta_per_request_is_the_counter_difference_over_the_requests():
    before, after = text("triton-before.txt"), text("triton-after.txt")
    delta = server_delta(before, after, "resnet50")

    def counter(body, name):
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.startswith(name + "{") and 'model="resnet50"' in line)

    queue = counter(after, "nv_inference_queue_duration_us") - counter(
        before, "nv_inference_queue_duration_us")
    assert delta["queue_us"] == round(queue / delta["requests"], 1)


def test_server_delta_without_requests_has_no_per_request_times():
    delta = server_delta(text("triton-after.txt"), text("triton-after.txt"), "resnet50")
    assert delta["requests"] == 0 and delta["queue_us"] is None and delta["compute_us"] is None


def test_server_delta_refuses_an_unknown_model_and_counters_that_went_back():
    with pytest.raises(ValueError, match="model nosuch is not in the server's metrics"):
        server_delta(text("triton-before.txt"), text("triton-after.txt"), "nosuch")
    with pytest.raises(ValueError, match="went back"):
        server_delta(text("triton-after.txt"), text("triton-before.txt"), "resnet50")


# --------------------------------------------------------------------------- GPU

def test_gpu_reading_prefers_package_power_and_ignores_other_metrics():
    reading = gpu_reading(text("exporter-during.txt"))
    assert reading["power_metric"] == "gpu_package_power"
    assert reading["gpus"] == {"0": {"power_w": 550, "activity_pct": 90, "energy_uj": 6.5e9},
                               "3": {"power_w": 130, "activity_pct": 0, "energy_uj": 3.3e9}}
    assert reading["power_w"] == 680 and reading["activity_pct"] == 45
    assert reading["energy_uj"] == 9.8e9


def test_gpu_reading_falls_back_to_power_usage():
    reading = gpu_reading(without("exporter-during.txt", "gpu_package_power"))
    assert reading["power_metric"] == "gpu_power_usage" and reading["power_w"] == 679


def test_gpu_reading_with_the_exporters_prefix():
    prefixed = "".join("amd_" + line if line.startswith("gpu_") else line
                       for line in text("exporter-during.txt").splitlines(keepends=True))
    assert gpu_reading(prefixed)["power_w"] is None  # not asked for the prefix
    reading = gpu_reading(prefixed, "amd_")
    assert reading["power_metric"] == "amd_gpu_package_power" and reading["power_w"] == 680


def test_gpu_cell_energy_from_the_counter():
    readings = [gpu_reading(text(name)) for name in
                ("exporter-before.txt", "exporter-during.txt", "exporter-after.txt")]
    gpu, reason = gpu_cell(readings[0], [readings[1]], readings[2], seconds=20.0)
    assert reason is None
    # (1.2e10 - 1e9) + (4.6e9 - 2e9) microjoules
    assert gpu == {"gpus": 2, "power_metric": "gpu_package_power", "power_w": 680.0,
                   "activity_pct": 45.0, "energy_j": 13600.0, "energy_source": "energy counter"}


def test_gpu_cell_energy_from_mean_power_times_time():
    readings = [gpu_reading(without(name, "gpu_energy_consumed")) for name in
                ("exporter-before.txt", "exporter-during.txt", "exporter-after.txt")]
    # two samples: 680 W during the load, 243 W after it -> mean 461.5 W over 20 s
    gpu, reason = gpu_cell(readings[0], [readings[1], readings[2]], readings[2], seconds=20.0)
    assert reason is None
    assert gpu["power_w"] == 461.5 and gpu["activity_pct"] == 22.5
    assert gpu["energy_j"] == 9230.0 and gpu["energy_source"] == "mean power x time"


def test_gpu_cell_without_samples_takes_the_reading_after_the_run():
    after = gpu_reading(without("exporter-after.txt", "gpu_energy_consumed"))
    gpu, reason = gpu_cell(after, [], after, seconds=2.0)
    assert reason is None and gpu["power_w"] == 243.0 and gpu["energy_j"] == 486.0


def test_gpu_cell_says_which_metrics_are_missing():
    reading = gpu_reading(without("exporter-during.txt", "gpu_gfx_activity",
                                  "gpu_energy_consumed", *EXPORTER_POWER))
    gpu, reason = gpu_cell(reading, [reading], reading, seconds=10.0)
    assert gpu["power_w"] is None and gpu["energy_j"] is None and gpu["activity_pct"] is None
    assert reason == ("the exporter reports no GPU power (none of gpu_package_power, "
                      "gpu_power_usage, gpu_average_package_power) and no GPU activity "
                      "(no gpu_gfx_activity)")


@pytest.mark.parametrize("inferences, energy, expected", [
    (13600, 13600.0, 1.0), (712, 9230.0, 0.07714), (31, 13600.0, 0.002279),
    (712, None, None), (None, 10.0, None),
    (5, 0.0, None)])
def test_inferences_per_joule(inferences, energy, expected):
    assert inferences_per_joule(inferences, energy) == expected


def test_the_reason_without_an_exporter():
    assert gpu_absent_reason("cpu") == "no GPU: CPU flavour"
    assert "no exporter configured" in gpu_absent_reason("rocm")


def test_full_url():
    assert full_url("127.0.0.1:8002/metrics") == "http://127.0.0.1:8002/metrics"
    assert full_url("https://h:5000/metrics") == "https://h:5000/metrics"


# --------------------------------------------------------------------------- Observer

class _Captures(http.server.BaseHTTPRequestHandler):
    """Answers /triton with the next of the Triton captures and /exporter with the next of
    the exporter's, in order (the last one repeats)."""

    def do_GET(self):  # noqa: N802 - http.server's name
        queue = self.server.answers[self.path]
        body = (queue.pop(0) if len(queue) > 1 else queue[0]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoints():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Captures)
    server.answers = {
        "/triton": [text("triton-before.txt"), text("triton-after.txt")],
        "/exporter": [text("exporter-before.txt"), text("exporter-during.txt"),
                      text("exporter-after.txt")],
    }
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_observer_reads_both_endpoints_around_a_run(endpoints):
    observer = Observer("resnet50", server_url=f"{endpoints}/triton",
                        exporter_url=f"http://{endpoints}/exporter", interval=0.1,
                        max_samples=1).start()
    threading.Event().wait(0.5)  # the run
    observed = observer.finish()
    server = observed["server"]
    assert server["url"] == f"http://{endpoints}/triton"
    assert server["requests"] == 31
    assert observed["server_reason"] is None and observed["gpu_reason"] is None
    gpu = observed["gpu"]
    assert gpu["samples"] == 1 and gpu["sample_errors"] == 0  # max_samples bounds the loop
    assert gpu["power_w"] == 680.0 and gpu["energy_j"] == 13600.0
    assert observed["inferences_per_joule"] == 0.002279  # 31 / 13600
    assert 0.4 < observed["seconds"] < 5


def test_observer_where_nothing_listens():
    port = free_port()
    observed = Observer("resnet50", server_url=f"127.0.0.1:{port}/metrics",
                        exporter_url=f"http://127.0.0.1:{port}/metrics").start().finish()
    assert observed["server"] is None and observed["gpu"] is None
    assert observed["server_reason"] == (f"the server's metrics did not answer at "
                                         f"http://127.0.0.1:{port}/metrics: connection refused")
    assert observed["gpu_reason"] == (f"no exporter answered at http://127.0.0.1:{port}/metrics:"
                                      " connection refused")
    assert observed["inferences_per_joule"] is None


def test_observer_without_urls_gives_the_reasons():
    observed = Observer("resnet50", no_server_reason="not read (off)",
                        no_exporter_reason=gpu_absent_reason("cpu")).start().finish()
    assert observed == {"seconds": observed["seconds"], "server": None,
                        "server_reason": "not read (off)", "gpu": None,
                        "gpu_reason": "no GPU: CPU flavour", "inferences_per_joule": None}


def test_observer_counts_failed_samples_and_stops_at_the_bound():
    calls = []

    def fetch(url, timeout):
        calls.append(url)
        if url.endswith("/triton"):
            return text("triton-before.txt" if len(calls) == 1 else "triton-after.txt")
        if len(calls) in (2, 3):
            return text("exporter-before.txt" if len(calls) == 2 else "exporter-during.txt")
        raise Unreachable("connection reset")

    observer = Observer("resnet50", server_url="h/triton", exporter_url="h/exporter",
                        interval=0.01, max_samples=5, fetch=fetch).start()
    observer._thread.join(5)  # the loop ends by itself at the bound
    observed = observer.finish()
    assert observed["gpu"]["samples"] == 1 and observed["gpu"]["sample_errors"] == 4
    assert observed["gpu"]["power_w"] == 680.0
    # the reading after the run failed: no counter difference, so mean power x time
    assert observed["gpu"]["energy_source"] == "mean power x time"


def test_observer_not_prometheus_text():
    observer = Observer("resnet50", exporter_url="h/x", max_samples=0,
                        fetch=lambda url, timeout: "not { metrics")
    observed = observer.start().finish()
    assert observed["gpu"] is None
    assert observed["gpu_reason"].startswith("the exporter at http://h/x answered, but not "
                                             "with Prometheus text: metrics line 1")
