"""Make the checkout importable as ansible_collections.inferops.triton (make venv links it)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = ROOT / "build" / "collections"
if not (COLLECTIONS / "ansible_collections" / "inferops" / "triton").exists():
    raise RuntimeError("run `make venv` first: it links build/collections/.../inferops/triton")
sys.path.insert(0, str(COLLECTIONS))
