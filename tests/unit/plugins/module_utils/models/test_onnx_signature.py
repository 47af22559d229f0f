"""Config against ONNX signature. The ONNX files are made here with the real onnx library, in
the shape of the guide's ResNet50-v2 (input 'data' [N,3,224,224] FP32, output
'resnetv24_dense0_fwd' [N,1000]); only the graph's signature matters to the check."""

import copy
import json

import onnx
import pytest
from onnx import TensorProto, helper

from ansible_collections.inferops.triton.plugins.module_utils.models._onnx_controller import (
    SignatureError,
    check,
    graph_signature,
)

CONFIG = {
    "max_batch_size": 8,
    "input": [{"name": "data", "data_type": "TYPE_FP32", "dims": [3, 224, 224]}],
    "output": [{"name": "resnetv24_dense0_fwd", "data_type": "TYPE_FP32", "dims": [1000]}],
}


def resnet_shaped(path, batch="N"):
    """A graph with the guide's tensor names and shapes (a mean, a Flatten and a MatMul stand
    between them; the weights are zeros)."""
    data = helper.make_tensor_value_info("data", TensorProto.FLOAT, [batch, 3, 224, 224])
    out = helper.make_tensor_value_info("resnetv24_dense0_fwd", TensorProto.FLOAT,
                                        [batch, 1000])
    weight = helper.make_tensor("w", TensorProto.FLOAT, [1, 1000], [0.0] * 1000)
    nodes = [helper.make_node("ReduceMean", ["data"], ["pooled"], axes=[1, 2, 3], keepdims=1),
             helper.make_node("Flatten", ["pooled"], ["flat"]),
             helper.make_node("MatMul", ["flat", "w"], ["resnetv24_dense0_fwd"])]
    graph = helper.make_graph(nodes, "resnet50_shaped", [data], [out], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def test_the_signature_is_read_from_the_graph(tmp_path):
    sig = graph_signature(resnet_shaped(tmp_path / "m.onnx"))
    assert sig == {"inputs": {"data": ("TYPE_FP32", [-1, 3, 224, 224])},
                   "outputs": {"resnetv24_dense0_fwd": ("TYPE_FP32", [-1, 1000])}}


def test_the_guides_config_agrees_with_its_model(tmp_path):
    check("triton_models[0] (resnet50)", CONFIG, resnet_shaped(tmp_path / "m.onnx"))


@pytest.mark.parametrize("change, words", [
    (lambda c: c["output"][0].update(name="prob"),
     ["config.output[0].name 'prob' is not an output of the ONNX file",
      "its outputs are resnetv24_dense0_fwd"]),
    (lambda c: c["input"][0].update(data_type="TYPE_FP16"),
     ["config.input[0].data_type TYPE_FP16 differs from the ONNX file's TYPE_FP32"]),
    (lambda c: c["input"][0].update(dims=[1, 3, 224, 224]),
     ["max_batch_size is 8", "no variable batch dimension"]),
    (lambda c: c["input"][0].update(dims=[3, 299, 299]),
     ["config.input[0].dims [3, 299, 299] disagree", "[3, 224, 224]",
      "batch dimension left out"]),
])
def test_disagreements_name_the_field_and_both_sides(tmp_path, change, words):
    config = copy.deepcopy(CONFIG)
    change(config)
    with pytest.raises(SignatureError) as err:
        check("triton_models[0] (resnet50)", config, resnet_shaped(tmp_path / "m.onnx"))
    assert str(err.value).startswith("triton_models[0] (resnet50): ")
    for word in words:
        assert word in str(err.value)


def test_max_batch_size_on_a_model_without_a_batch_dimension(tmp_path):
    fixed = resnet_shaped(tmp_path / "fixed.onnx", batch=1)
    with pytest.raises(SignatureError, match="has no variable batch dimension"):
        check("triton_models[0] (resnet50)", CONFIG, fixed)
    # Without batching, the full shape is the config's dims.
    unbatched = copy.deepcopy(CONFIG)
    unbatched["max_batch_size"] = 0
    unbatched["input"][0]["dims"] = [1, 3, 224, 224]
    unbatched["output"][0]["dims"] = [1, 1000]
    check("triton_models[0] (resnet50)", unbatched, fixed)


def test_a_file_that_is_not_onnx_is_named(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"<html>404</html>")
    with pytest.raises(SignatureError, match="is not an ONNX model"):
        check("triton_models[0] (resnet50)", CONFIG, str(bad))


def test_the_filter_checks_every_file_on_the_controller_once_and_reports_all_at_once(tmp_path):
    from ansible.errors import AnsibleFilterError

    from ansible_collections.inferops.triton.plugins.filter.model_signatures import (
        model_signatures,
    )

    url = "http://127.0.0.1:18080/resnet50-v2.onnx"
    resnet_shaped(tmp_path / "resnet50.onnx")
    sources = {url: {"src": str(tmp_path / "resnet50.onnx")},
               "http://x/node-downloads": {"src": None}}

    def rendered(config):
        return [{"name": "resnet50", "index": 0, "config": config,
                 "versions": [{"version": 1, "url": url}]},
                {"name": "other", "index": 1, "config": CONFIG,
                 "versions": [{"version": 1, "url": "http://x/node-downloads"}]}]

    # two hosts with the same configs: the file is checked once
    assert model_signatures([rendered(CONFIG), rendered(CONFIG)], sources) == ["resnet50/1"]
    assert model_signatures(rendered(CONFIG), sources) == ["resnet50/1"]
    bad = copy.deepcopy(CONFIG)
    bad["output"][0]["name"] = "prob"
    with pytest.raises(AnsibleFilterError, match=r"triton_models\[0\] \(resnet50\) version 1: "
                                                 r"config.output\[0\].name 'prob'"):
        model_signatures([rendered(CONFIG), rendered(bad)], sources)


def test_the_filter_keeps_the_checks_that_passed_by_sha256_and_signature(tmp_path):
    from ansible.errors import AnsibleFilterError

    from ansible_collections.inferops.triton.plugins.filter.model_signatures import (
        model_signatures,
    )

    url = "http://127.0.0.1:18080/resnet50-v2.onnx"
    onnx = tmp_path / "resnet50.onnx"
    resnet_shaped(onnx)
    sources = {url: {"src": str(onnx), "sha256": "ab" * 32}}
    cache = tmp_path / "cache"

    def rendered(config):
        return [{"name": "resnet50", "index": 0, "config": config,
                 "versions": [{"version": 1, "url": url}]}]

    assert model_signatures(rendered(CONFIG), sources, str(cache)) == ["resnet50/1"]
    kept = json.loads((cache / "signatures.json").read_text())
    assert len(kept) == 1 and kept[0].startswith("ab" * 32 + " ")
    # another signature over the same file is checked, and a failure is not kept
    bad = copy.deepcopy(CONFIG)
    bad["output"][0]["name"] = "prob"
    with pytest.raises(AnsibleFilterError, match=r"triton_models\[0\] \(resnet50\)"):
        model_signatures(rendered(bad), sources, str(cache))
    assert json.loads((cache / "signatures.json").read_text()) == kept
    # the same file (by sha256) and the same signature: not read again
    onnx.write_bytes(b"not onnx at all")
    assert model_signatures(rendered(CONFIG), sources, str(cache)) == ["resnet50/1"]
    # without a cache every pair is checked
    with pytest.raises(AnsibleFilterError, match="is not an ONNX model"):
        model_signatures(rendered(CONFIG), sources)
