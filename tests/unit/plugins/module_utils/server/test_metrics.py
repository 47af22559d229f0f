"""Triton's metrics (server/_metrics.py): the Prometheus text of the captured servers
(tests/fixtures/triton, SOURCE.md), parsed and summed per model."""


import pytest
from triton_captures import (
    RESNET50_METRICS,
    TRITON,
    TYPES_METRICS,
    ZERO_METRICS,
)

from ansible_collections.inferops.triton.plugins.module_utils.server._metrics import (
    MetricsError,
    model_metrics,
    parse_prometheus,
)


def test_metrics_of_the_main_server_summed_per_model():
    metrics = model_metrics(parse_prometheus((TRITON / "metrics-main.txt").read_text()))
    assert metrics == {"resnet50": RESNET50_METRICS}


def test_metrics_of_the_server_with_a_broken_model():
    # The server lists the model that failed to load too (its failure counters, all 0).
    metrics = model_metrics(parse_prometheus((TRITON / "metrics-broken.txt").read_text()))
    assert metrics == {"resnet50": ZERO_METRICS, "types": TYPES_METRICS,
                       "broken": ZERO_METRICS}


def test_metrics_for_the_models_asked_for_only():
    samples = parse_prometheus((TRITON / "metrics-broken.txt").read_text())
    assert list(model_metrics(samples, ["types"])) == ["types"]
    assert model_metrics(samples, ["nosuch"]) == {}


def test_prometheus_text_with_escapes_help_type_timestamps_and_unknown_metrics():
    text = "\n".join([
        "# HELP nv_inference_count Number of inferences performed (does not include",
        "# TYPE nv_inference_count counter",
        '# a comment line',
        '',
        'nv_inference_count{model="a,b}c",version="1"} 4',
        'nv_inference_count{model="a,b}c",version="2"} 6 1712345678000',
        'nv_inference_count{ model = "q\\"uote\\\\d\\nline" , version="1", } 1',
        'nv_inference_request_failure{model="m",reason="BACKEND",version="1"} 2',
        'nv_inference_request_failure{model="m",reason="REJECTED",version="1"} 3',
        'nv_gpu_utilization{gpu_uuid="GPU-0"} NaN',
        'nv_inference_queue_duration_us{model="m",version="1"} +Inf',
        'nv_cpu_memory_total_bytes 6.7e+10',
        'nv_inference_exec_count{model="m",version="1"} 1.5',
    ])
    samples = parse_prometheus(text)
    assert ("nv_inference_count", {"model": 'q"uote\\d\nline', "version": "1"}, 1.0) in samples
    metrics = model_metrics(samples)
    assert metrics["a,b}c"]["inference_count"] == 10
    assert metrics["a,b}c"]["request_success"] == 0  # missing: 0
    assert metrics["m"]["request_failure"] == 5  # summed over reasons
    assert metrics["m"]["queue_us"] == float("inf")
    assert metrics["m"]["execution_count"] == 1.5
    assert sorted(metrics) == ["a,b}c", "m", 'q"uote\\d\nline']
    assert sorted(metrics["m"]) == sorted([
        "request_success", "request_failure", "inference_count", "execution_count",
        "queue_us", "compute_input_us", "compute_infer_us", "compute_output_us",
        "request_us"])


@pytest.mark.parametrize("line", [
    'nv_inference_count{model="a" 1',
    'nv_inference_count{model=a} 1',
    'nv_inference_count{model="a"}',
    'nv_inference_count{model="a"} one',
    '{model="a"} 1',
])
def test_a_malformed_metrics_line_is_named(line):
    with pytest.raises(MetricsError, match="metrics line 2"):
        parse_prometheus("# TYPE nv_inference_count counter\n" + line)
