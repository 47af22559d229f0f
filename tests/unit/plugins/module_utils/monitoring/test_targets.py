"""Prometheus' scrape targets and configuration (module_utils/monitoring/_targets.py): every
Triton server of every host, one target per GPU instance, with the labels that join a server
to its host and GPUs; the exporters; addresses Prometheus cannot reach refused by name."""

from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.monitoring._targets import (
    TargetsError,
    prometheus_config,
    scrape_targets,
)
from ansible_collections.inferops.triton.plugins.module_utils.rocm._facts import read_host
from ansible_collections.inferops.triton.plugins.module_utils.server._placement import instances

KFD = Path(__file__).parents[4] / "fixtures" / "kfd"
SETTINGS = {"name": "triton-server", "http_port": 8000, "grpc_port": 8001, "metrics_port": 8002,
            "port_step": 10, "gpu_indices": []}


def rocm(tree):
    """rocm_facts of a captured machine, with the device nodes and groups a host has."""
    return dict(read_host(str(KFD / tree)), kfd_device=True, render_gid=992, video_gid=44)


def host(name, mode, facts=None, **extra):
    placed = instances(dict(SETTINGS, gpu_mode=mode, **extra.pop("settings", {})), facts)
    return dict({"name": name, "address": None, "instances": placed,
                 "gpus": (facts or {}).get("gpus", [])}, **extra)


def test_one_target_per_gpu_server_labelled_with_its_gpu_and_pci_address():
    facts = rocm("mi210-8gpu-xgmi")
    targets = scrape_targets([host("gpu-01", "per_gpu", facts,
                                   settings={"gpu_indices": [0, 1]})])
    pci = {gpu["index"]: gpu["pci_address"] for gpu in facts["gpus"]}
    assert targets["triton"] == [
        {"targets": ["gpu-01:8002"],
         "labels": {"host": "gpu-01", "service": "triton-server@0.service", "gpu": "0",
                    "pci_address": pci[0]}},
        {"targets": ["gpu-01:8012"],
         "labels": {"host": "gpu-01", "service": "triton-server@1.service", "gpu": "1",
                    "pci_address": pci[1]}}]
    assert pci[0] and pci[0] != pci[1]
    assert targets["amd-gpu-exporter"] == []


def test_a_server_with_all_gpus_lists_them_and_a_cpu_server_has_no_gpu_label():
    facts = rocm("mi300x-cpx-8gpu")
    targets = scrape_targets([host("cpu-01", "none"), host("gpu-02", "all", facts)])
    cpu, gpu = targets["triton"]
    assert cpu == {"targets": ["cpu-01:8002"],
                   "labels": {"host": "cpu-01", "service": "triton-server.service"}}
    assert gpu["labels"]["gpu"] == ",".join(str(g["index"]) for g in facts["gpus"])
    assert gpu["labels"]["pci_address"].count(",") == len(facts["gpus"]) - 1


def test_hosts_come_sorted_and_exporters_where_enabled():
    hosts = [host("b", "none", address="10.0.0.2", exporter_port=5000,
                  exporter_service="amd-metrics-exporter.service"),
             host("a", "none", address="10.0.0.1")]
    targets = scrape_targets(hosts)
    assert [g["targets"] for g in targets["triton"]] == [["10.0.0.1:8002"], ["10.0.0.2:8002"]]
    assert targets["amd-gpu-exporter"] == [
        {"targets": ["10.0.0.2:5000"],
         "labels": {"host": "b", "service": "amd-metrics-exporter.service"}}]


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1"])
def test_a_loopback_address_is_refused_naming_the_host_and_the_variable(address):
    with pytest.raises(TargetsError, match=r"host gpu-01: .*loopback.*prometheus_scrape_address"):
        scrape_targets([host("gpu-01", "none", address=address)])


def test_a_host_without_its_servers_is_refused_naming_what_sets_them():
    with pytest.raises(TargetsError, match="host gpu-01: no triton_server_instances"):
        scrape_targets([{"name": "gpu-01", "address": "gpu-01", "instances": None}])


def test_the_configuration_reads_one_target_file_per_job():
    config = prometheus_config("/etc/prometheus/file_sd", ["/etc/prometheus/rules/a.yml"],
                               "15s", "30s")
    assert config["global"] == {"scrape_interval": "15s", "evaluation_interval": "30s"}
    assert config["rule_files"] == ["/etc/prometheus/rules/a.yml"]
    assert [(job["job_name"], job["file_sd_configs"]) for job in config["scrape_configs"]] == [
        ("triton", [{"files": ["/etc/prometheus/file_sd/triton.json"]}]),
        ("amd-gpu-exporter", [{"files": ["/etc/prometheus/file_sd/amd-gpu-exporter.json"]}])]
