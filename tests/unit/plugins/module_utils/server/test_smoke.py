"""The zero inference (server/_smoke.py): the request for each captured config, and its
response checked against the config's outputs (tests/fixtures/triton, SOURCE.md)."""

import json
import math

import pytest
from triton_captures import (
    OK,
    TRITON,
    TYPES_OUTPUTS,
    _capture_module,
    _json,
    _manifest,
)

from ansible_collections.inferops.triton.plugins.module_utils.server._client import (
    Response,
    decode_response,
    encode_request,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._smoke import (
    check_outputs,
    datatype,
    infer_request,
)


@pytest.mark.parametrize("config_type, wire", [
    ("TYPE_FP32", "FP32"), ("TYPE_STRING", "BYTES"), ("TYPE_BOOL", "BOOL"),
    ("TYPE_INT64", "INT64"), ("TYPE_FP16", "FP16"), ("TYPE_BF16", "BF16"),
    ("TYPE_UINT8", "UINT8"),
])
def test_config_data_types_on_the_wire(config_type, wire):
    assert datatype(config_type) == wire


def test_zero_request_of_the_captured_resnet50_config():
    config = _json("config-resnet50.json")
    request = infer_request(config)
    (tensor,) = request["inputs"]
    assert (tensor["name"], tensor["shape"], tensor["datatype"]) == (
        "data", [1, 3, 224, 224], "FP32")
    assert len(tensor["data"]) == 3 * 224 * 224 and set(tensor["data"]) == {0.0}
    assert request["outputs"] == [{"name": "resnetv24_dense0_fwd",
                                   "parameters": {"binary_data": False}}]
    body, headers = encode_request(request)
    assert headers == {"Content-Type": "application/json"}
    assert json.loads(body)["inputs"][0]["shape"] == [1, 3, 224, 224]


def _tensor(name, data_type, dims):
    return {"name": name, "data_type": data_type, "dims": dims}


@pytest.mark.parametrize("max_batch_size, dims, shape", [
    (8, [3, 224, 224], [1, 3, 224, 224]),
    (0, [3, 224, 224], [3, 224, 224]),
    (4, [-1, 16], [1, 1, 16]),
    (0, [-1, -1], [1, 1]),
    (0, [], []),
])
def test_zero_input_shape_with_and_without_batching(max_batch_size, dims, shape):
    config = {"max_batch_size": max_batch_size, "input": [_tensor("x", "TYPE_FP32", dims)]}
    (tensor,) = infer_request(config)["inputs"]
    assert tensor["shape"] == shape
    assert len(tensor["data"]) == math.prod(shape)


@pytest.mark.parametrize("data_type, wire, data", [
    ("TYPE_FP32", "FP32", [0.0, 0.0]),
    ("TYPE_FP64", "FP64", [0.0, 0.0]),
    ("TYPE_INT64", "INT64", [0, 0]),
    ("TYPE_UINT8", "UINT8", [0, 0]),
    ("TYPE_BOOL", "BOOL", [False, False]),
    ("TYPE_STRING", "BYTES", ["", ""]),
])
def test_zero_data_of_each_json_datatype(data_type, wire, data):
    (tensor,) = infer_request({"input": [_tensor("x", data_type, [2])]})["inputs"]
    assert (tensor["datatype"], tensor["data"]) == (wire, data)


def test_fp16_travels_as_binary_tensor_data():
    config = {"input": [_tensor("h", "TYPE_FP16", [2, 2]), _tensor("n", "TYPE_INT64", [3])],
              "output": [_tensor("h_out", "TYPE_FP16", [2, 2])]}
    body, headers = encode_request(infer_request(config))
    length = int(headers["Inference-Header-Content-Length"])
    header = json.loads(body[:length])
    assert header["inputs"][0] == {"name": "h", "shape": [2, 2], "datatype": "FP16",
                                   "parameters": {"binary_data_size": 8}}
    assert header["inputs"][1]["data"] == [0, 0, 0]
    assert header["outputs"] == [{"name": "h_out", "parameters": {"binary_data": True}}]
    assert body[length:] == bytes(8)


def test_the_requests_are_the_ones_the_real_server_answered():
    # capture.py wrote them by hand; the module's must be the same bytes.
    capture = _capture_module()
    assert encode_request(infer_request(_json("config-types.json"))) == \
        capture._types_request()
    assert encode_request(infer_request(_json("config-resnet50.json")))[0] == json.dumps(
        capture.ZERO_RESNET50, separators=(",", ":")).encode()


def test_an_unknown_datatype_is_not_sent():
    with pytest.raises(ValueError, match="input 'x': data_type 'TYPE_COMPLEX'"):
        infer_request({"input": [_tensor("x", "TYPE_COMPLEX", [1])]})


def test_the_captured_resnet50_response_matches_its_config():
    config = _json("config-resnet50.json")
    response = _json("infer-resnet50.json")
    assert check_outputs(config, response) == (True, {"resnetv24_dense0_fwd": [1, 1000]}, OK)


def test_the_captured_binary_types_response_matches_its_config():
    step = next(s for s in _manifest("broken") if s["file"] == "infer-types.bin")
    response = decode_response(Response(200, (TRITON / "infer-types.bin").read_bytes(),
                                        step["headers"]))
    assert response["outputs"][2]["parameters"] == {"binary_data_size": 8}
    assert check_outputs(_json("config-types.json"), response) == (True, TYPES_OUTPUTS, OK)


@pytest.mark.parametrize("dims, shape, message", [
    ([1000], [1, 999], "output 'y' has shape [1, 999], the config declares [1, 1000] "
                       "([1] + dims; -1 matches any size)"),
    ([1000], [1000], "output 'y' has shape [1000], the config declares [1, 1000] "
                     "([1] + dims; -1 matches any size)"),
    ([-1], [1, 7], None),
    ([-1, 4], [1, 7, 5], "output 'y' has shape [1, 7, 5], the config declares [1, -1, 4] "
                         "([1] + dims; -1 matches any size)"),
])
def test_output_shape_match_and_mismatch(dims, shape, message):
    config = {"max_batch_size": 8, "output": [_tensor("y", "TYPE_FP32", dims)]}
    response = {"outputs": [{"name": "y", "datatype": "FP32", "shape": shape}]}
    ok, outputs, msg = check_outputs(config, response)
    assert outputs == {"y": shape}
    assert (ok, msg) == ((True, OK) if message is None else (False, message))


def test_missing_output_wrong_datatype_and_short_data_are_each_named():
    config = {"max_batch_size": 0, "output": [
        _tensor("a", "TYPE_FP32", [2]), _tensor("b", "TYPE_INT64", [2]),
        _tensor("c", "TYPE_FP32", [3])]}
    response = {"outputs": [
        {"name": "b", "datatype": "INT32", "shape": [2], "data": [0, 0]},
        {"name": "c", "datatype": "FP32", "shape": [3], "data": [0.0]}]}
    ok, outputs, msg = check_outputs(config, response)
    assert not ok and outputs == {"b": [2], "c": [3]}
    assert msg == ("output 'a' is missing from the response (it has b, c); "
                   "output 'b' has datatype INT32, the config declares INT64; "
                   "output 'c' has shape [3] but 1 values")
