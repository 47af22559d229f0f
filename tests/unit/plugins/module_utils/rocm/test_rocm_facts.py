"""rocm_facts' readers on captured real outputs (tests/fixtures/{kfd,rocminfo,dkms}/SOURCE.md
says where each came from).

Expected values are the ones the captures themselves carry and that upstream's own tests
assert (ROCm/k8s-device-plugin), cross-checked with rocminfo where both exist: an MI210
reports 104 compute units in rocminfo and simd_count 416 / simd_per_cu 4 in its KFD node;
an MI300X reports 304 compute units, 8 XCDs of 38, and a CPX partition is one XCD.
"""

from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.rocm._facts import (
    gfx_name,
    parse_dkms_status,
    parse_properties,
    parse_rocminfo,
    read_host,
    secure_boot_state,
)

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures"
KFD = FIXTURES / "kfd"


@pytest.mark.parametrize("version, name", [
    (90402, "gfx942"), (90010, "gfx90a"), (110000, "gfx1100"), (100300, "gfx1030"),
    (90500, "gfx950"), (90008, "gfx908"), (120001, "gfx1201"), (0, None), (None, None),
])
def test_gfx_names_write_minor_and_stepping_in_hex(version, name):
    assert gfx_name(version) == name


def _render(*minors):
    return [f"/dev/dri/renderD{m}" for m in minors]


TREES = {
    "mi210-8gpu-xgmi": {
        "gpu_count": 8, "physical_gpu_count": 8, "gfx_targets": ["gfx90a"],
        "render_nodes": _render(*range(128, 136)), "compute_units": {104},
        "first": {"node_id": 2, "pci_address": "0000:63:00.0", "device_id": 29711,
                  "uuid": "GPU-1901ead3a2ecd4a6", "num_xcc": 1},
    },
    "mi300x-cpx-8gpu": {
        # 8 MI300X in CPX mode: one KFD node per XCD; the capture holds 63 of the 64.
        "gpu_count": 63, "physical_gpu_count": 8, "gfx_targets": ["gfx942"],
        "render_nodes": _render(*range(128, 191)), "compute_units": {38},
        "first": {"node_id": 2, "pci_address": "0000:05:00.0", "device_id": 29857,
                  "uuid": "GPU-e3aa140f9a5f9e31", "num_xcc": 1},
    },
    "mi308x-cpx-8gpu": {
        "gpu_count": 32, "physical_gpu_count": 8, "gfx_targets": ["gfx942"],
        "render_nodes": _render(*[base + i for base in range(128, 192, 8) for i in range(4)]),
        "compute_units": {20},
        "first": {"node_id": 2, "pci_address": "0000:0a:00.0", "device_id": 29858,
                  "uuid": "GPU-084cafeae17e7696", "num_xcc": 1},
    },
    "legacy-vega10-1gpu": {
        # An older kernel: no gfx_target_version line at all; node 2 is upstream's copy of 1.
        "gpu_count": 2, "physical_gpu_count": 2, "gfx_targets": [],
        "render_nodes": _render(128), "compute_units": {64},
        "first": {"node_id": 1, "pci_address": "0000:19:00.0", "device_id": 26720,
                  "memory_bytes": 17163091968, "gfx_target": None},
    },
}


@pytest.mark.parametrize("tree", sorted(TREES))
def test_gpus_gfx_targets_and_render_nodes_of_each_captured_tree(tree):
    expected = TREES[tree]
    facts = read_host(str(KFD / tree))
    for key in ("gpu_count", "physical_gpu_count", "gfx_targets", "render_nodes"):
        assert facts[key] == expected[key], key
    gpus = facts["gpus"]
    assert [gpu["index"] for gpu in gpus] == list(range(expected["gpu_count"]))
    assert {gpu["compute_units"] for gpu in gpus} == expected["compute_units"]
    assert all(gpu["vendor_id"] == 4098 for gpu in gpus)  # 0x1002, AMD
    for key, value in expected["first"].items():
        assert gpus[0][key] == value, key
    # A CPU node never counts as a GPU, however many there are.
    cpu_nodes = [p for p in (KFD / tree).glob("sys/class/kfd/kfd/topology/nodes/*/properties")
                 if parse_properties(p.read_text()).get("simd_count") == 0]
    assert len(cpu_nodes) + expected["gpu_count"] == len(
        list((KFD / tree).glob("sys/class/kfd/kfd/topology/nodes/*/properties")))


def test_second_pci_segment_is_kept_in_the_address():
    gpus = read_host(str(KFD / "mi308x-cpx-8gpu"))["gpus"]
    assert gpus[-1]["pci_address"] == "0001:c9:00.3"
    assert gpus[-1]["render_node"] == "/dev/dri/renderD187"


def test_partitions_of_one_gpu_share_its_uuid():
    gpus = read_host(str(KFD / "mi300x-cpx-8gpu"))["gpus"]
    first = [gpu for gpu in gpus if gpu["uuid"] == gpus[0]["uuid"]]
    assert [gpu["pci_address"] for gpu in first] == [f"0000:05:00.{i}" for i in range(8)]


def test_kfd_compute_units_agree_with_rocminfo_for_the_same_gpu_model():
    kfd = read_host(str(KFD / "mi210-8gpu-xgmi"))["gpus"]
    agents = parse_rocminfo((FIXTURES / "rocminfo" / "mi210-4gpu-rocm624-issue.txt").read_text())
    gpus = [a for a in agents if a["device_type"] == "GPU"]
    assert {g["compute_units"] for g in gpus} == {k["compute_units"] for k in kfd} == {104}
    assert {g["name"] for g in gpus} == set(read_host(str(KFD / "mi210-8gpu-xgmi"))["gfx_targets"])


def test_a_host_with_nothing_amd(tmp_path):
    facts = read_host(str(tmp_path))
    assert facts["gpu_count"] == 0 and facts["gpus"] == [] and facts["render_nodes"] == []
    assert not facts["kfd_present"] and not facts["kfd_device"] and not facts["amdgpu_loaded"]
    assert facts["rocm_version"] is None and facts["secure_boot"] == "unsupported"


def test_host_files_around_the_topology(tmp_path):
    tree = tmp_path / "root"
    (tree / "sys/module/amdgpu").mkdir(parents=True)
    (tree / "sys/module/amdgpu/version").write_text("6.16.6\n")
    (tree / "opt/rocm/.info").mkdir(parents=True)
    (tree / "opt/rocm/.info/version").write_text("7.2.0-43\n")
    (tree / "dev").mkdir()
    (tree / "dev/kfd").write_text("")
    (tree / "etc").mkdir()
    (tree / "etc/group").write_text("root:x:0:\nvideo:x:44:\nrender:x:993:inferops\n")
    facts = read_host(str(tree))
    assert facts["amdgpu_loaded"] and facts["amdgpu_version"] == "6.16.6"
    assert facts["rocm_version"] == "7.2.0-43"
    assert facts["kfd_device"]
    assert (facts["render_gid"], facts["video_gid"]) == (993, 44)


@pytest.mark.parametrize("content, state", [
    # efivarfs: four bytes of attributes (NV|BS|RT = 0x06), then the value.
    (b"\x06\x00\x00\x00\x01", "enabled"),
    (b"\x06\x00\x00\x00\x00", "disabled"),
    (None, "disabled"),  # EFI boot without the variable
])
def test_secure_boot_from_the_efi_variable(tmp_path, content, state):
    efivars = tmp_path / "sys/firmware/efi/efivars"
    efivars.mkdir(parents=True)
    if content is not None:
        (efivars / "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c").write_bytes(content)
    assert secure_boot_state(str(tmp_path)) == state


ROCMINFO = {
    "mi300x-4gpu.txt": (["gfx942"] * 4, "AMD Instinct MI300X", 304),
    "mi210-4gpu-rocm624-issue.txt": (["gfx90a"] * 4, "AMD Instinct MI210", 104),
    "rx7900xtx-gfx1100-issue.txt": (["gfx1100"], "Radeon RX 7900 XTX", 96),
    # The failures a verification must recognise: no GPU agent at all.
    "not-loaded-oneline.txt": ([], None, None),
    "not-loaded-prime-powered-down.txt": ([], None, None),
    "not-loaded-rx570-rocm29.txt": ([], None, None),
    "container-no-dev-kfd.txt": ([], None, None),
    "loaded-but-hsa-failure-rx560.txt": ([], None, None),
    "v620-rhel89-cpu-only-gpu-init-failed.txt": ([], None, None),
}


@pytest.mark.parametrize("fixture", sorted(ROCMINFO))
def test_rocminfo_gpu_agents(fixture):
    names, marketing, cus = ROCMINFO[fixture]
    agents = parse_rocminfo((FIXTURES / "rocminfo" / fixture).read_text())
    gpus = [a for a in agents if a.get("device_type") == "GPU"]
    assert [g["name"] for g in gpus] == names
    for gpu in gpus:
        assert gpu["marketing_name"] == marketing
        assert gpu["compute_units"] == cus
        assert gpu["uuid"].startswith("GPU-")
    assert all(a.get("device_type") in ("CPU", "GPU") for a in agents)


def test_rocminfo_agents_keep_their_numbers_and_nodes():
    agents = parse_rocminfo((FIXTURES / "rocminfo" / "mi300x-4gpu.txt").read_text())
    assert [a["agent"] for a in agents] == [1, 2, 3, 4, 5, 6]
    assert [a["node"] for a in agents] == [0, 1, 2, 3, 4, 5]
    assert [a["device_type"] for a in agents] == ["CPU", "CPU", "GPU", "GPU", "GPU", "GPU"]


DKMS = {
    "slash-6.8.5-noble-6.8.0-44.txt": [("amdgpu", "6.8.5-2009582.24.04", "6.8.0-44-generic",
                                        "x86_64", "installed")],
    "slash-6.10.5-azure-v620.txt": [("amdgpu", "6.10.5-2095006.24.04", "6.8.0-1017-azure",
                                     "x86_64", "installed")],
    "slash-installed-plus-added-amd64.txt": [
        ("amdgpu", "6.10.5-2109964.24.04", "6.8.0-52-generic", "amd64", "installed"),
        ("amdgpu", "6.2.4-1664922.22.04", None, None, "added")],
    "comma-5.16.9-azure-5.15.0.txt": [("amdgpu", "5.16.9.22.20-1438746~20.04",
                                       "5.15.0-1017-azure", "x86_64", "installed")],
    "comma-6.8.5-azure-mi300x-vf.txt": [("amdgpu", "6.8.5-2038383.20.04", "5.15.0-1078-azure",
                                         "x86_64", "installed")],
    "comma-1.9-el7-original-module-exists.txt": [
        ("amdgpu", "1.9-211.el7", "3.10.0-862.11.6.el7.x86_64", "x86_64", "installed")],
    "error-missing-dkms-conf.txt": [],
    "empty.txt": [],
}


@pytest.mark.parametrize("fixture", sorted(DKMS))
def test_dkms_status_old_and_new_forms(fixture):
    entries = parse_dkms_status((FIXTURES / "dkms" / fixture).read_text())
    assert [(e["module"], e["version"], e["kernel"], e["arch"], e["status"])
            for e in entries] == DKMS[fixture]


def test_dkms_detail_after_the_status_is_kept():
    text = (FIXTURES / "dkms" / "comma-1.9-el7-original-module-exists.txt").read_text()
    assert parse_dkms_status(text)[0]["detail"] == "(original_module exists)"
