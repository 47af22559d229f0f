"""The model-config validator against Triton's own schema (tritonclient's model_config_pb2)."""

import copy

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from ansible_collections.inferops.triton.plugins.module_utils._model_config import (
    ModelConfigError,
    render_model_config,
    render_model_configs,
)

# AMD's Triton guide, resnet50_onnx/config.pbtxt (the text the guide has users type).
GUIDE_PBTXT = """
name: "resnet50"
backend: "onnxruntime"
max_batch_size: 8
input [
  { name: "data" data_type: TYPE_FP32 dims: [ 3, 224, 224 ] }
]
output [
  { name: "resnetv24_dense0_fwd" data_type: TYPE_FP32 dims: [ 1000 ] }
]
dynamic_batching { }
instance_group [ { kind: KIND_GPU count: 1 } ]
"""

RESNET = {
    "name": "resnet50",
    "config": {
        "max_batch_size": 8,
        "input": [{"name": "data", "data_type": "TYPE_FP32", "dims": [3, 224, 224]}],
        "output": [{"name": "resnetv24_dense0_fwd", "data_type": "TYPE_FP32", "dims": [1000]}],
        "dynamic_batching": {},
        "instance_group": [{"kind": "KIND_GPU", "count": 1}],
    },
}


def parse(pbtxt):
    return text_format.Parse(pbtxt, model_config_pb2.ModelConfig())


def test_guide_config_renders_to_the_same_message():
    pbtxt = render_model_config(0, RESNET, default_backend="onnxruntime")
    assert parse(pbtxt) == parse(GUIDE_PBTXT)


def test_rendering_is_canonical_and_stable():
    first = render_model_config(0, RESNET, "onnxruntime")
    assert first == render_model_config(0, copy.deepcopy(RESNET), "onnxruntime")
    assert first.startswith('name: "resnet50"\nmax_batch_size: 8\n')
    assert 'backend: "onnxruntime"\n' in first


def test_explicit_backend_or_platform_is_kept():
    entry = copy.deepcopy(RESNET)
    entry["config"]["platform"] = "onnxruntime_onnx"
    message = parse(render_model_config(0, entry, "onnxruntime_cpu"))
    assert message.platform == "onnxruntime_onnx" and message.backend == ""


def test_every_field_works_without_template_code():
    entry = copy.deepcopy(RESNET)
    entry["config"].update({
        "version_policy": {"specific": {"versions": [1, 3]}},
        "optimization": {"execution_accelerators": {"gpu_execution_accelerator": [
            {"name": "migraphx", "parameters": {"precision_mode": "FP16"}}]}},
        "model_warmup": [{"name": "zeros", "batch_size": 1, "inputs": {
            "data": {"data_type": "TYPE_FP32", "dims": [3, 224, 224], "zero_data": True}}}],
        "parameters": {"intra_op_thread_count": {"string_value": "2"}},
        "dynamic_batching": {"preferred_batch_size": [4, 8], "max_queue_delay_microseconds": 100},
    })
    message = parse(render_model_config(0, entry, "onnxruntime"))
    assert list(message.version_policy.specific.versions) == [1, 3]
    accel = message.optimization.execution_accelerators.gpu_execution_accelerator[0]
    assert accel.name == "migraphx" and accel.parameters["precision_mode"] == "FP16"
    assert message.model_warmup[0].inputs["data"].zero_data is True
    assert message.parameters["intra_op_thread_count"].string_value == "2"
    assert list(message.dynamic_batching.preferred_batch_size) == [4, 8]


def mutate(path, value):
    entry = copy.deepcopy(RESNET)
    target = entry
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return entry


BAD = [
    # (entry, the words the message must carry)
    (mutate(["config", "max_batch_size"], "eight"),
     ["triton_models[0] (resnet50)", "config.max_batch_size", "'eight'", "not an integer"]),
    (mutate(["config", "max_batch_sise"], 8),
     ["config.max_batch_sise", "unknown field of ModelConfig", "max_batch_size"]),
    (mutate(["config", "input", 0, "data_type"], "TYPE_FP99"),
     ["config.input[0].data_type", "'TYPE_FP99'", "TYPE_FP32"]),
    (mutate(["config", "input", 0, "dims"], [3, "x", 224]),
     ["config.input[0].dims[1]", "'x'", "not an integer"]),
    (mutate(["config", "instance_group", 0, "kind"], "KIND_TPU"),
     ["config.instance_group[0].kind", "KIND_CPU"]),
    (mutate(["config", "dynamic_batching"], {"max_queue_delay_microseconds": -1}),
     ["config.dynamic_batching.max_queue_delay_microseconds", "out of range"]),
    (mutate(["config", "input"], {"name": "data"}),
     ["config.input", "is not a list"]),
    (mutate(["config", "parameters"], {"k": {"string_valu": "1"}}),
     ["config.parameters['k'].string_valu", "unknown field of ModelParameter"]),
    (mutate(["config", "name"], "other"),
     ["config.name 'other' differs from the entry name 'resnet50'"]),
    (mutate(["config"], "max_batch_size: 8"),
     ["'config' must be a mapping"]),
    (mutate(["config", "dynamic_batching"], {"preserve_ordering": "yes"}),
     ["config.dynamic_batching.preserve_ordering", "not a boolean"]),
]


@pytest.mark.parametrize("entry,words", BAD, ids=[w[0] for _e, w in BAD])
def test_bad_input_names_model_field_and_value(entry, words):
    with pytest.raises(ModelConfigError) as err:
        render_model_config(0, entry, "onnxruntime")
    for word in words:
        assert word in str(err.value)


def test_all_errors_are_reported_at_once_and_duplicates_caught():
    bad = mutate(["config", "max_batch_size"], "eight")
    bad["name"] = "second"
    models = [RESNET, bad, copy.deepcopy(RESNET)]
    with pytest.raises(ModelConfigError) as err:
        render_model_configs(models, "onnxruntime")
    text = str(err.value)
    assert "triton_models[1] (second): config.max_batch_size" in text
    assert "triton_models[2] (resnet50): duplicate model name" in text


def test_entry_without_name():
    with pytest.raises(ModelConfigError, match=r"triton_models\[0\]: each entry needs"):
        render_model_configs([{"config": {}}])
