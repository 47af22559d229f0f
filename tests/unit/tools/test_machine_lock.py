"""tests/machine.py: the lock `make test`'s tracks share, with real flock(2) on files in a
temporary directory, one MachineLock per holder as each process (or stages.py's thread)
has its own."""

import threading

import pytest
from machine import MachineLock

WAIT = 0.3  # long enough for a holder that could take the lock to have taken it


def start(lock, mode, taken, release):
    """Hold ``lock`` in ``mode`` in a thread until ``release`` is set; ``taken`` is set
    once it holds it."""
    def run():
        with lock.hold(mode):
            taken.set()
            release.wait(10)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def events(count):
    return [threading.Event() for index in range(count)]


@pytest.fixture
def locks(tmp_path):
    made = [MachineLock(tmp_path), MachineLock(tmp_path), MachineLock(tmp_path)]
    yield made
    for lock in made:
        lock.close()


def test_shared_holders_run_side_by_side(locks):
    release = threading.Event()
    first, second = threading.Event(), threading.Event()
    threads = [start(locks[0], "shared", first, release),
               start(locks[1], "shared", second, release)]
    assert first.wait(2) and second.wait(2)
    release.set()
    for thread in threads:
        thread.join(2)


def test_alone_waits_for_the_shared_holder_and_keeps_new_ones_out(locks):
    shared_release, alone_release, late_release = events(3)
    shared, alone, late = events(3)
    start(locks[0], "shared", shared, shared_release)
    assert shared.wait(2)
    start(locks[1], "alone", alone, alone_release)
    assert not alone.wait(WAIT), "alone ran beside a shared holder"
    # a shared holder that comes while alone waits does not overtake it (the gate)
    start(locks[2], "shared", late, late_release)
    assert not late.wait(WAIT)
    shared_release.set()
    assert alone.wait(2)
    assert not late.wait(WAIT), "shared ran beside alone"
    alone_release.set()
    assert late.wait(2)
    late_release.set()


def test_alone_inside_shared_goes_back_to_shared(locks):
    ours, other = locks[0], locks[1]
    with ours.hold("shared"):
        with ours.hold("alone"):
            assert ours.mode == "alone"
            release, taken = threading.Event(), threading.Event()
            thread = start(other, "shared", taken, release)
            assert not taken.wait(WAIT)
            with ours.hold("shared"):  # inside alone stays alone
                assert ours.mode == "alone"
        assert ours.mode == "shared"
        assert taken.wait(2)  # shared again: the other holder runs beside us
        release.set()
        thread.join(2)
    assert ours.mode is None


def test_an_unknown_mode_is_refused(locks):
    with pytest.raises(ValueError, match="'exclusive': expected one of"), \
            locks[0].hold("exclusive"):
        pass
