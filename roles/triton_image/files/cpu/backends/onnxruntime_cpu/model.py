# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""onnxruntime_cpu: a Triton Python-based backend that serves ONNX files with ONNX Runtime
on the CPU.

A model selects it with ``backend: "onnxruntime_cpu"``; Triton finds this file at
``<backend-directory>/onnxruntime_cpu/model.py`` and runs it with the python backend's
stub. It loads ``<model>/<version>/<default_model_filename or model.onnx>``.

Dynamic batching: for a model with ``max_batch_size > 0`` the requests Triton hands to
one ``execute`` call are concatenated along the batch axis, run once, and the outputs
split back per request. A request whose inputs are wrong gets its own error response;
the others are served.

Config ``parameters`` read (named as in Triton's C++ onnxruntime backend):
``intra_op_thread_count``, ``inter_op_thread_count``.
"""

import json
import os

import numpy as np


class RequestError(ValueError):
    """A request's inputs do not fit the model; only that request fails."""


def batch_plan(request_inputs, input_names):
    """Check each request's inputs and return ``(sizes, errors)``.

    ``request_inputs`` is a list (one item per request) of ``{name: ndarray}``.
    ``sizes[i]`` is request i's batch size, or None when ``errors[i]`` says why it
    cannot be served.
    """
    sizes, errors = [], []
    for arrays in request_inputs:
        try:
            missing = [name for name in input_names if name not in arrays]
            if missing:
                raise RequestError(f"missing input(s): {', '.join(missing)}")
            batch = {arrays[name].shape[0] if arrays[name].ndim else None
                     for name in input_names}
            if len(batch) != 1 or None in batch:
                raise RequestError("inputs disagree on the batch size (first dimension)")
            sizes.append(batch.pop())
            errors.append(None)
        except RequestError as exc:
            sizes.append(None)
            errors.append(str(exc))
    return sizes, errors


def concatenate(request_inputs, sizes, input_names):
    """One feed for the session: each input of the servable requests, stacked on axis 0."""
    keep = [arrays for arrays, size in zip(request_inputs, sizes) if size is not None]
    return {name: np.concatenate([arrays[name] for arrays in keep], axis=0)
            for name in input_names}


def split(outputs, sizes):
    """Cut each output back into per-request pieces; None for requests that were not run."""
    pieces, start = [], 0
    for size in sizes:
        if size is None:
            pieces.append(None)
            continue
        pieces.append({name: value[start:start + size] for name, value in outputs.items()})
        start += size
    return pieces


def run_batched(run, request_inputs, input_names, output_names):
    """Serve a batch of requests with a single call of ``run(feed) -> {name: array}``.

    Returns one item per request: ``{output name: array}`` or an error string.
    """
    sizes, errors = batch_plan(request_inputs, input_names)
    if not any(size is not None for size in sizes):
        return errors
    outputs = run(concatenate(request_inputs, sizes, input_names))
    pieces = split({name: outputs[name] for name in output_names}, sizes)
    return [error if piece is None else piece for piece, error in zip(pieces, errors)]


def _parameter(config, key, default):
    value = config.get("parameters", {}).get(key, {}).get("string_value", "")
    return int(value) if value.strip() else default


class TritonPythonModel:
    """The backend Triton's python stub drives."""

    def initialize(self, args):
        import onnxruntime as ort

        self.config = json.loads(args["model_config"])
        filename = self.config.get("default_model_filename") or "model.onnx"
        path = os.path.join(args["model_repository"], args["model_version"], filename)
        options = ort.SessionOptions()
        options.intra_op_num_threads = _parameter(self.config, "intra_op_thread_count", 0)
        options.inter_op_num_threads = _parameter(self.config, "inter_op_thread_count", 0)
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.batching = int(self.config.get("max_batch_size", 0)) > 0
        self.input_names = [i["name"] for i in self.config.get("input", [])]
        self.output_names = [o["name"] for o in self.config.get("output", [])]
        model_inputs = {i.name for i in self.session.get_inputs()}
        model_outputs = {o.name for o in self.session.get_outputs()}
        for kind, declared, present in (("input", self.input_names, model_inputs),
                                        ("output", self.output_names, model_outputs)):
            for name in declared:
                if name not in present:
                    raise ValueError(f"config.pbtxt declares {kind} '{name}' but {path} has "
                                     f"{kind}s {sorted(present)}")

    def _run(self, feed):
        values = self.session.run(self.output_names, feed)
        return dict(zip(self.output_names, values))

    def execute(self, requests):
        import triton_python_backend_utils as pb_utils

        request_inputs = []
        for request in requests:
            arrays = {}
            for name in self.input_names:
                tensor = pb_utils.get_input_tensor_by_name(request, name)
                if tensor is not None:
                    arrays[name] = tensor.as_numpy()
            request_inputs.append(arrays)

        if self.batching:
            results = run_batched(self._run, request_inputs, self.input_names,
                                  self.output_names)
        else:
            results = []
            for arrays in request_inputs:
                missing = [name for name in self.input_names if name not in arrays]
                results.append(f"missing input(s): {', '.join(missing)}" if missing
                               else self._run(arrays))

        responses = []
        for result in results:
            if isinstance(result, str):
                responses.append(pb_utils.InferenceResponse(
                    output_tensors=[], error=pb_utils.TritonError(result)))
            else:
                responses.append(pb_utils.InferenceResponse(output_tensors=[
                    pb_utils.Tensor(name, np.ascontiguousarray(value))
                    for name, value in result.items()]))
        return responses

    def finalize(self):
        self.session = None
