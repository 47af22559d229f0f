"""The model-config validator against Triton's own schema (tritonclient's model_config_pb2)."""

import copy
import os
import re
import tarfile
from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from ansible_collections.inferops.triton.plugins.module_utils.models._config_controller import (
    CACHE_KEYS,
    MIGRAPHX_BUILD,
    MIGRAPHX_BUILDS,
    MIGRAPHX_KEYS,
    PLUGIN_EP_KEYS,
    ModelConfigError,
    render_model_config,
    render_model_configs,
)
from ansible_collections.inferops.triton.plugins.module_utils.models._repository import (
    RepositoryError,
    parse_checksum,
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


# --- a model's name is its directory in the repository (issue 19) -------------------------

RULE = ("use letters, digits, '_', '-' and '.', not starting with '.' or '-', at most 128 "
        "characters")
BAD_NAMES = [
    # (name, why, as the message says it)
    ("../../../../tmp/pwned", "it is a path, not a single directory name"),
    ("a/b", "it is a path, not a single directory name"),
    ("a\\b", "it is a path, not a single directory name"),
    ("my model", "it contains ' '"),
    (".", "it starts with '.'"),
    ("..", "it starts with '.'"),
    (".hidden", "it starts with '.'"),
    ("-m", "it starts with '-'"),
    ("resnet50\nback", "it contains '\\n'"),
    ("resnet\x0050", "it contains '\\x00'"),
    ("tab\tname", "it contains '\\t'"),
    ("", "it is empty"),
    ("r" * 129, "it has 129 characters"),
    ("résumé", "it contains 'é'"),
    ("a+b", "it contains '+'"),
    ("a%2fb", "it contains '%'"),
]
GOOD_NAMES = ["resnet50", "resnet50-next", "bert_base.v2", "resnet50_onnx", "R", "7", "_x",
              "a..b", "r" * 128]


def named(name):
    entry = copy.deepcopy(RESNET)
    entry["name"] = name
    return entry


@pytest.mark.parametrize("name,why", BAD_NAMES, ids=[repr(n)[:40] for n, _w in BAD_NAMES])
def test_a_name_that_is_not_a_directory_name_is_refused_naming_entry_and_value(name, why):
    with pytest.raises(ModelConfigError) as err:
        render_model_config(0, named(name), "onnxruntime")
    text = str(err.value)
    assert text.startswith(f"triton_models[0] ({name!r}): name {name!r} is not a model "
                           f"directory name: {why}; {RULE}")
    assert "\n" not in text and "\x00" not in text  # quoted: one line, whatever the name holds


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_a_directory_name_is_accepted(name):
    assert parse(render_model_config(0, named(name), "onnxruntime")).name == name


def test_every_bad_name_is_reported_at_once_one_line_each():
    models = [named("../../../../tmp/pwned"), RESNET, named("my model"), named("a\nb"),
              named("bert_base.v2"), named("")]
    with pytest.raises(ModelConfigError) as err:
        render_model_configs(models, "onnxruntime")
    lines = str(err.value).splitlines()
    assert [line.split(": name ")[0] for line in lines] == [
        "triton_models[0] ('../../../../tmp/pwned')", "triton_models[2] ('my model')",
        "triton_models[3] ('a\\nb')", "triton_models[5] ('')"]
    assert all(RULE in line for line in lines)


def test_the_name_rule_is_the_hosts():
    # One rule: the controller's check is the model_repository module's own.
    from ansible_collections.inferops.triton.plugins.module_utils.models import (
        _config_controller as _model_config,
    )
    from ansible_collections.inferops.triton.plugins.module_utils.models import (
        _repository as _model_repository,
    )

    assert _model_config.model_name_error is _model_repository.model_name_error


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
    # two instances on each GPU the server sees, whichever of the host's GPUs those are
    assert [(g.kind, g.count, list(g.gpus)) for g in gpu.instance_group] == [
        (model_config_pb2.ModelInstanceGroup.KIND_GPU, 2, [])]
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
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.mark.parametrize("checksum", [
    "sha256:" + SHA, "SHA256:" + SHA.upper(), "sha256:https://h/m.onnx.sha256",
    "md5:" + SHA, "sha256:", "sha256:abc", "sha256", ""])
def test_the_controller_reads_a_checksum_as_the_host_does(checksum):
    try:
        host = parse_checksum(checksum)
    except RepositoryError as exc:
        host = exc
    entry = dict(copy.deepcopy(RESNET), versions=[dict(V1, checksum=checksum)])
    if isinstance(host, tuple):
        render_model_config(0, entry, "onnxruntime", gpus=[0])
    else:
        with pytest.raises(ModelConfigError) as err:
            render_model_config(0, entry, "onnxruntime", gpus=[0])
        assert str(err.value) == f"triton_models[0] (resnet50): versions[0]: {host}"


@pytest.mark.parametrize("change, words", [
    ({"accelerator": {"name": "migraphx", "parameters": {"migraphx_exhaustive_tune": 1}}},
     ["migraphx_exhaustive_tune: 1 (int) is not a boolean"]),
    # Keys of the newer plugin-EP backend: the ROCm 7.2 backend answers them with INVALID_ARG.
    ({"accelerator": {"name": "migraphx", "parameters": {"compile_batches": "1,2,x"}}},
     ["accelerator.parameters.compile_batches: '1,2,x' (str)", "newer out-of-tree MIGraphX "
      "plugin EP", "valid keys for rocm7.2: precision_mode"]),
    ({"accelerator": {"name": "migraphx", "parameters": {
        "cache_dir": "/var/lib/inferops-triton/models/.cache"}}},
     ["accelerator.parameters.cache_dir: '/var/lib/inferops-triton/models/.cache' (str)",
      "plugin EP", "use migraphx_model_cache_dir"]),
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


@pytest.mark.parametrize("host_gpus", [[0, 1, 2, 3, 4, 5, 6, 7], [6, 7], [3]])
def test_instances_per_gpu_names_no_host_index(host_gpus):
    # A server given GPUs 6 and 7 (gpu_mode subset) or one GPU (per_gpu) sees them as 0 and 1,
    # or 0: the old rendering, gpus [0..7] from the host's list, named GPUs the container
    # does not have, and the model failed to load.
    entry = copy.deepcopy(RESNET)
    del entry["config"]["instance_group"]
    entry["instances_per_gpu"] = 3
    groups = rendered(entry, flavour="rocm", gpus=host_gpus).instance_group
    assert [(g.kind, g.count, list(g.gpus)) for g in groups] == [
        (model_config_pb2.ModelInstanceGroup.KIND_GPU, 3, [])]


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


# --- MIGraphX accelerator keys against the upstream evidence ---------------------------------
# tests/fixtures/upstream/onnxruntime_backend/SOURCE.md says where each list comes from.
UPSTREAM = Path(__file__).resolve().parents[4] / "fixtures" / "upstream" / "onnxruntime_backend"


def upstream_names(name):
    lines = (UPSTREAM / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


KEYS_72 = upstream_names("migraphx_keys.rocm7.2.txt")
PLUGIN_ONLY = sorted(set(upstream_names("migraphx_keys.plugin-ep.txt")) - set(KEYS_72))

# A value the user may write for each key, and what the backend is given.
GOOD_VALUES = {
    "precision_mode": ("fp16", "FP16"),
    "int8_calibration_table_name": ("calibration.flatbuffers", "calibration.flatbuffers"),
    "int8_use_native_calibration_table": (True, "1"),
    "migraphx_max_dynamic_batch": (8, "8"),
    "migraphx_model_cache_dir": ("/var/cache/inferops-triton/migraphx",
                                 "/var/cache/inferops-triton/migraphx"),
    "migraphx_exhaustive_tune": (True, "true"),
}
PLUGIN_VALUES = {
    "cache_dir": "/var/cache/inferops-triton/migraphx", "compile_batches": "1,2,4,8",
    "coalesce_io": True, "exhaustive_tune": True, "hip_graph_enable": True,
    "max_dynamic_batch": 8, "precompile_at_load": False,
}


def with_parameters(parameters):
    entry = copy.deepcopy(RESNET)
    entry["accelerator"] = {"name": "migraphx", "parameters": parameters}
    return entry


def test_the_module_accepts_exactly_the_keys_the_72_backend_reads():
    assert MIGRAPHX_BUILD == "rocm7.2"
    assert MIGRAPHX_KEYS is MIGRAPHX_BUILDS["rocm7.2"]
    assert sorted(MIGRAPHX_KEYS) == sorted(KEYS_72)
    assert sorted(PLUGIN_EP_KEYS) == PLUGIN_ONLY
    # each short plugin name points at a key the 7.2 backend reads, or at none
    assert all(v is None or v in KEYS_72 for v in PLUGIN_EP_KEYS.values())
    # the cache-inside-the-repository check covers the 7.2 backend's cache key
    assert CACHE_KEYS == ("migraphx_model_cache_dir",)


@pytest.mark.parametrize("key", KEYS_72)
def test_each_key_the_72_backend_reads_is_accepted(key):
    value, backend_value = GOOD_VALUES[key]
    accel = rendered(with_parameters({key: value}), flavour="rocm", gpus=[0]) \
        .optimization.execution_accelerators.gpu_execution_accelerator
    assert [(a.name, dict(a.parameters)) for a in accel] == [("migraphx", {key: backend_value})]


@pytest.mark.parametrize("key", PLUGIN_ONLY)
def test_each_plugin_only_key_fails_naming_entry_key_value_and_the_valid_keys(key):
    value = PLUGIN_VALUES[key]
    with pytest.raises(ModelConfigError) as err:
        render_model_config(0, with_parameters({key: value}), "onnxruntime", gpus=[0])
    message = str(err.value)
    assert message.startswith("triton_models[0] (resnet50): ")
    assert f"accelerator.parameters.{key}: {value!r} ({type(value).__name__})" in message
    assert "newer out-of-tree MIGraphX plugin EP" in message
    assert "INVALID_ARG" in message
    assert f"valid keys for rocm7.2: {', '.join(MIGRAPHX_KEYS)}" in message
    if PLUGIN_EP_KEYS[key]:
        assert f"use {PLUGIN_EP_KEYS[key]}" in message


def test_a_plugin_only_key_written_in_the_config_text_fails_too():
    entry = copy.deepcopy(RESNET)
    entry["config"]["optimization"] = {"execution_accelerators": {"gpu_execution_accelerator": [
        {"name": "migraphx", "parameters": {"hip_graph_enable": "true"}}]}}
    with pytest.raises(ModelConfigError, match=r"accelerator.parameters.hip_graph_enable: "
                                               r"'true' \(str\): the key belongs to the newer"):
        render_model_config(0, entry, "onnxruntime", gpus=[0])


@pytest.mark.parametrize("value, backend_value", [
    (True, "1"), (False, "0"), (1, "1"), (0, "0"), ("true", "1"), ("0", "0")])
def test_native_calibration_table_goes_to_the_backend_as_an_integer(value, backend_value):
    # The backend parses it with ParseIntValue: "true" would fail the model load.
    accel = rendered(with_parameters({"int8_use_native_calibration_table": value}),
                     flavour="rocm", gpus=[0]).optimization.execution_accelerators
    assert dict(accel.gpu_execution_accelerator[0].parameters) == {
        "int8_use_native_calibration_table": backend_value}


@pytest.mark.parametrize("parameters, words", [
    ({"int8_use_native_calibration_table": "yes"},
     ["int8_use_native_calibration_table: 'yes' (str) is not a boolean"]),
    ({"precision_mode": "BF16"},
     ["'BF16' is not one of FP32, FP16, INT8", "known only from the newer plugin EP"]),
    ({"precision_mode": "FP8"}, ["'FP8' is not one of FP32, FP16, INT8"]),
])
def test_values_the_72_backend_would_refuse(parameters, words):
    with pytest.raises(ModelConfigError) as err:
        render_model_config(0, with_parameters(parameters), "onnxruntime", gpus=[0])
    for word in words:
        assert word in str(err.value)


# ../shared/upstream beside the checkout (or INFEROPS_UPSTREAM), as in tests/conformance.
SNAPSHOTS = Path(os.environ.get("INFEROPS_UPSTREAM",
                                Path(__file__).resolve().parents[5].parent / "shared" / "upstream"))


def test_the_keys_in_the_upstream_snapshots_are_in_the_fixture():
    # Parts (a) and (b) of the fixture's extraction, redone from the snapshots.
    if not SNAPSHOTS.is_dir():
        pytest.skip(f"upstream snapshots {SNAPSHOTS} are not here (they sit beside the "
                    "project's checkouts only); the fixture is checked against nothing")
    with tarfile.open(SNAPSHOTS / "onnxruntime_backend-add_migraphx_rocm_onnxrt_eps.tar.gz") as tar:
        source = tar.extractfile("onnxruntime_backend/src/onnxruntime.cc").read().decode()
    block = source[source.index("name == kMIGraphXExecutionAccelerator"):]
    block = block[:block.index("#endif  // TRITON_ENABLE_ONNXRUNTIME_MIGRAPHX")]
    found = set(re.findall(r'param_key == "([a-z0-9_]+)"', block))
    server = "rocm-triton-inference-server-server-rocm7.2_r25.12.tar.gz"
    with tarfile.open(SNAPSHOTS / server) as tar:
        for name in ("amd-docs/examples/triton-inference-server-examples.rst",
                     "docs/perf_benchmark/FinalNet/amd/config.pbtxt"):
            text = tar.extractfile(f"triton-inference-server-server/{name}").read().decode()
            found |= set(re.findall(r'key: "(migraphx_[a-z0-9_]+)"', text))
    assert found == {"precision_mode", "int8_calibration_table_name",
                     "int8_use_native_calibration_table", "migraphx_max_dynamic_batch"}
    assert found <= set(KEYS_72)
