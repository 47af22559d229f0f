"""Write the captured series into the promtool test files (``--check``: only compare).

Each Triton test file has a region between ``# BEGIN captured series`` and ``# END captured
series``: its ``input_series``, made by tests/fixtures/prometheus/series.py from the raw
capture, by the rule that file states, for the targets below (the labels roles/prometheus's
file_sd gives them). The alert expectations around the region are written by hand.

    .venv/bin/python tests/prometheus/make_tests.py          # rewrite the regions
    .venv/bin/python tests/prometheus/make_tests.py --check  # exit 1 if one differs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "prometheus"
sys.path.insert(0, str(FIXTURES))
import series  # noqa: E402

CAPTURE = FIXTURES / "capture-20261207.jsonl.gz"
NODE = "inferops-helper-rules"
MAIN = {  # the node's triton-server.service, the CPU flavour (no gpu label)
    "url": "http://127.0.0.1:8002/metrics",
    "labels": {"job": "triton", "instance": f"{NODE}:8002", "host": NODE,
               "service": "triton-server.service"},
}
SECOND = {  # the second server of the capture, given the labels of a per-GPU instance
    "url": "http://127.0.0.1:18002/metrics",
    "labels": {"job": "triton", "instance": f"{NODE}:18002", "host": NODE,
               "service": "triton-server@0.service", "gpu": "0",
               "pci_address": "0000:c1:00.0"},
}
REQUESTS = ["nv_inference_request_success", "nv_inference_request_failure",
            "nv_inference_count", "nv_inference_queue_duration_us"]
TESTS = {
    "triton-main.test.yml": [(MAIN, REQUESTS)],
    "triton-models.test.yml": [(SECOND, REQUESTS)],
}
BEGIN = "# BEGIN captured series"
END = "# END captured series"


def region(targets) -> str:
    text = ""
    for target, metrics in targets:
        scrapes = series.read_capture(CAPTURE, target["url"])[0]
        text += series.to_yaml(series.input_series(scrapes, target["labels"], set(metrics)))
    return text


def rewrite(path: Path, targets) -> str:
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition(BEGIN)
    if not sep or END not in rest:
        raise SystemExit(f"{path}: no '{BEGIN}' ... '{END}' region")
    first_line, rest = rest.split("\n", 1)
    tail = rest.partition(END)[2]
    indent = " " * (len(head) - len(head.rstrip(" ")))
    return f"{head}{BEGIN}{first_line}\n{region(targets)}{indent}{END}{tail}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for name, targets in TESTS.items():
        path = HERE / name
        new = rewrite(path, targets)
        if new != path.read_text(encoding="utf-8"):
            if args.check:
                stale.append(name)
            else:
                path.write_text(new, encoding="utf-8")
    if stale:
        print(f"not the capture's series: {', '.join(stale)} (run make_tests.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
