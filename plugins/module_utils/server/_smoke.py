# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smoke test: one inference per model with a zero input of each declared shape and
type, and its outputs checked against the model's config (every declared output, with its
declared shape and datatype).

Travels to hosts; standard library only. :func:`smoke_one` sends the request through a
``server/_client.py`` client; the rest are pure functions of the config.
"""

from __future__ import annotations

import math

from ansible_collections.inferops.triton.plugins.module_utils.server._client import (
    Unreachable,
    quote_name,
)

# Zero element of each config data type in the JSON tensor format, and the types that
# must travel as binary tensor data (Triton refuses FP16/BF16 in JSON), with their size.
_JSON_ZERO = {
    "BOOL": False, "BYTES": "",
    "UINT8": 0, "UINT16": 0, "UINT32": 0, "UINT64": 0,
    "INT8": 0, "INT16": 0, "INT32": 0, "INT64": 0,
    "FP32": 0.0, "FP64": 0.0,
}
_BINARY_ONLY = {"FP16": 2, "BF16": 2}


def datatype(config_type):
    """A config ``data_type`` as the protocol's datatype: TYPE_FP32 -> FP32,
    TYPE_STRING -> BYTES."""
    name = str(config_type or "")
    name = name[5:] if name.startswith("TYPE_") else name
    return "BYTES" if name == "STRING" else name


def _batching(config):
    return int(config.get("max_batch_size", 0) or 0) > 0


def request_shape(config, tensor):
    """The shape of a request tensor: ``[1] + dims`` when the model batches, else
    ``dims``; a variable (-1) dimension becomes 1."""
    dims = [int(d) for d in tensor.get("dims", [])]
    return ([1] if _batching(config) else []) + [1 if d < 0 else d for d in dims]


def expected_shape(config, tensor):
    """The shape an output should have for a batch of 1; -1 matches any size."""
    dims = [int(d) for d in tensor.get("dims", [])]
    return ([1] if _batching(config) else []) + dims


def infer_request(config):
    """The zero request for a model: every declared input filled with zeros (False,
    empty strings) of its declared shape; every declared output asked for, as JSON except
    FP16/BF16 (binary). Binary inputs carry ``binary_data`` bytes to append."""
    inputs = []
    for tensor in config.get("input", []):
        kind = datatype(tensor.get("data_type"))
        shape = request_shape(config, tensor)
        count = math.prod(shape)
        item = {"name": tensor["name"], "shape": shape, "datatype": kind}
        if kind in _BINARY_ONLY:
            item["binary_data"] = bytes(_BINARY_ONLY[kind] * count)
        elif kind in _JSON_ZERO:
            item["data"] = [_JSON_ZERO[kind]] * count
        else:
            raise ValueError(f"input '{tensor['name']}': data_type "
                             f"{tensor.get('data_type')!r} cannot be sent")
        inputs.append(item)
    outputs = [{"name": tensor["name"], "parameters": {
        "binary_data": datatype(tensor.get("data_type")) in _BINARY_ONLY}}
        for tensor in config.get("output", [])]
    return {"inputs": inputs, "outputs": outputs}


def _shape_fits(shape, expected):
    return len(shape) == len(expected) and all(
        e < 0 or s == e for s, e in zip(shape, expected))


def check_outputs(config, response):
    """Compare an inference response with the config's outputs; return ``(ok, {name:
    shape}, msg)``, ``msg`` naming each output that is missing or differs."""
    got = {o.get("name"): o for o in response.get("outputs", [])}
    shapes = {name: list(o.get("shape", [])) for name, o in got.items()}
    problems = []
    for tensor in config.get("output", []):
        name = tensor["name"]
        want = expected_shape(config, tensor)
        if name not in got:
            problems.append(f"output '{name}' is missing from the response (it has "
                            f"{', '.join(sorted(map(str, got))) or 'no outputs'})")
            continue
        shape = shapes[name]
        if not _shape_fits(shape, want):
            how = "[1] + dims" if _batching(config) else "dims"
            problems.append(f"output '{name}' has shape {shape}, the config declares "
                            f"{want} ({how}; -1 matches any size)")
        kind = datatype(tensor.get("data_type"))
        if got[name].get("datatype") not in (None, kind):
            problems.append(f"output '{name}' has datatype {got[name]['datatype']}, the "
                            f"config declares {kind}")
        data = got[name].get("data")
        if isinstance(data, list) and _shape_fits(shape, want) and len(data) != math.prod(
                shape):
            problems.append(f"output '{name}' has shape {shape} but {len(data)} values")
    if problems:
        return False, shapes, "; ".join(problems)
    return True, shapes, "every declared output has its declared shape"


def smoke_one(client, model, config):
    """One zero inference; ``({ok, outputs, msg}, error or None)``."""
    try:
        request = infer_request(config)
    except ValueError as exc:
        return {"ok": False, "outputs": {}, "msg": f"not run: {exc}"}, None
    try:
        status, answer, error = client.infer(model, request)
    except Unreachable as exc:
        return {"ok": False, "outputs": {}, "msg": f"inference failed: {exc}"}, str(exc)
    if error is not None:
        text = f"POST {client.url}/v2/models/{quote_name(model)}/infer: HTTP {status}: {error}"
        return {"ok": False, "outputs": {}, "msg": f"inference failed: HTTP {status}: "
                f"{error}"}, text
    ok, shapes, msg = check_outputs(config, answer)
    return {"ok": ok, "outputs": shapes, "msg": msg}, None
