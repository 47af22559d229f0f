# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""onnxruntime_cpu: a Triton Python-based backend that serves ONNX files with ONNX Runtime
on the CPU.

A model selects it with ``backend: "onnxruntime_cpu"``; Triton finds this file at
``<backend-directory>/onnxruntime_cpu/model.py`` and runs it with the python backend's
``libtriton_python.so`` and stub from ``<backend-directory>/python/``. It loads
``<model>/<version>/<default_model_filename or model.onnx>``.

Dynamic batching: for a model with ``max_batch_size > 0`` the requests Triton hands to
one ``execute`` call are concatenated along axis 0, run once, and the outputs split back
per request. A request whose inputs are wrong gets its own error response; the others
are served. With ``max_batch_size: 0`` each request runs on its own.

Config ``parameters`` read (named as in Triton's C++ onnxruntime backend, the number in
``string_value``): ``intra_op_thread_count``, ``inter_op_thread_count``.

The batching functions below are plain numpy so they can be tested without Triton.
"""

import json
import os

import numpy as np

try:  # only present inside the python backend's stub
    import triton_python_backend_utils as pb_utils
except ImportError:  # unit tests
    pb_utils = None

# ONNX Runtime's type strings -> Triton's config data types.
ORT_TO_TRITON = {
    "tensor(float)": "TYPE_FP32", "tensor(float16)": "TYPE_FP16",
    "tensor(double)": "TYPE_FP64", "tensor(bfloat16)": "TYPE_BF16",
    "tensor(int8)": "TYPE_INT8", "tensor(int16)": "TYPE_INT16",
    "tensor(int32)": "TYPE_INT32", "tensor(int64)": "TYPE_INT64",
    "tensor(uint8)": "TYPE_UINT8", "tensor(uint16)": "TYPE_UINT16",
    "tensor(uint32)": "TYPE_UINT32", "tensor(uint64)": "TYPE_UINT64",
    "tensor(bool)": "TYPE_BOOL", "tensor(string)": "TYPE_STRING",
}


def check_model_io(config, model_inputs, model_outputs):
    """Raise ValueError naming the first config tensor the ONNX model lacks or contradicts.

    ``model_inputs``/``model_outputs`` map a tensor name to ``(ort type, shape)`` as
    ONNX Runtime reports them (a shape item is an int, or a str/None when symbolic).
    """
    batching = int(config.get("max_batch_size", 0)) > 0
    for kind, declared, present in (("input", config.get("input", []), model_inputs),
                                    ("output", config.get("output", []), model_outputs)):
        for tensor in declared:
            name = tensor["name"]
            if name not in present:
                raise ValueError(f"config declares {kind} '{name}' but the ONNX model has "
                                 f"{kind}s {sorted(present)}")
            ort_type, shape = present[name]
            want = tensor.get("data_type", "")
            if ORT_TO_TRITON.get(ort_type, ort_type) != want:
                raise ValueError(f"{kind} '{name}': config data_type {want} but the ONNX "
                                 f"model has {ort_type}")
            if "reshape" in tensor:
                continue
            dims = [int(d) for d in tensor.get("dims", [])]
            if batching:
                if isinstance(shape[0] if shape else None, int) and shape[0] != -1:
                    raise ValueError(f"{kind} '{name}': max_batch_size > 0 but the ONNX "
                                     f"model fixes its first dimension to {shape[0]}")
                shape = shape[1:]
            if len(dims) != len(shape) or any(
                    isinstance(s, int) and s >= 0 and d >= 0 and s != d
                    for d, s in zip(dims, shape)):
                prefix = "[batch] + " if batching else ""
                raise ValueError(f"{kind} '{name}': config dims {prefix}{dims} do not fit "
                                 f"the ONNX model's shape {list(shape)}")


def plan_batches(request_inputs, input_names):
    """Group requests that can share one session run; return ``(groups, sizes, errors)``.

    ``request_inputs`` has one ``{name: ndarray}`` per request. ``groups`` lists request
    indices whose inputs agree on everything but the batch size (usually one group);
    ``sizes[i]`` is request i's batch size, ``errors[i]`` why it cannot run, or None.
    """
    groups, keys, sizes, errors = [], [], [], []
    for index, arrays in enumerate(request_inputs):
        missing = [name for name in input_names if name not in arrays]
        if missing:
            sizes.append(None)
            errors.append(f"missing input(s): {', '.join(missing)}")
            continue
        batch = {arrays[name].shape[0] if arrays[name].ndim else None for name in input_names}
        if len(batch) != 1 or None in batch:
            sizes.append(None)
            errors.append("inputs have no common batch size (first dimension): " + ", ".join(
                f"{name} {list(arrays[name].shape)}" for name in input_names))
            continue
        sizes.append(batch.pop())
        errors.append(None)
        key = tuple((arrays[name].shape[1:], arrays[name].dtype.str) for name in input_names)
        if key in keys:
            groups[keys.index(key)].append(index)
        else:
            keys.append(key)
            groups.append([index])
    return groups, sizes, errors


def concatenate(request_inputs, indices, input_names):
    """The feed for one session run: each input of the given requests joined on axis 0."""
    return {name: np.concatenate([request_inputs[i][name] for i in indices], axis=0)
            for name in input_names}


def split(outputs, sizes):
    """Cut each output on axis 0 into one ``{name: array}`` per batch size in ``sizes``."""
    total = sum(sizes)
    for name, value in outputs.items():
        if np.ndim(value) == 0 or value.shape[0] != total:
            raise ValueError(f"output '{name}' has shape {list(np.shape(value))}, "
                             f"expected a first dimension of {total} (the batch)")
    pieces, start = [], 0
    for size in sizes:
        pieces.append({name: value[start:start + size] for name, value in outputs.items()})
        start += size
    return pieces


def run_one(run, arrays, input_names):
    """Run one request alone: ``{output name: array}``, or an error string."""
    missing = [name for name in input_names if name not in arrays]
    if missing:
        return f"missing input(s): {', '.join(missing)}"
    try:
        return run({name: arrays[name] for name in input_names})
    except Exception as exc:  # the error goes back to this request only
        return f"inference failed: {exc}"


def run_batched(run, request_inputs, input_names):
    """Serve requests with one ``run(feed) -> {output name: array}`` call per group.

    Returns one item per request: ``{output name: array}`` or an error string. Should a
    merged run fail, its requests are retried one by one so only the bad ones fail.
    """
    groups, sizes, errors = plan_batches(request_inputs, input_names)
    results = list(errors)
    for indices in groups:
        try:
            outputs = run(concatenate(request_inputs, indices, input_names))
            pieces = split(outputs, [sizes[i] for i in indices])
        except Exception as exc:  # retried one by one below
            if len(indices) == 1:
                results[indices[0]] = f"inference failed: {exc}"
                continue
            pieces = [run_one(run, request_inputs[i], input_names) for i in indices]
        for index, piece in zip(indices, pieces):
            results[index] = piece
    return results


def thread_count(config, key):
    """A ``parameters`` entry as an int; 0 (ONNX Runtime's default) when unset or empty."""
    value = config.get("parameters", {}).get(key, {}).get("string_value", "").strip()
    if not value:
        return 0
    if not value.isdigit():
        raise ValueError(f"parameter '{key}' must be a non-negative integer, got {value!r}")
    return int(value)


def model_path(args, config):
    """Where the ONNX file is: <model>/<version>/<default_model_filename or model.onnx>."""
    filename = config.get("default_model_filename") or "model.onnx"
    path = os.path.join(args["model_repository"], args["model_version"], filename)
    return os.path.join(path, "model.onnx") if os.path.isdir(path) else path


class TritonPythonModel:
    """The model instance Triton's python stub drives."""

    def initialize(self, args):
        """Open the ONNX Runtime session and check it against the config."""
        import onnxruntime as ort

        self.config = json.loads(args["model_config"])
        path = model_path(args, self.config)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"onnxruntime_cpu: no ONNX model at {path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = thread_count(self.config, "intra_op_thread_count")
        options.inter_op_num_threads = thread_count(self.config, "inter_op_thread_count")
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        try:
            check_model_io(
                self.config,
                {i.name: (i.type, list(i.shape)) for i in self.session.get_inputs()},
                {o.name: (o.type, list(o.shape)) for o in self.session.get_outputs()})
        except ValueError as exc:
            raise ValueError(f"onnxruntime_cpu: {path}: {exc}") from None
        self.batching = int(self.config.get("max_batch_size", 0)) > 0
        self.input_names = [i["name"] for i in self.config.get("input", [])]
        self.output_names = [o["name"] for o in self.config.get("output", [])]
        if pb_utils is not None and hasattr(pb_utils, "Logger"):
            pb_utils.Logger.log_info(
                f"onnxruntime_cpu: {path} with onnxruntime {ort.__version__}, "
                f"numpy {np.__version__}, intra_op={options.intra_op_num_threads} "
                f"inter_op={options.inter_op_num_threads} batching={self.batching}")
            if int(np.__version__.split(".")[0]) >= 2:
                # Seen with nvidia-pytriton 0.7.0 (Triton 2.51.0): its stub is built against
                # numpy 1.x, and with numpy 2 outputs reach the client empty or garbled.
                pb_utils.Logger.log_warn(
                    f"onnxruntime_cpu: numpy {np.__version__}: python backend stubs built "
                    "against numpy 1.x return wrong output tensors with numpy 2; use numpy<2")

    def _run(self, feed):
        return dict(zip(self.output_names, self.session.run(self.output_names, feed)))

    def execute(self, requests):
        """One response per request, in order; merged into one run when batching."""
        request_inputs = []
        for request in requests:
            arrays = {}
            for name in self.input_names:
                tensor = pb_utils.get_input_tensor_by_name(request, name)
                if tensor is not None:
                    arrays[name] = tensor.as_numpy()
            request_inputs.append(arrays)

        if self.batching:
            results = run_batched(self._run, request_inputs, self.input_names)
        else:
            results = [run_one(self._run, arrays, self.input_names)
                       for arrays in request_inputs]

        responses = []
        for result in results:
            if isinstance(result, str):
                responses.append(pb_utils.InferenceResponse(
                    output_tensors=[], error=pb_utils.TritonError(result)))
            else:
                responses.append(pb_utils.InferenceResponse(output_tensors=[
                    pb_utils.Tensor(name, np.ascontiguousarray(result[name]))
                    for name in self.output_names]))
        return responses

    def finalize(self):
        """Drop the session."""
        self.session = None
