"""Role READMEs are generated from meta/argument_specs.yml and must be current."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_role_readmes_match_their_argument_specs():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "render_role_docs.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
