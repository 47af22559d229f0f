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
    subprocess.run([sys.executable, str(TOOL), "--output", str(path), "--seed", str(seed)],
                   check=True, capture_output=True)
    return path.read_bytes()


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "resnet50-v2.onnx"
    generate(path)
    return path


def test_guide_tensor_names_and_shapes(model_path):
    model = onnx.load(str(model_path))
    (inp,), (out,) = model.graph.input, model.graph.output
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert inp.name == "data" and dims == ["N", 3, 224, 224]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim]
    assert out.name == "resnetv24_dense0_fwd" and dims == ["N", 1000]
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert len(convs) == 53  # ResNet50: stem + 16 blocks x 3 + 4 projection shortcuts


def test_same_seed_same_bytes_and_sidecar(model_path, tmp_path):
    again = generate(tmp_path / "again.onnx")
    assert again == model_path.read_bytes()
    digest = hashlib.sha256(again).hexdigest()
    assert (tmp_path / "again.onnx.sha256").read_text() == f"{digest}  again.onnx\n"
    assert generate(tmp_path / "other.onnx", seed=1) != again


def test_runs_with_onnxruntime_at_batch_two(model_path):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"data": np.full((2, 3, 224, 224), 0.5, np.float32)})
    assert out.shape == (2, 1000) and np.isfinite(out).all()
