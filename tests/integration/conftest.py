"""Fixtures shared by the integration tests."""

import pytest
from demonode import DemoNode, remove_node


@pytest.fixture(scope="session")
def demo_node(tmp_path_factory):
    remove_node()
    node = DemoNode(tmp_path_factory.mktemp("demo"))
    yield node
    node.close()
    remove_node()
