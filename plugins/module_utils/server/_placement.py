# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which GPUs each Triton server of a host gets: one server with none (the CPU flavour), all
or some of the host's GPUs, or one server per GPU, each with its devices, groups, visible
devices and ports.

Devices are ``/dev/kfd`` plus the chosen GPUs' render nodes, never all of ``/dev/dri``;
groups are the host's ``render`` and ``video`` ids; no ``--privileged``. The pre-flight asks
the same function on the controller before any host changes.

Travels to hosts; a pure function of the settings and ``rocm_facts``' dict for the host.
"""

from __future__ import annotations

GPU_MODES = ("none", "all", "subset", "per_gpu")


class ServiceError(ValueError):
    """A setting that cannot be served on this host; the message names it."""


def _visible_devices(gpus: list, all_gpus: list) -> str:
    """ROCR_VISIBLE_DEVICES for a container given only ``gpus``' render nodes: their UUIDs,
    which mean the same inside and outside the container; where a UUID is missing or shared
    (the partitions of an MI300X in CPX mode share their GPU's), the positions the container
    sees (ROCr lists only the GPUs whose render node it can open, in KFD order)."""
    counts = {}
    for gpu in all_gpus:
        counts[gpu.get("uuid")] = counts.get(gpu.get("uuid"), 0) + 1
    if all(gpu.get("uuid") and counts[gpu["uuid"]] == 1 for gpu in gpus):
        return ",".join(gpu["uuid"] for gpu in gpus)
    return ",".join(str(i) for i in range(len(gpus)))


def gpu_access(rocm: dict | None, setting: str, alternative: str = "") -> tuple:
    """A container's way to the host's GPUs: (the GPUs, the ``render`` and ``video`` group
    ids), each GPU with its render node; raises ServiceError, the message starting with
    ``setting`` (the variable and value that asked for GPUs), when the host cannot give
    them. ``alternative`` is what else the user can do, before "install the driver"."""
    rocm = rocm or {}
    all_gpus = rocm.get("gpus") or []
    if not all_gpus:
        raise ServiceError(f"{setting} but rocm_facts finds no GPU on this host (no KFD GPU "
                           f"node); {alternative}install the amdgpu driver (role "
                           "inferops.triton.rocm)")
    if not rocm.get("kfd_device"):
        raise ServiceError(f"{setting} but /dev/kfd is missing on this host: is the amdgpu "
                           "driver loaded?")
    missing = [g["index"] for g in all_gpus if not g.get("render_node")]
    if missing:
        raise ServiceError(f"GPUs {missing} have no render node (drm_render_minor) in the KFD "
                           "topology; a container cannot be given them")
    groups = []
    for group in ("render", "video"):
        gid = rocm.get(f"{group}_gid")
        if gid is None:
            raise ServiceError(f"the host has no '{group}' group in /etc/group; the container "
                               f"needs its id to open the GPU devices")
        groups.append(int(gid))
    return all_gpus, groups


def instances(settings: dict, rocm: dict | None) -> list:
    """The servers to run: one dict per server with ``unit`` (the name systemd knows),
    ``index`` (GPU index, or None), ``gpus``, ``devices``, ``groups``, ``env`` and ``ports``.

    ``rocm`` is ``rocm_facts``' dict for the host (read_host); GPU modes need its GPUs,
    ``/dev/kfd`` and render nodes, and raise ServiceError naming the variable otherwise.
    """
    mode = settings["gpu_mode"]
    name = settings["name"]
    ports = {"http": settings["http_port"], "grpc": settings["grpc_port"],
             "metrics": settings["metrics_port"]}
    if mode not in GPU_MODES:
        raise ServiceError(f"triton_server_gpu_mode: {mode!r} is not one of "
                           f"{', '.join(GPU_MODES)}")
    if mode == "none":
        return [{"unit": f"{name}.service", "index": None, "gpus": [], "devices": [],
                 "groups": [], "env": {}, "ports": ports}]

    all_gpus, groups = gpu_access(rocm, f"triton_server_gpu_mode: {mode!r}",
                                  "use 'none' for the CPU flavour, or ")
    wanted = settings.get("gpu_indices") or []
    if mode == "subset" or wanted:
        valid = [g["index"] for g in all_gpus]
        bad = [i for i in wanted if i not in valid]
        if not wanted or bad or len(set(wanted)) != len(wanted):
            raise ServiceError(
                f"triton_server_gpu_indices: {wanted!r} must name distinct GPUs of this host; "
                f"valid indices: {valid[0]}-{valid[-1]} ({len(valid)} GPUs)")
        chosen = [g for g in all_gpus if g["index"] in wanted]
    else:
        chosen = list(all_gpus)

    def one(gpus, unit, index, offset):
        server_ports = {key: value + offset for key, value in ports.items()}
        env = {} if len(gpus) == len(all_gpus) else {
            "ROCR_VISIBLE_DEVICES": _visible_devices(gpus, all_gpus)}
        return {"unit": unit, "index": index, "gpus": [g["index"] for g in gpus],
                "devices": ["/dev/kfd"] + [g["render_node"] for g in gpus],
                "groups": groups, "env": env, "ports": server_ports}

    if mode == "per_gpu":
        step = settings["port_step"]
        return [one([gpu], f"{name}@{gpu['index']}.service", gpu["index"],
                    position * step) for position, gpu in enumerate(chosen)]
    return [one(chosen, f"{name}.service", None, 0)]
