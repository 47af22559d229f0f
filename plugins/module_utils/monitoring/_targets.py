# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus' scrape targets for the fleet, as file-based service discovery groups: every
Triton server's metrics port (one per GPU instance where the host runs one server per GPU)
and every AMD device metrics exporter, with the labels that join them - ``host`` (the
inventory name), ``service`` (the systemd unit), and for GPU servers ``gpu`` (the GPU
indices the server has, comma-separated) and ``pci_address`` (theirs, from ``rocm_facts``).

The exporter labels its own samples per GPU (``gpu_id``, ``serial_number``, ...); ``host``
is what a query joins a Triton server and its GPUs' exporter on.

Pure functions of what the triton_server role computed for each host
(``triton_server_instances``, the placement of ``server/_placement.py``) and the inventory;
no I/O.
"""

from __future__ import annotations

JOBS = {"triton": "triton", "exporter": "amd-gpu-exporter"}


class TargetsError(ValueError):
    """A host whose targets cannot be made; the message names the host and the variable."""


def _address(host: str, address: str | None) -> str:
    address = str(address or host)
    if address.startswith("127.") or address in ("localhost", "::1"):
        raise TargetsError(
            f"host {host}: its scrape address is {address!r}, a loopback address, which "
            "Prometheus on another host cannot reach; set prometheus_scrape_address for the "
            "host (the address the monitoring hosts reach it at)")
    return address


def _join(values) -> str:
    return ",".join(str(value) for value in values)


def triton_groups(host: str, address: str | None, instances: list, gpus: list) -> list:
    """One file_sd group per server of ``host``: its metrics port, and its labels."""
    if not instances:
        raise TargetsError(f"host {host}: no triton_server_instances; run the triton_server "
                           "role's instances.yml on it first (playbooks/monitoring.yml does)")
    address = _address(host, address)
    pci = {gpu.get("index"): gpu.get("pci_address") for gpu in gpus or []}
    groups = []
    for instance in instances:
        labels = {"host": host, "service": instance["unit"]}
        if instance.get("gpus"):
            labels["gpu"] = _join(instance["gpus"])
            addresses = [pci.get(index) for index in instance["gpus"]]
            if all(addresses):
                labels["pci_address"] = _join(addresses)
        groups.append({"targets": [f"{address}:{instance['ports']['metrics']}"],
                       "labels": labels})
    return groups


def exporter_groups(host: str, address: str | None, port: int, service: str) -> list:
    """The file_sd group of ``host``'s AMD device metrics exporter, run by unit ``service``."""
    return [{"targets": [f"{_address(host, address)}:{int(port)}"],
             "labels": {"host": host, "service": service}}]


def scrape_targets(hosts: list) -> dict:
    """File_sd groups per job (``JOBS``' values) for ``hosts``: dicts with ``name``,
    ``address`` (None: the name), ``instances``, ``gpus`` (rocm_facts' GPUs, or []),
    ``exporter_port`` (None: no exporter on the host) and ``exporter_service`` (its unit).
    Sorted by host, so that the same fleet always gives the same files."""
    triton, exporter = [], []
    for host in sorted(hosts, key=lambda h: h["name"]):
        triton += triton_groups(host["name"], host.get("address"), host.get("instances"),
                                host.get("gpus") or [])
        if host.get("exporter_port"):
            exporter += exporter_groups(host["name"], host.get("address"),
                                        host["exporter_port"], host["exporter_service"])
    return {JOBS["triton"]: triton, JOBS["exporter"]: exporter}


def prometheus_config(file_sd_dir: str, rule_files: list, scrape_interval: str,
                      evaluation_interval: str, scrape_timeout: str | None = None) -> dict:
    """Prometheus' configuration: one job per ``JOBS`` value, each reading its targets from
    ``<file_sd_dir>/<job>.json`` (Prometheus re-reads them when they change, without a
    reload), and the rule files."""
    scrape = {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval}
    if scrape_timeout:
        scrape["scrape_timeout"] = scrape_timeout
    return {
        "global": scrape,
        "rule_files": list(rule_files),
        "scrape_configs": [
            {"job_name": job, "metrics_path": "/metrics",
             "file_sd_configs": [{"files": [f"{file_sd_dir}/{job}.json"]}]}
            for job in JOBS.values()],
    }
