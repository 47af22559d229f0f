"""The prometheus role's filters read each host's variables as the role leaves them and wrap
module_utils/monitoring/_targets.py; each is documented beside the plugin."""

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter import prometheus as plugin

FILTERS = plugin.FilterModule().filters()
SERVER = [{"unit": "triton-server.service", "index": None, "gpus": [],
           "ports": {"http": 8000, "grpc": 8001, "metrics": 8002}}]


def test_the_address_is_the_scrape_address_then_ansible_host_then_the_name():
    hostvars = {
        "a": {"triton_server_instances": SERVER, "prometheus_scrape_address": "10.0.0.1",
              "ansible_host": "192.0.2.1"},
        "b": {"triton_server_instances": SERVER, "ansible_host": "192.0.2.2",
              "gpu_exporter_enabled": True},
        "c": {"triton_server_instances": SERVER, "gpu_exporter_enabled": "yes",
              "gpu_exporter_port": 5100, "gpu_exporter_method": "container"}}
    targets = FILTERS["prometheus_targets"](["c", "b", "a"], hostvars)
    assert [g["targets"][0] for g in targets["triton"]] == [
        "10.0.0.1:8002", "192.0.2.2:8002", "c:8002"]
    assert [(g["targets"][0], g["labels"]["service"]) for g in targets["amd-gpu-exporter"]] \
        == [("192.0.2.2:5000", "amd-metrics-exporter.service"),
            ("c:5100", "device-metrics-exporter.service")]


def test_a_problem_is_a_filter_error_naming_the_host():
    with pytest.raises(AnsibleFilterError, match="prometheus_targets: host a: .*loopback"):
        FILTERS["prometheus_targets"](["a"], {"a": {"triton_server_instances": SERVER,
                                                    "ansible_host": "127.0.0.1"}})


@pytest.mark.parametrize("name", ["prometheus_targets", "prometheus_config"])
def test_each_filter_is_documented(name):
    doc = yaml.safe_load((Path(plugin.__file__).parent / f"{name}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == name
