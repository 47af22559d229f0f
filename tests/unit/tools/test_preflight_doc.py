"""docs/preflight.md lists every case of the bad-input suite (tests/integration/
test_bad_input.py), so users see what is checked; read from the suite's table."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def case_ids():
    tree = ast.parse((ROOT / "tests" / "integration" / "test_bad_input.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CASES":
            return [ast.literal_eval(case.elts[0]) for case in node.value.elts]
    raise AssertionError("no CASES table")


def test_the_doc_lists_every_case_of_the_suite():
    doc = (ROOT / "docs" / "preflight.md").read_text()
    listed = [line.split("|")[1].strip() for line in doc.splitlines()
              if line.startswith("| ") and not line.startswith("| Case")]
    assert listed == case_ids()
    assert len(listed) >= 40
