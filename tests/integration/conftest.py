"""Fixtures shared by the integration tests, and the machine lock (tests/machine.py): each
test holds it shared, and work that measures holds it alone (the ``alone`` fixture, and the
demo node's first converge, which benchmarks)."""

import pytest
from demonode import DemoNode, remove_node
from machine import machine


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    with machine().hold("shared"):
        return (yield)


def pytest_terminal_summary(terminalreporter):
    waited = machine().waited
    terminalreporter.write_line(
        f"machine lock: waited {waited['shared']:.0f} s to share the machine, "
        f"{waited['alone']:.0f} s to have it alone")


@pytest.fixture
def alone():
    """The test measures: nothing else of `make test` runs beside it."""
    with machine().hold("alone"):
        yield


@pytest.fixture(scope="session")
def demo_node(tmp_path_factory):
    remove_node()
    node = DemoNode(tmp_path_factory.mktemp("demo"))
    yield node
    node.close()
    remove_node()
