"""One machine for every test track of `make test`: work that measures runs alone.

The benchmarks' tests measure real throughput and latency with perf_analyzer; beside an
image build or another playbook they measure the other work too (on two cores, their
windows recorded no request). Everything else may share the machine. So each piece of
work holds this lock, shared or alone, for as long as it runs:

- tests/stages.py holds it shared for each stage it runs, but for the integration stages,
  whose tests hold it themselves (tests/integration/conftest.py): shared for each test, and
  alone where a test or the demo node's first converge benchmarks.

Two flock(2) locks on files in build/: ``machine.lock`` itself, and a gate that a process
passes through to take it, so that work waiting to run alone keeps new shared holders out
and is not starved by them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_DIR = Path(__file__).resolve().parents[1] / "build"
MODES = {"shared": fcntl.LOCK_SH, "alone": fcntl.LOCK_EX}


class MachineLock:
    """The lock as one process holds it; ``hold`` nests (alone inside shared, not the other
    way round: work that runs alone stays alone until it ends)."""

    def __init__(self, directory: Path = LOCK_DIR):
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = os.open(directory / "machine.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._gate = os.open(directory / "machine.gate", os.O_RDWR | os.O_CREAT, 0o644)
        self.mode: str | None = None
        self.waited = dict.fromkeys(MODES, 0.0)  # seconds spent waiting for each mode

    def close(self) -> None:
        os.close(self._lock)
        os.close(self._gate)
        self.mode = None

    def _take(self, mode: str) -> None:
        start = time.monotonic()
        fcntl.flock(self._gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(self._lock, MODES[mode])
        finally:
            fcntl.flock(self._gate, fcntl.LOCK_UN)
        self.mode = mode
        self.waited[mode] += time.monotonic() - start

    def _drop(self) -> None:
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self.mode = None

    @contextlib.contextmanager
    def hold(self, mode: str) -> Iterator[None]:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: expected one of {sorted(MODES)}")
        before = self.mode
        if before == mode or before == "alone":
            yield
            return
        if before is not None:
            self._drop()  # never wait for the gate while holding the lock
        self._take(mode)
        try:
            yield
        finally:
            self._drop()
            if before is not None:
                self._take(before)


_LOCK: MachineLock | None = None


def machine() -> MachineLock:
    """This process's one MachineLock."""
    global _LOCK
    if _LOCK is None:
        _LOCK = MachineLock()
    return _LOCK
