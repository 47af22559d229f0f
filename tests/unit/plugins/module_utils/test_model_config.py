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

# The guide's resnet50 model in a short form (no accelerator); the verbatim text is below.
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


# The guide's resnet50_onnx/config.pbtxt, verbatim: AMD's ROCm blog "From Build to Benchmark:
# ONNX Model Serving with Triton Inference Server on AMD GPUs" (ROCm 7.2, rocm7.2_r25.12),
# https://rocm.blogs.amd.com/software-tools-optimization/triton-server-onnx/README.html
# (ROCm/rocm-blogs blogs/software-tools-optimization/triton-server-onnx/README.md).
BLOG_RESNET50_ONNX = """\
name: "resnet50_onnx"
backend: "onnxruntime"
max_batch_size: 8

dynamic_batching {
    max_queue_delay_microseconds: 100
}

input [
    {
        name: "data"
        data_type: TYPE_FP32
        dims: [3, 224, 224]
    }
]

output [
    {
        name: "resnetv24_dense0_fwd"
        data_type: TYPE_FP32
        dims: [1000]
    }
]

instance_group [
    {
        kind: KIND_GPU
        count: 1
        gpus: [0]
    }
]

optimization {
    execution_accelerators {
        gpu_execution_accelerator {
            name: "migraphx"
            parameters: {
                key: "migraphx_max_dynamic_batch"
                value: "8"
            }
        }
    }
}
"""

# The same model as inventory: Triton's fields under config, the accelerator as a convenience.
BLOG_AS_INVENTORY = {
    "name": "resnet50_onnx",
    "config": {
        "backend": "onnxruntime",
        "max_batch_size": 8,
        "dynamic_batching": {"max_queue_delay_microseconds": 100},
        "input": [{"name": "data", "data_type": "TYPE_FP32", "dims": [3, 224, 224]}],
        "output": [{"name": "resnetv24_dense0_fwd", "data_type": "TYPE_FP32", "dims": [1000]}],
        "instance_group": [{"kind": "KIND_GPU", "count": 1, "gpus": [0]}],
    },
    "accelerator": {"name": "migraphx", "parameters": {"migraphx_max_dynamic_batch": 8}},
}


def test_the_guides_resnet50_onnx_as_inventory_parses_to_the_guides_message():
    assert parse(render_model_config(0, BLOG_AS_INVENTORY, flavour="rocm")) == \
        parse(BLOG_RESNET50_ONNX)


def test_the_guides_text_as_config_keeps_its_accelerator_and_checks_its_keys():
    from google.protobuf import json_format
    as_json = json_format.MessageToDict(parse(BLOG_RESNET50_ONNX),
                                        preserving_proto_field_name=True)
    entry = {"name": "resnet50_onnx", "config": as_json}
    assert parse(render_model_config(0, entry)) == parse(BLOG_RESNET50_ONNX)
    accel = as_json["optimization"]["execution_accelerators"]["gpu_execution_accelerator"][0]
    accel["parameters"]["migraphx_fast_math"] = "1"
    with pytest.raises(ModelConfigError, match="unknown MIGraphX accelerator key"):
        render_model_config(0, entry)
    # On the CPU flavour the same text serves through onnxruntime_cpu, with no accelerator.
    del accel["parameters"]["migraphx_fast_math"]
    cpu = parse(render_model_config(0, entry, flavour="cpu"))
    assert cpu.backend == "onnxruntime_cpu" and not cpu.HasField("optimization")


def rendered(entry, **kw):
    return parse(render_model_config(0, entry, "onnxruntime", **kw))


def test_one_entry_renders_for_both_flavours():
    entry = copy.deepcopy(RESNET)
    entry["config"]["backend"] = "onnxruntime"
    del entry["config"]["instance_group"]
    entry.update(accelerator={"name": "migraphx",
                              "parameters": {"migraphx_max_dynamic_batch": 8,
                                             "migraphx_exhaustive_tune": True}},
                 instances_per_gpu=2)
    gpu = rendered(entry, flavour="rocm", gpus=[0, 1])
    assert gpu.backend == "onnxruntime"
    assert [(g.kind, g.count, list(g.gpus)) for g in gpu.instance_group] == [
        (model_config_pb2.ModelInstanceGroup.KIND_GPU, 2, [0]),
        (model_config_pb2.ModelInstanceGroup.KIND_GPU, 2, [1])]
    accel = gpu.optimization.execution_accelerators.gpu_execution_accelerator
    assert [(a.name, dict(a.parameters)) for a in accel] == [
        ("migraphx", {"migraphx_max_dynamic_batch": "8", "migraphx_exhaustive_tune": "true"})]

    cpu = rendered(entry, flavour="cpu")
    assert cpu.backend == "onnxruntime_cpu"
    assert [(g.kind, g.count, list(g.gpus)) for g in cpu.instance_group] == [
        (model_config_pb2.ModelInstanceGroup.KIND_CPU, 2, [])]
    assert not cpu.HasField("optimization")


def test_gpu_instance_groups_become_cpu_ones_on_the_cpu_flavour():
    cpu = rendered(copy.deepcopy(RESNET), flavour="cpu")
    assert [(g.kind, g.count) for g in cpu.instance_group] == [
        (model_config_pb2.ModelInstanceGroup.KIND_CPU, 1)]


V1 = {"version": 1, "path": "/m.onnx"}


@pytest.mark.parametrize("change, words", [
    ({"accelerator": {"name": "migraphx", "parameters": {"migraphx_exhaustive_tune": 1}}},
     ["migraphx_exhaustive_tune: 1 (int) is not a boolean"]),
    ({"accelerator": {"name": "migraphx", "parameters": {"compile_batches": "1,2,x"}}},
     ["compile_batches: '1,2,x' (str) is not a list of batch sizes"]),
    ({"accelerator": {"name": "migraphx", "parameters": {
        "cache_dir": "/var/lib/inferops-triton/models/.cache"}}},
     ["cache_dir '/var/lib/inferops-triton/models/.cache' is inside the model repository"]),
    ({"accelerator": {"name": "migraphx", "parameters": {"migraphx_fast_math": 1}}},
     ["accelerator.parameters.migraphx_fast_math", "unknown MIGraphX accelerator key",
      "valid keys: precision_mode"]),
    ({"accelerator": {"name": "migraphx", "parameters": {"precision_mode": "FP12"}}},
     ["precision_mode", "'FP12' is not one of FP32, FP16"]),
    ({"accelerator": {"name": "migraphx", "parameters": {"migraphx_max_dynamic_batch": 0}}},
     ["migraphx_max_dynamic_batch", "not a positive integer"]),
    ({"accelerator": "tensorrt"}, ["accelerator.name 'tensorrt' is not supported"]),
    ({"accelerator": {"name": "migraphx", "parameters": {
        "migraphx_model_cache_dir": "/models/resnet50/cache"}}},
     ["migraphx_model_cache_dir '/models/resnet50/cache' is inside the model repository "
      "'/models'"]),
    ({"instances_per_gpu": 0}, ["instances_per_gpu 0 (int) is not a positive integer"]),
    ({"instances_per_gpu": 1}, ["give instances_per_gpu or config.instance_group"]),
    ({"versions": [V1], "config_version_policy": {"specific": {"versions": [1, 3]}}},
     ["version_policy.specific.versions names [3]", "present: [1]"]),
    ({"versions": [V1], "config_version_policy": {"latest": {"num_versions": 2}}},
     ["num_versions is 2 but only 1 version(s)"]),
    ({"versions": [V1, V1]}, ["version 1 is listed twice"]),
    ({"instance_groups": 2}, ["unknown key(s) instance_groups"]),
    ({"versions": [{"version": 1, "url": "http://h/m.onnx"}]},
     ["versions[0]: url 'http://h/m.onnx' needs a checksum"]),
    ({"versions": [{"version": 1, "url": "http://h/m.onnx", "path": "/m.onnx",
                    "checksum": "sha256:http://h/m.onnx.sha256"}]},
     ["versions[0]: give exactly one of url", "or path"]),
    ({"versions": [{"version": 1, "path": "/m.onnx", "checksum": "md5:abc"}]},
     ["versions[0]: checksum 'md5:abc' is not sha256:<hex>"]),
    ({"versions": [{"version": 1, "path": "/m.onnx", "sha": "x"}]},
     ["versions[0]: unknown key(s) sha; a version has version, url, path, checksum"]),
])
def test_entry_level_mistakes_name_the_model_field_and_value(change, words):
    entry = copy.deepcopy(RESNET)
    policy = change.pop("config_version_policy", None)
    if policy:
        entry["config"]["version_policy"] = policy
    entry.update(change)
    with pytest.raises(ModelConfigError) as err:
        render_model_config(0, entry, "onnxruntime", gpus=[0],
                            repository_paths=["/var/lib/inferops-triton/models", "/models"])
    assert "triton_models[0] (resnet50)" in str(err.value)
    for word in words:
        assert word in str(err.value)


def test_instances_per_gpu_needs_gpus_on_the_rocm_flavour():
    entry = copy.deepcopy(RESNET)
    del entry["config"]["instance_group"]
    entry["instances_per_gpu"] = 1
    with pytest.raises(ModelConfigError, match="rocm_facts found none"):
        render_model_config(0, entry, "onnxruntime", flavour="rocm", gpus=[])


def test_a_value_is_described_by_its_plain_type():
    # ansible-core 2.19 passes filters str subclasses (_AnsibleTaggedStr); the message names
    # the type the user wrote.
    class Tagged(str):
        pass

    entry = copy.deepcopy(RESNET)
    entry["config"]["max_batch_size"] = Tagged("eight")
    with pytest.raises(ModelConfigError, match=r"config.max_batch_size: 'eight' \(str\) is not "
                                               r"an integer"):
        render_model_config(0, entry, "onnxruntime", gpus=[0])


def test_a_migraphx_cache_inside_the_repository_fails_on_cpu_hosts_too():
    # One inventory, two flavours: the CPU flavour drops the accelerator, but the entry
    # would still break every GPU host, so it fails everywhere.
    entry = copy.deepcopy(RESNET)
    entry["accelerator"] = {"name": "migraphx", "parameters": {
        "migraphx_model_cache_dir": "/var/lib/inferops-triton/models/.mgx"}}
    with pytest.raises(ModelConfigError, match="is inside the model repository"):
        render_model_config(0, entry, "onnxruntime", flavour="cpu",
                            repository_paths=["/var/lib/inferops-triton/models"])
