# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a host's AMD GPUs, driver and ROCm install look like, read from files only.

Everything is read under a ``root`` (``/`` on a host, a captured tree in tests), so the
parsers run on real outputs without a GPU. Facts, with where they come from:

- KFD topology: ``/sys/class/kfd/kfd/topology/nodes/<n>/properties`` holds ``key value``
  lines; a GPU node has ``simd_count > 0`` (CPU nodes have 0) and a non-zero ``gpu_id``
  where that file is there (captured trees often leave it out). A partitioned GPU (MI300X
  in CPX mode) is one node per partition, all with the GPU's ``unique_id``; rocminfo prints
  that id as the agent's ``Uuid`` (``GPU-<hex>``), which ``ROCR_VISIBLE_DEVICES`` accepts.
  ``gfx_target_version`` is decimal major*10000 + minor*100 + stepping; the gfx name writes
  minor and stepping in hex (90402 -> gfx942, 90010 -> gfx90a, 110000 -> gfx1100).
  ``drm_render_minor`` is the render node's minor (``/dev/dri/renderD<minor>``, from 128).
  ``location_id`` and ``domain`` give the PCI address (bus << 8 | device << 3 | function).
- ``mem_banks/<m>/properties``: ``heap_type`` 1 or 2 is the GPU's frame buffer (public or
  private), ``size_in_bytes`` its size (HSA's HSA_HEAPTYPE_FRAME_BUFFER_*).
- ``/sys/module/amdgpu/version``: the DKMS driver's version (the in-kernel driver has none).
- ``/opt/rocm/.info/version``: the installed ROCm release, e.g. ``7.2.0-43``.
- Secure Boot: the EFI variable ``SecureBoot-8be4df61-...``; its fifth byte is the state
  (the first four are the variable's attributes), as ``mokutil --sb-state`` reads it.
"""

from __future__ import annotations

import os
import re

from ansible_collections.inferops.triton.plugins.module_utils.common._files import read_text

KFD_NODES = "sys/class/kfd/kfd/topology/nodes"
SECURE_BOOT_VAR = ("sys/firmware/efi/efivars/"
                   "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")
FRAME_BUFFER_HEAPS = (1, 2)
RENDER_MINOR_BASE = 128


def _read(root, *parts):
    """The text of a sysfs or /etc file, None when it cannot be read (sysfs answers some
    reads with EIO or ENODEV, not only ENOENT)."""
    try:
        return read_text(os.path.join(root, *parts), errors="replace")
    except OSError:
        return None


def _first_line(root, *parts):
    text = _read(root, *parts)
    return text.strip().splitlines()[0].strip() if text and text.strip() else None


def parse_properties(text):
    """``key value`` lines as {key: int} (values that are not integers stay strings)."""
    props = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        key, value = parts
        try:
            props[key] = int(value)
        except ValueError:
            props[key] = value
    return props


def gfx_name(target_version):
    """90402 -> 'gfx942'; None when the version is missing or zero (CPU nodes)."""
    if not target_version:
        return None
    major, rest = divmod(int(target_version), 10000)
    minor, stepping = divmod(rest, 100)
    return f"gfx{major}{minor:x}{stepping:x}"


def pci_address(props):
    location = props.get("location_id")
    if not isinstance(location, int) or not location:
        return None
    domain = props.get("domain", 0) if isinstance(props.get("domain"), int) else 0
    bus, devfn = divmod(location, 256)
    return f"{domain:04x}:{bus:02x}:{devfn >> 3:02x}.{devfn & 7:x}"


def _node_ids(root):
    try:
        names = os.listdir(os.path.join(root, KFD_NODES))
    except OSError:
        return []
    return sorted(int(name) for name in names if name.isdigit())


def _memory_bytes(root, node):
    banks = os.path.join(root, KFD_NODES, str(node), "mem_banks")
    try:
        names = sorted(os.listdir(banks))
    except OSError:
        return None
    total = 0
    for name in names:
        bank = parse_properties(_read(banks, name, "properties"))
        size = bank.get("size_in_bytes")
        if bank.get("heap_type") in FRAME_BUFFER_HEAPS and isinstance(size, int):
            total += size
    return total or None


def _card_for(root, render_minor):
    """``/dev/dri/cardN`` of the same device, where the DRM class tree is there to read."""
    drm = os.path.join(root, "sys/class/drm", f"renderD{render_minor}", "device", "drm")
    try:
        cards = sorted(name for name in os.listdir(drm) if re.fullmatch(r"card\d+", name))
    except OSError:
        return None
    return f"/dev/dri/{cards[0]}" if cards else None


def read_gpus(root="/"):
    """The GPU nodes of the KFD topology, in node order, each a dict of facts."""
    gpus = []
    for node in _node_ids(root):
        props = parse_properties(_read(root, KFD_NODES, str(node), "properties"))
        gpu_id = _first_line(root, KFD_NODES, str(node), "gpu_id")
        if not props.get("simd_count") or gpu_id == "0":
            continue
        minor = props.get("drm_render_minor")
        simd_per_cu = props.get("simd_per_cu") or 0
        unique_id = props.get("unique_id")
        gpus.append({
            "index": len(gpus),
            "node_id": node,
            "gpu_id": int(gpu_id) if gpu_id and gpu_id.isdigit() else gpu_id,
            "name": _first_line(root, KFD_NODES, str(node), "name"),
            "gfx_target": gfx_name(props.get("gfx_target_version")),
            "gfx_target_version": props.get("gfx_target_version"),
            "vendor_id": props.get("vendor_id"),
            "device_id": props.get("device_id"),
            "pci_address": pci_address(props),
            "uuid": f"GPU-{unique_id:016x}" if isinstance(unique_id, int) and unique_id else None,
            "render_minor": minor,
            "render_node": f"/dev/dri/renderD{minor}" if isinstance(minor, int) and minor else None,
            "card": _card_for(root, minor) if minor else None,
            "simd_count": props.get("simd_count"),
            "simd_per_cu": simd_per_cu or None,
            "compute_units": props["simd_count"] // simd_per_cu if simd_per_cu else None,
            "num_xcc": props.get("num_xcc"),
            "memory_bytes": _memory_bytes(root, node),
        })
    return gpus


def _group_ids(root, names):
    found = {}
    for line in (_read(root, "etc/group") or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] in names and fields[2].isdigit():
            found[fields[0]] = int(fields[2])
    return {name: found.get(name) for name in names}


def secure_boot_state(root="/"):
    """'enabled', 'disabled', or 'unsupported' (no EFI: a BIOS boot has no Secure Boot)."""
    if not os.path.isdir(os.path.join(root, "sys/firmware/efi")):
        return "unsupported"
    try:
        with open(os.path.join(root, SECURE_BOOT_VAR), "rb") as handle:
            data = handle.read()
    except OSError:
        return "disabled"
    return "enabled" if len(data) >= 5 and data[4] == 1 else "disabled"


def read_host(root="/"):
    """All of ``ansible_facts.rocm``."""
    gpus = read_gpus(root)
    groups = _group_ids(root, ("render", "video"))
    return {
        "kfd_present": os.path.isdir(os.path.join(root, "sys/class/kfd/kfd")),
        "kfd_device": os.path.exists(os.path.join(root, "dev/kfd")),
        "amdgpu_loaded": os.path.isdir(os.path.join(root, "sys/module/amdgpu")),
        "amdgpu_version": _first_line(root, "sys/module/amdgpu/version"),
        "rocm_version": _first_line(root, "opt/rocm/.info/version"),
        "render_gid": groups["render"],
        "video_gid": groups["video"],
        "secure_boot": secure_boot_state(root),
        "gpu_count": len(gpus),
        # Partitions of one GPU share its unique id (or, without one, its PCI device).
        "physical_gpu_count": len({gpu["uuid"] or (gpu["pci_address"] or "")[:-2]
                                   or gpu["node_id"] for gpu in gpus}),
        "gfx_targets": sorted({gpu["gfx_target"] for gpu in gpus if gpu["gfx_target"]}),
        "render_nodes": list(dict.fromkeys(gpu["render_node"] for gpu in gpus
                                           if gpu["render_node"])),
        "gpus": gpus,
    }


_AGENT_RE = re.compile(r"^\*+\s*\nAgent (\d+)\s*\n\*+\s*$", re.M)
_AGENT_KEYS = {
    "Name": "name",
    "Uuid": "uuid",
    "Marketing Name": "marketing_name",
    "Vendor Name": "vendor_name",
    "Device Type": "device_type",
    "Node": "node",
    "Compute Unit": "compute_units",
    "Chip ID": "chip_id",
}


def parse_rocminfo(text):
    """One dict per HSA agent of ``rocminfo`` output, in its order."""
    text = text.replace("\r\n", "\n")
    starts = list(_AGENT_RE.finditer(text))
    agents = []
    for i, match in enumerate(starts):
        body = text[match.end():starts[i + 1].start() if i + 1 < len(starts) else len(text)]
        agent = {"agent": int(match.group(1))}
        for line in body.splitlines():
            # Top-level fields are indented by two spaces; deeper lines are sub-sections.
            found = re.match(r"^  (\S[^:]*?):\s*(.*?)\s*$", line)
            if not found or found.group(1) not in _AGENT_KEYS:
                continue
            key, value = _AGENT_KEYS[found.group(1)], found.group(2)
            if key in agent:
                continue
            if key in ("node", "compute_units", "chip_id"):
                number = re.match(r"^(\d+)", value)
                value = int(number.group(1)) if number else value
            agent[key] = value
        agents.append(agent)
    return agents


_DKMS_RE = re.compile(
    r"^(?P<module>[^,/\s]+)(?:/|,\s*)(?P<version>[^,\s]+)"
    r"(?:,\s*(?P<kernel>[^,\s]+),\s*(?P<arch>[^,:\s]+))?:\s*(?P<status>\S+)(?P<detail>.*)$")


def parse_dkms_status(text):
    """``dkms status`` lines, old (``m, v, k, a: s``) and new (``m/v, k, a: s``) forms."""
    entries = []
    for line in text.splitlines():
        match = _DKMS_RE.match(line.strip())
        if not match:
            continue
        entry = match.groupdict()
        entry["status"] = entry["status"].rstrip(",")
        entry["detail"] = entry["detail"].strip()
        entries.append(entry)
    return entries
