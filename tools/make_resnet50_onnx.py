"""Write a ResNet50-v2-shaped ONNX model with random weights.

AMD's Triton guide serves the ONNX model zoo's resnet50-v2-7 (input ``data`` FP32
[N,3,224,224], output ``resnetv24_dense0_fwd`` FP32 [N,1000]). The zoo is not reachable
from the lab, so this builds the same architecture (MXNet Gluon's ResNet50 v2: an input
BatchNorm, a 7x7 stem, pre-activation bottleneck blocks [3, 4, 6, 3], BN-ReLU, global
average pool, dense 1000) under the same tensor names, with weights drawn from a seeded
numpy Generator. The file is byte-for-byte the same for the same seed; ``PATH.sha256`` is
written beside it in sha256sum format.

    python tools/make_resnet50_onnx.py --output build/models/resnet50-v2.onnx [--seed 0]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT, OUTPUT = "data", "resnetv24_dense0_fwd"
STAGES = [(64, 3), (128, 4), (256, 6), (512, 3)]  # (bottleneck width, blocks)
OPSET, IR_VERSION = 17, 8  # IR 8 so older onnxruntime releases load it too
RESIDUAL_GAIN = 0.2  # shrinks each block's last conv so activations stay moderate


class Graph:
    """Collects nodes and initializers; names are numbered in creation order."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}{self.count}"

    def weight(self, shape, scale) -> str:
        """A random normal FP32 initializer with standard deviation ``scale``."""
        name = self.name("w")
        data = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        self.weights.append(numpy_helper.from_array(data, name))
        return name

    def const(self, value, channels) -> str:
        name = self.name("c")
        self.weights.append(numpy_helper.from_array(np.full(channels, value, np.float32), name))
        return name

    def op(self, kind, inputs, **attrs) -> str:
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x, cin, cout, k, stride=1, gain=1.0):
        """Conv without bias (as in Gluon), He-initialised, 'same' padding."""
        w = self.weight((cout, cin, k, k), gain * np.sqrt(2.0 / (cin * k * k)))
        return self.op("Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride],
                       pads=[k // 2] * 4)

    def bn(self, x, channels):
        scale, var = self.const(1.0, channels), self.const(1.0, channels)
        bias, mean = self.weight((channels,), 0.01), self.weight((channels,), 0.01)
        return self.op("BatchNormalization", [x, scale, bias, mean, var], epsilon=1e-5)

    def bn_relu(self, x, channels):
        return self.op("Relu", [self.bn(x, channels)])

    def block(self, x, cin, width, stride):
        """Pre-activation bottleneck: BN-ReLU, 1x1, BN-ReLU, 3x3 (stride), BN-ReLU, 1x1."""
        cout = width * 4
        pre = self.bn_relu(x, cin)
        shortcut = x if (cin == cout and stride == 1) else self.conv(pre, cin, cout, 1, stride)
        y = self.conv(pre, cin, width, 1)
        y = self.conv(self.bn_relu(y, width), width, width, 3, stride)
        y = self.conv(self.bn_relu(y, width), width, cout, 1, gain=RESIDUAL_GAIN)
        return self.op("Add", [y, shortcut]), cout


def build(seed: int) -> onnx.ModelProto:
    """The checked ResNet50-v2 model for ``seed``."""
    g = Graph(seed)
    x = g.conv(g.bn(INPUT, 3), 3, 64, 7, stride=2)
    x = g.op("MaxPool", [g.bn_relu(x, 64)], kernel_shape=[3, 3], strides=[2, 2],
             pads=[1, 1, 1, 1])
    channels = 64
    for stage, (width, blocks) in enumerate(STAGES):
        for index in range(blocks):
            stride = 2 if stage > 0 and index == 0 else 1
            x, channels = g.block(x, channels, width, stride)
    x = g.op("GlobalAveragePool", [g.bn_relu(x, channels)])
    x = g.op("Flatten", [x], axis=1)
    fc_w = g.weight((1000, channels), np.sqrt(1.0 / channels))
    fc_b = g.weight((1000,), 0.01)
    g.nodes.append(helper.make_node("Gemm", [x, fc_w, fc_b], [OUTPUT], name=OUTPUT, transB=1))
    graph = helper.make_graph(
        g.nodes, "resnet50_v2",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N", 1000])],
        initializer=g.weights)
    model = helper.make_model(graph, producer_name="inferops.triton tools/make_resnet50_onnx.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def write(output: Path, seed: int) -> str:
    """Write the model and its ``.sha256`` sidecar atomically; return the sha256."""
    data = build(seed).SerializeToString()
    digest = hashlib.sha256(data).hexdigest()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(output)
    output.with_name(output.name + ".sha256").write_text(f"{digest}  {output.name}\n")
    return digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, type=Path, help="where to write the .onnx")
    parser.add_argument("--seed", type=int, default=0, help="weights' seed (default 0)")
    args = parser.parse_args()
    digest = write(args.output, args.seed)
    print(f"{args.output} sha256:{digest}")


if __name__ == "__main__":
    main()
