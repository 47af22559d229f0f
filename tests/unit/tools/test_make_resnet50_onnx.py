"""The demo model generator: AMD guide's tensor names and shapes, deterministic bytes."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / "tools" / "make_resnet50_onnx.py"


def generate(path, seed=0):
    done = subprocess.run(
        [sys.executable, str(TOOL), "--output", str(path), "--seed", str(seed)],
        check=True, capture_output=True, text=True)
    return path.read_bytes(), done.stdout


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "resnet50-v2.onnx"
    generate(path)
    return path


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_guide_tensor_names_and_shapes(model_path):
    model = onnx.load(str(model_path))
    (inp,), (out,) = model.graph.input, model.graph.output
    assert inp.name == "data" and dims(inp) == ["N", 3, 224, 224]
    assert out.name == "resnetv24_dense0_fwd" and dims(out) == ["N", 1000]
    assert inp.type.tensor_type.elem_type == out.type.tensor_type.elem_type == \
        onnx.TensorProto.FLOAT
    assert model.ir_version == 8
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    onnx.checker.check_model(model)


def test_resnet50_v2_structure(model_path):
    nodes = onnx.load(str(model_path)).graph.node
    convs = [n for n in nodes if n.op_type == "Conv"]
    assert len(convs) == 53  # ResNet50: stem + 16 blocks x 3 + 4 projection shortcuts
    assert sum(n.op_type == "Add" for n in nodes) == 16  # one residual add per block
    # pre-activation (v2): the graph starts with the input BatchNorm, ends BN-ReLU-pool-dense
    assert nodes[0].op_type == "BatchNormalization" and nodes[0].input[0] == "data"
    tail = [n.op_type for n in nodes[-5:]]
    assert tail == ["BatchNormalization", "Relu", "GlobalAveragePool", "Flatten", "Gemm"]


def test_same_seed_same_bytes_and_sidecar(model_path, tmp_path):
    again, stdout = generate(tmp_path / "again.onnx")
    assert again == model_path.read_bytes()
    digest = hashlib.sha256(again).hexdigest()
    assert (tmp_path / "again.onnx.sha256").read_text() == f"{digest}  again.onnx\n"
    assert stdout.strip() == f"{tmp_path / 'again.onnx'} sha256:{digest}"
    other, _stdout = generate(tmp_path / "other.onnx", seed=1)
    assert hashlib.sha256(other).hexdigest() != digest


def test_runs_with_onnxruntime_at_batch_two(model_path):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    data = np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32)
    (out,) = session.run(["resnetv24_dense0_fwd"], {"data": data})
    assert out.shape == (2, 1000) and out.dtype == np.float32 and np.isfinite(out).all()
