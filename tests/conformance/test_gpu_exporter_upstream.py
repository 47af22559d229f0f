"""What the gpu_exporter role takes from AMD's device metrics exporter, against AMD's own files
in ../shared/upstream (rocm-device-metrics-exporter-docs.tar.gz; skipped, saying so, where it
is absent): the config.json schema (the field names of metricslist.md, the example's labels,
the rendered file for the example's inputs), the package's repository, units and config path,
the unit names and order the rocm role stops, and that the lab's stand-in package carries
AMD's control file and units unchanged."""

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from upstream import ROOT, UPSTREAM

from ansible_collections.inferops.triton.plugins.module_utils.monitoring import (
    _exporter_controller as exporter,
)

TARBALL = UPSTREAM / "rocm-device-metrics-exporter-docs.tar.gz"
TOP = "device-metrics-exporter"


@pytest.fixture(scope="module")
def amd(tmp_path_factory) -> Path:
    if not TARBALL.is_file():
        pytest.skip(f"{TARBALL} is not here (shared/upstream sits beside the project's "
                    "checkouts only); nothing to check against")
    out = tmp_path_factory.mktemp("exporter")
    with tarfile.open(TARBALL) as tar:
        tar.extractall(out, filter="data")
    return out / TOP


def _unit(amd, name):
    """A systemd unit as {key: [values]} (comments and sections dropped)."""
    keys = {}
    for line in (amd / "debian/usr/lib/systemd/system" / name).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def test_the_field_names_are_amd_s_metrics_list(amd):
    doc = (amd / "docs/configuration/metricslist.md").read_text()
    listed = set()
    for line in doc.splitlines():
        if line.startswith("|"):
            for cell in line.strip("|").split("|"):
                match = re.match(r"^`?([A-Z][A-Z0-9_]{3,})`?(\s|$)", cell.strip())
                if match and "_" in match.group(1):
                    listed.add(match.group(1))
    assert set(exporter.FIELDS) == listed
    assert len(exporter.FIELDS) == len(set(exporter.FIELDS))


@pytest.mark.parametrize("example", ["config.json", "config-gpu.json"])
def test_the_examples_fields_and_labels_are_what_the_role_accepts(amd, example):
    gpu = json.loads((amd / "example" / example).read_text())["GPUConfig"]
    assert list(exporter.FIELDS) == gpu["Fields"]
    assert list(exporter.LABELS) == gpu["Labels"]


def test_the_mandatory_labels_are_the_ones_configmap_md_names(amd):
    doc = (amd / "docs/configuration/configmap.md").read_text()
    sentence = doc[doc.index("Labels: `SERIAL_NUMBER`"):doc.index("are always set")]
    assert set(re.findall(r"`([A-Z_]+)`", sentence)) == set(exporter.MANDATORY_LABELS)
    assert set(exporter.MANDATORY_LABELS) <= set(exporter.LABELS)
    assert "up to 10 custom labels" in doc and exporter.CUSTOM_LABELS_MAX == 10
    assert "only `CLUSTER_NAME` is allowed to be set in `CustomLabels`" in doc


def test_amd_s_example_inputs_render_amd_s_example_config(amd):
    """example/config-gpu.json (and config.json's GPU part) from the role's variables."""
    example = json.loads((amd / "example/config-gpu.json").read_text())
    gpu = example["GPUConfig"]
    rest = {k: v for k, v in gpu.items() if k not in ("Fields", "Labels", "CustomLabels")}
    cfg = exporter.config(example["ServerPort"], gpu["Fields"], gpu["Labels"],
                          gpu["CustomLabels"], example["CommonConfig"], rest)
    assert cfg == example
    assert json.loads(exporter.config_text(cfg)) == example
    full = json.loads((amd / "example/config.json").read_text())
    assert {k: full[k] for k in ("ServerPort", "CommonConfig", "GPUConfig")} == cfg


def test_the_package_s_repository_is_the_one_the_install_guide_names(amd):
    """Ubuntu 24.04 gets the guide's noble line; Debian 12 the jammy one (AMD's 22.04 build,
    as the rocm role takes it)."""
    doc = (amd / "docs/installation/deb-package.rst").read_text()
    lines = {suite: (keyring, uri) for keyring, uri, suite in re.findall(
        r"deb \[arch=amd64 signed-by=(\S+)\] (\S+) (\w+) main", doc)}
    assert set(lines) == {"jammy", "noble"}
    for suite, (distribution, version) in {"noble": ("Ubuntu", "24.04"),
                                           "jammy": ("Debian", "12")}.items():
        keyring, uri = lines[suite]
        plan = exporter.repository(exporter.DEFAULT_VERSION, distribution, version,
                                   "https://repo.radeon.com", keyring)
        text = plan["files"][exporter.SOURCES_PATH]
        assert f"URIs: {uri}\n" in text and f"Signed-By: {keyring}\n" in text
        assert f"Suites: {suite}\n" in text
    assert "sudo apt install amdgpu-exporter" in doc and exporter.PACKAGE == "amdgpu-exporter"


def test_the_config_path_and_drop_in_are_the_guide_s(amd):
    doc = (amd / "docs/installation/deb-package.rst").read_text()
    assert f"**Configuration file:** ``{exporter.CONFIG_PATH}``" in doc
    documented = re.search(r"ExecStart=/usr/local/bin/amd-metrics-exporter -amd-metrics-config "
                           r"\S+", doc).group(0)
    assert documented in exporter.dropin().splitlines()


def test_the_package_s_units_are_the_ones_the_role_runs_and_the_rocm_role_stops(amd):
    agent, metrics = _unit(amd, "gpuagent.service"), _unit(amd, "amd-metrics-exporter.service")
    assert metrics["ExecStart"] == [exporter.EXPORTER_BIN]
    assert metrics["Wants"] == ["gpuagent.service"] and metrics["After"] == ["gpuagent.service"]
    assert agent["Before"] == ["amd-metrics-exporter.service"]
    assert sorted(exporter.UNITS["package"]) == sorted(
        p.name for p in (amd / "debian/usr/lib/systemd/system").iterdir())
    # deb-package.rst's "Stop Metrics Exporter": the exporter, then gpuagent
    doc = (amd / "docs/installation/deb-package.rst").read_text()
    stop = doc[doc.index("Stop Metrics Exporter"):doc.index("Confirm Metrics Exporter")]
    assert re.findall(r"systemctl stop (\S+)", stop) == list(exporter.UNITS["package"])


def test_the_container_gets_what_docker_md_mounts_but_no_privileges(amd):
    doc = (amd / "docs/configuration/docker.md").read_text()
    args = exporter.docker_args({}, {"gpus": [{"index": 0, "render_node": "/dev/dri/renderD128"}],
                                     "kfd_device": "/dev/kfd", "render_gid": 1, "video_gid": 2},
                                exporter.config())
    assert "--device=/dev/kfd" in doc and "/dev/kfd" in args
    assert "-v /sys:/sys:ro" in doc and "/sys:/sys:ro" in args
    assert "-v ./config:/etc/metrics" in doc and \
        f"{exporter.CONTAINER_CONFIG_DIR}:/etc/metrics:ro" in args
    assert "-p 5000:5000" in doc and "0.0.0.0:5000:5000" in args
    assert "--privileged" in doc and "--privileged" not in args
    assert "CAP_PERFMON" in doc


def test_the_lab_s_stand_in_package_carries_amd_s_control_file_and_units(amd, tmp_path):
    sys.path.insert(0, str(ROOT / "lab"))
    import aptrepo

    spec = aptrepo.exporter_package(TARBALL)
    control = (amd / "debian/DEBIAN/control").read_text()
    assert spec["control"] == control.replace("BUILD_VER_ENV", aptrepo.EXPORTER["version"])
    for unit in exporter.UNITS["package"]:
        assert spec["files"][f"usr/lib/systemd/system/{unit}"] == \
            (amd / "debian/usr/lib/systemd/system" / unit).read_text()
    # the binaries the units run are where the units run them (stand-ins)
    for name in ("gpuagent", "amd-metrics-exporter"):
        assert spec["modes"][f"usr/local/bin/{name}"] == 0o755
    assert f"apt/{exporter.DEFAULT_VERSION}" in aptrepo.EXPORTER["repo"]
    deb = aptrepo.build_deb(spec, tmp_path)
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True,
                            check=True).stdout
    assert fields.replace("\n ", " ") == spec["control"]
