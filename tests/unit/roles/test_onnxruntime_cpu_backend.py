"""The CPU flavour's onnxruntime_cpu backend: its batching functions, and a real ONNX Runtime
session run batched against each request run alone. (Inside the real server it is exercised
by molecule's verify and the demo's perf_analyzer runs.)"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
SPEC = importlib.util.spec_from_file_location(
    "onnxruntime_cpu_model",
    ROOT / "roles/triton_image/files/cpu/backends/onnxruntime_cpu/model.py")
backend = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(backend)


def arrays(batch, features=3, value=1.0):
    return {"x": np.full((batch, features), value, np.float32)}


def test_batch_plan_sizes_and_errors():
    requests = [arrays(2), {}, {"x": np.zeros((3, 3), np.float32)}, {"x": np.float32(1.0)}]
    sizes, errors = backend.batch_plan(requests, ["x"])
    assert sizes == [2, None, 3, None]
    assert errors[0] is None and errors[2] is None
    assert errors[1] == "missing input(s): x"
    assert "batch size" in errors[3]


def test_inputs_must_agree_on_the_batch_size():
    request = {"a": np.zeros((2, 1)), "b": np.zeros((3, 1))}
    sizes, errors = backend.batch_plan([request], ["a", "b"])
    assert sizes == [None] and "disagree" in errors[0]


def test_concatenate_then_split_round_trips_mixed_batches():
    requests = [arrays(1, value=1), arrays(3, value=2), arrays(2, value=3)]
    sizes, _errors = backend.batch_plan(requests, ["x"])
    feed = backend.concatenate(requests, sizes, ["x"])
    assert feed["x"].shape == (6, 3)
    pieces = backend.split({"y": feed["x"] * 10}, sizes)
    for request, piece in zip(requests, pieces):
        np.testing.assert_array_equal(piece["y"], request["x"] * 10)


def test_run_batched_runs_once_and_isolates_a_bad_request():
    calls = []

    def run(feed):
        calls.append(feed["x"].shape)
        return {"y": feed["x"].sum(axis=1, keepdims=True)}

    results = backend.run_batched(run, [arrays(2), {}, arrays(1, value=5)], ["x"], ["y"])
    assert calls == [(3, 3)]
    np.testing.assert_array_equal(results[0]["y"], [[3.0], [3.0]])
    assert results[1] == "missing input(s): x"
    np.testing.assert_array_equal(results[2]["y"], [[15.0]])


def test_all_bad_requests_never_call_the_model():
    results = backend.run_batched(lambda feed: pytest.fail("ran"), [{}, {}], ["x"], ["y"])
    assert results == ["missing input(s): x"] * 2


def test_real_onnx_session_batched_equals_one_by_one(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    weight = numpy_helper.from_array(rng.standard_normal((4, 2)).astype(np.float32), "w")
    bias = numpy_helper.from_array(rng.standard_normal((2,)).astype(np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"]),
         helper.make_node("Relu", ["y"], ["out"])],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 2])],
        initializer=[weight, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(feed):
        return dict(zip(["out"], session.run(["out"], feed)))

    requests = [{"x": rng.standard_normal((n, 4)).astype(np.float32)} for n in (1, 4, 2)]
    batched = backend.run_batched(run, requests, ["x"], ["out"])
    for request, result in zip(requests, batched):
        np.testing.assert_allclose(result["out"], run(request)["out"], rtol=1e-6)
