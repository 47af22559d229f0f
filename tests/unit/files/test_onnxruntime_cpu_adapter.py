"""The CPU flavour's onnxruntime_cpu backend (roles/triton_image/files/cpu/backends/...):
its pure batching functions, its config checks, and a real ONNX Runtime session run batched
against each request run alone. Inside the real tritonserver it is exercised by molecule's
verify and the demo."""

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
ADAPTER = ROOT / "roles/triton_image/files/cpu/backends/onnxruntime_cpu/model.py"
SPEC = importlib.util.spec_from_file_location("onnxruntime_cpu_adapter", ADAPTER)
adapter = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(adapter)


def req(batch, features=3, value=1.0, dtype=np.float32):
    return {"x": np.full((batch, features), value, dtype)}


def summing_model(calls):
    def run(feed):
        calls.append(feed["x"].shape)
        return {"y": feed["x"].sum(axis=1, keepdims=True)}
    return run


# --- plan_batches / concatenate / split -------------------------------------------------

def test_plan_mixed_batch_sizes_one_group():
    groups, sizes, errors = adapter.plan_batches([req(1), req(4), req(2)], ["x"])
    assert groups == [[0, 1, 2]] and sizes == [1, 4, 2] and errors == [None] * 3


def test_plan_reports_missing_and_shapeless_inputs_per_request():
    requests = [req(2), {}, {"x": np.float32(1.0)}, req(3)]
    groups, sizes, errors = adapter.plan_batches(requests, ["x"])
    assert groups == [[0, 3]] and sizes == [2, None, None, 3]
    assert errors[1] == "missing input(s): x"
    assert "no common batch size" in errors[2] and errors[0] is errors[3] is None


def test_plan_inputs_must_agree_on_the_batch_size():
    request = {"a": np.zeros((2, 1)), "b": np.zeros((3, 1))}
    groups, sizes, errors = adapter.plan_batches([request], ["a", "b"])
    assert groups == [] and sizes == [None]
    assert errors[0] == "inputs have no common batch size (first dimension): a [2, 1], b [3, 1]"


def test_plan_groups_by_inner_shape_and_dtype():
    requests = [req(1, 3), req(2, 5), req(1, 3), req(1, 3, dtype=np.float64)]
    groups, _sizes, errors = adapter.plan_batches(requests, ["x"])
    assert groups == [[0, 2], [1], [3]] and errors == [None] * 4


def test_concatenate_then_split_round_trips():
    requests = [req(1, value=1), req(3, value=2), req(2, value=3)]
    feed = adapter.concatenate(requests, [0, 1, 2], ["x"])
    assert feed["x"].shape == (6, 3)
    pieces = adapter.split({"y": feed["x"] * 10}, [1, 3, 2])
    for request, piece in zip(requests, pieces):
        np.testing.assert_array_equal(piece["y"], request["x"] * 10)


def test_split_rejects_an_output_without_the_batch_axis():
    with pytest.raises(ValueError, match="output 'y' has shape \\[1, 3\\].*first dimension of 3"):
        adapter.split({"y": np.zeros((1, 3))}, [1, 2])


# --- run_batched / run_one --------------------------------------------------------------

def test_run_batched_runs_once_and_isolates_a_bad_request():
    calls = []
    results = adapter.run_batched(summing_model(calls), [req(2), {}, req(1, value=5)], ["x"])
    assert calls == [(3, 3)]
    np.testing.assert_array_equal(results[0]["y"], [[3.0], [3.0]])
    assert results[1] == "missing input(s): x"
    np.testing.assert_array_equal(results[2]["y"], [[15.0]])


def test_run_batched_one_run_per_shape_group():
    calls = []
    results = adapter.run_batched(summing_model(calls), [req(1, 3), req(2, 4), req(1, 3)], ["x"])
    assert calls == [(2, 3), (2, 4)]
    assert [r["y"].shape for r in results] == [(1, 1), (2, 1), (1, 1)]


def test_all_bad_requests_never_call_the_model():
    results = adapter.run_batched(lambda feed: pytest.fail("ran"), [{}, {}], ["x"])
    assert results == ["missing input(s): x"] * 2


def test_failed_merged_run_is_retried_one_by_one():
    calls = []

    def run(feed):
        calls.append(feed["x"].shape[0])
        if np.isnan(feed["x"]).any():
            raise RuntimeError("NaN input")
        return {"y": feed["x"] * 2}

    results = adapter.run_batched(run, [req(1), req(2, value=np.nan), req(3)], ["x"])
    assert calls == [6, 1, 2, 3]
    assert results[1] == "inference failed: NaN input"
    assert results[0]["y"].shape == (1, 3) and results[2]["y"].shape == (3, 3)


def test_run_one_catches_errors():
    assert adapter.run_one(lambda feed: 1 / 0, req(1), ["x"]).startswith("inference failed")
    assert adapter.run_one(lambda feed: {}, {}, ["x"]) == "missing input(s): x"


# --- config checks -----------------------------------------------------------------------

CONFIG = {"max_batch_size": 8,
          "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": ["4"]}],
          "output": [{"name": "out", "data_type": "TYPE_FP32", "dims": ["2"]}]}
IO = ({"x": ("tensor(float)", ["N", 4])}, {"out": ("tensor(float)", [None, 2])})


def test_check_model_io_accepts_a_matching_model():
    adapter.check_model_io(CONFIG, *IO)
    unbatched = dict(CONFIG, max_batch_size=0,
                     input=[dict(CONFIG["input"][0], dims=["-1", "4"])],
                     output=[dict(CONFIG["output"][0], dims=["-1", "2"])])
    adapter.check_model_io(unbatched, *IO)


@pytest.mark.parametrize("change, message", [
    ({"input": [{"name": "data", "data_type": "TYPE_FP32", "dims": ["4"]}]},
     "config declares input 'data' but the ONNX model has inputs \\['x'\\]"),
    ({"output": [{"name": "prob", "data_type": "TYPE_FP32", "dims": ["2"]}]},
     "config declares output 'prob'"),
    ({"input": [{"name": "x", "data_type": "TYPE_FP16", "dims": ["4"]}]},
     "input 'x': config data_type TYPE_FP16 but the ONNX model has tensor\\(float\\)"),
    ({"input": [{"name": "x", "data_type": "TYPE_FP32", "dims": ["5"]}]},
     "input 'x': config dims \\[batch\\] \\+ \\[5\\] do not fit"),
    ({"max_batch_size": 0}, "input 'x': config dims \\[4\\] do not fit"),
])
def test_check_model_io_names_the_bad_tensor(change, message):
    with pytest.raises(ValueError, match=message):
        adapter.check_model_io(dict(CONFIG, **change), *IO)


def test_check_model_io_rejects_a_fixed_batch_dimension():
    with pytest.raises(ValueError, match="fixes its first dimension to 1"):
        adapter.check_model_io(CONFIG, {"x": ("tensor(float)", [1, 4])}, IO[1])


def test_thread_count_parameters():
    config = {"parameters": {"intra_op_thread_count": {"string_value": "2"},
                             "inter_op_thread_count": {"string_value": ""}}}
    assert adapter.thread_count(config, "intra_op_thread_count") == 2
    assert adapter.thread_count(config, "inter_op_thread_count") == 0
    assert adapter.thread_count({}, "intra_op_thread_count") == 0
    with pytest.raises(ValueError, match="intra_op_thread_count"):
        adapter.thread_count({"parameters": {"intra_op_thread_count": {"string_value": "x"}}},
                             "intra_op_thread_count")


def test_model_path_default_and_configured(tmp_path):
    args = {"model_repository": str(tmp_path), "model_version": "3"}
    assert adapter.model_path(args, {}) == str(tmp_path / "3" / "model.onnx")
    named = {"default_model_filename": "r50.onnx"}
    assert adapter.model_path(args, named) == str(tmp_path / "3" / "r50.onnx")


# --- a real ONNX Runtime session ---------------------------------------------------------

def tiny_conv_model(path):
    """Conv(2->3, 3x3) + bias, Relu, GlobalAveragePool, Flatten: x [N,2,5,5] -> out [N,3]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    weight = numpy_helper.from_array(rng.standard_normal((3, 2, 3, 3)).astype(np.float32), "w")
    bias = numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "b")
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Flatten", ["p"], ["out"], axis=1)]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 5, 5])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3])],
        initializer=[weight, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


@pytest.fixture
def loaded(tmp_path):
    """The adapter's TritonPythonModel initialised on a tiny real ONNX model."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    (tmp_path / "1").mkdir()
    tiny_conv_model(tmp_path / "1" / "model.onnx")
    config = {"name": "tiny", "backend": "onnxruntime_cpu", "max_batch_size": 8,
              "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": ["2", "5", "5"]}],
              "output": [{"name": "out", "data_type": "TYPE_FP32", "dims": ["3"]}],
              "parameters": {"intra_op_thread_count": {"string_value": "1"}}}
    model = adapter.TritonPythonModel()
    model.initialize({"model_config": json.dumps(config), "model_repository": str(tmp_path),
                      "model_version": "1"})
    return model


def test_real_session_batched_equals_one_by_one(loaded):
    rng = np.random.default_rng(2)
    requests = [{"x": rng.standard_normal((n, 2, 5, 5)).astype(np.float32)} for n in (1, 4, 2)]
    batched = adapter.run_batched(loaded._run, requests, ["x"])
    for request, result in zip(requests, batched):
        assert result["out"].shape == (request["x"].shape[0], 3)
        np.testing.assert_allclose(result["out"], loaded._run(request)["out"], rtol=1e-5,
                                   atol=1e-6)


def test_real_session_execute_with_a_bad_request(loaded, monkeypatch):
    """execute() through a stand-in for triton_python_backend_utils."""

    class Response:
        def __init__(self, output_tensors, error=None):
            self.output_tensors, self.error = output_tensors, error

    fake = SimpleNamespace(
        get_input_tensor_by_name=lambda request, name: (
            SimpleNamespace(as_numpy=lambda: request[name]) if name in request else None),
        Tensor=lambda name, value: (name, value), InferenceResponse=Response,
        TritonError=lambda message: message)
    monkeypatch.setattr(adapter, "pb_utils", fake)
    good = {"x": np.ones((2, 2, 5, 5), np.float32)}
    responses = loaded.execute([good, {"y": good["x"]}, good])
    assert responses[1].error == "missing input(s): x" and responses[1].output_tensors == []
    for response in (responses[0], responses[2]):
        ((name, value),) = response.output_tensors
        assert response.error is None and name == "out" and value.shape == (2, 3)


def test_real_session_config_mismatch_names_the_tensor(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    (tmp_path / "1").mkdir()
    tiny_conv_model(tmp_path / "1" / "model.onnx")
    config = {"max_batch_size": 8,
              "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": ["2", "5", "5"]}],
              "output": [{"name": "prob", "data_type": "TYPE_FP32", "dims": ["3"]}]}
    with pytest.raises(ValueError, match="config declares output 'prob'"):
        adapter.TritonPythonModel().initialize({
            "model_config": json.dumps(config), "model_repository": str(tmp_path),
            "model_version": "1"})
