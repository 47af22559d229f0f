"""Fixtures shared by the integration tests."""

import pytest
from demonode import DemoNode, remove_node


@pytest.fixture(scope="session")
def demo_node(tmp_path_factory):
    remove_node()
    yield DemoNode(tmp_path_factory.mktemp("demo"))
    remove_node()
