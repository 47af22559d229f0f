"""Where the upstream snapshots are: ../shared/upstream beside the checkout (see its
SOURCE.md), or INFEROPS_UPSTREAM."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = Path(os.environ.get("INFEROPS_UPSTREAM", ROOT.parent / "shared" / "upstream"))
