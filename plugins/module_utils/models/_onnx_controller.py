# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A model's ``config`` against the signature of its ONNX file, on the controller, before any
host changes: every configured input and output must exist in the graph with the same data
type, and its dims must agree with the graph's shape given ``max_batch_size`` (a batching
model's tensors start with a variable batch dimension that ``dims`` leaves out).

Needs the ``onnx`` package (the controller venv has it); reads the graph only, never the
external weights.
"""

from __future__ import annotations

# onnx.TensorProto.DataType numbers -> Triton's data types (model_config.proto)
ONNX_TO_TRITON = {
    1: "TYPE_FP32", 2: "TYPE_UINT8", 3: "TYPE_INT8", 4: "TYPE_UINT16", 5: "TYPE_INT16",
    6: "TYPE_INT32", 7: "TYPE_INT64", 8: "TYPE_STRING", 9: "TYPE_BOOL", 10: "TYPE_FP16",
    11: "TYPE_FP64", 12: "TYPE_UINT32", 13: "TYPE_UINT64", 16: "TYPE_BF16",
}


class SignatureError(ValueError):
    """The config and the ONNX file disagree; the message names both sides."""


def graph_signature(path: str) -> dict:
    """``{"inputs": {name: (triton type, [dims, -1 for variable])}, "outputs": {...}}``."""
    import onnx

    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - onnx raises DecodeError and others
        raise SignatureError(f"{path} is not an ONNX model ({exc})") from None
    initializers = {init.name for init in model.graph.initializer}

    def tensors(values):
        found = {}
        for value in values:
            if value.name in initializers:
                continue
            tensor = value.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
            found[value.name] = (ONNX_TO_TRITON.get(tensor.elem_type,
                                                    f"ONNX type {tensor.elem_type}"), dims)
        return found

    return {"inputs": tensors(model.graph.input), "outputs": tensors(model.graph.output)}


def _dims_agree(expected: list[int], actual: list[int]) -> bool:
    return len(expected) == len(actual) and all(
        e == a or e == -1 or a == -1 for e, a in zip(expected, actual))


def check(label: str, config: dict, path: str) -> None:
    """Raise SignatureError listing every disagreement between ``config`` and the file."""
    signature = graph_signature(path)
    batch = int(config.get("max_batch_size") or 0)
    errors = []
    for kind, field in (("inputs", "input"), ("outputs", "output")):
        graph = signature[kind]
        for index, tensor in enumerate(config.get(field) or []):
            where = f"config.{field}[{index}]"
            name = tensor.get("name")
            if name not in graph:
                errors.append(f"{where}.name {name!r} is not an {kind[:-1]} of the ONNX file; "
                              f"its {kind} are {', '.join(sorted(graph)) or 'none'}")
                continue
            onnx_type, shape = graph[name]
            if tensor.get("data_type") != onnx_type:
                errors.append(f"{where}.data_type {tensor.get('data_type')} differs from the "
                              f"ONNX file's {onnx_type} for {name!r}")
            dims = [int(d) for d in (tensor.get("reshape") or {}).get("shape") or []] or \
                [int(d) for d in tensor.get("dims") or []]
            if batch > 0:
                if not shape or shape[0] != -1 or len(shape) != len(dims) + 1:
                    errors.append(f"{where}: max_batch_size is {batch}, but {name!r} has no "
                                  f"variable batch dimension in the ONNX file (shape {shape}); "
                                  "set max_batch_size: 0 and give the full dims, or export "
                                  "the model with a dynamic first dimension")
                    continue
                shape = shape[1:]
            if not (tensor.get("reshape") or _dims_agree(dims, shape)):
                errors.append(f"{where}.dims {dims} disagree with the ONNX file's shape "
                              f"{shape} for {name!r}"
                              + (" (the batch dimension left out)" if batch > 0 else ""))
    if errors:
        raise SignatureError(f"{label}: " + "; ".join(errors))
