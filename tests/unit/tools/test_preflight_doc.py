"""docs/preflight.md lists every case of the bad-input suite (tests/integration/
test_bad_input.py) with the words its failure must carry, so users see what is checked."""

import importlib
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def cases(monkeypatch):
    """The suite's table (its node helpers stubbed: the table needs none of them)."""
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "integration"))
    stub = types.ModuleType("demonode")
    stub.NODE, stub.recap = "node", None
    monkeypatch.setitem(sys.modules, "demonode", stub)
    monkeypatch.delitem(sys.modules, "test_bad_input", raising=False)
    return importlib.import_module("test_bad_input").CASES


def test_the_doc_lists_every_case_of_the_suite_with_its_words(monkeypatch):
    table = cases(monkeypatch)
    doc = (ROOT / "docs" / "preflight.md").read_text()
    rows = [[cell.strip() for cell in line.split(" | ")]
            for line in doc.splitlines()
            if line.startswith("| ") and not line.startswith("| Case")]
    assert [row[0].lstrip("| ") for row in rows] == [case[0] for case in table]
    for row, (_id, playbook, _variables, words) in zip(rows, table, strict=True):
        assert row[1] == f"`{playbook}`"
        assert row[3].rstrip(" |") == " … ".join(w.replace("|", "&#124;") for w in words)
    assert len(rows) >= 40
