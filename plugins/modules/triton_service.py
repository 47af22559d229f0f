#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: triton_service
short_description: Triton Inference Server as systemd-managed containers, with GPU passthrough
version_added: 0.1.0
description:
  - Renders the systemd unit that runs the server container in the foreground
    (C(docker run --rm), a stale container removed first, C(docker stop) with a grace
    period, restart on failure with backoff where systemd has it, journald logging), the
    container's environment file and the helper that holds the unit in C(activating) until
    C(/v2/health/ready) answers; writes only what differs, removes what a previous layout
    left, enables and starts the units, and restarts them only when one of their files
    changed or I(restart) asks.
  - GPU passthrough from the host's KFD topology (read as M(inferops.triton.rocm_facts)
    does) - C(/dev/kfd) and the chosen GPUs' render nodes, the host's C(render) and
    C(video) group ids; never C(--privileged), never all of C(/dev/dri).
  - With I(gpu_mode=per_gpu), one server per GPU - the template C(<name>@.service) and an
    instance C(<name>@<gpu index>.service) each, ports offset by I(port_step) per instance.
  - On GPU hosts the MIGraphX compiled-model cache (I(migraphx_cache_dir)) is mounted and
    C(ORT_MIGRAPHX_MODEL_CACHE_PATH) points at it, and C(ORT_MIGRAPHX_COMPILE_BATCHES) comes
    from the models' batch sizes, unless I(env) sets them.
  - A unit that fails to start fails the task with the errors the server logged.
author: inferops.triton developers (@inferops)
options:
  name:
    description: Name of the systemd service (C(<name>.service), or C(<name>@.service) per GPU).
    type: str
    default: triton-server
  container_name:
    description: Name of the container (C(<container_name>-<gpu index>) per GPU).
    type: str
    default: triton-server
  image:
    description: Image reference to run.
    type: str
    required: true
  image_id:
    description: The image's id, written in the unit so that a new image shows as a change.
    type: str
  model_repository:
    description: Host directory of the model repository, mounted read-only at C(/models).
    type: path
    required: true
  http_port:
    description: Host port for HTTP (of the first instance).
    type: int
    default: 8000
  grpc_port:
    description: Host port for gRPC (of the first instance).
    type: int
    default: 8001
  metrics_port:
    description: Host port for metrics (of the first instance).
    type: int
    default: 8002
  port_step:
    description:
      - With I(gpu_mode=per_gpu), how far each instance's ports are from the previous one's.
    type: int
    default: 10
  bind_address:
    description: Host address the ports are published on.
    type: str
    default: 0.0.0.0
  shm_size:
    description: The container's C(/dev/shm) size.
    type: str
    default: 1g
  ipc_host:
    description:
      - Share the host's IPC namespace (C(--ipc=host)), for system shared memory with
        clients on the host.
    type: bool
    default: false
  seccomp_unconfined:
    description: Run without the seccomp profile (AMD's guide does; not needed to serve).
    type: bool
    default: false
  sys_ptrace:
    description: Add C(SYS_PTRACE) (for debuggers and profilers only).
    type: bool
    default: false
  gpu_mode:
    description:
      - C(none), no GPU (the CPU flavour); C(all), one server with every GPU; C(subset), one
        server with the GPUs in I(gpu_indices) and C(ROCR_VISIBLE_DEVICES) to match;
        C(per_gpu), one server per GPU (of I(gpu_indices), or all).
    type: str
    choices: [none, all, subset, per_gpu]
    default: none
  gpu_indices:
    description: GPU indices as M(inferops.triton.rocm_facts) numbers them.
    type: list
    elements: int
    default: []
  rocm_root:
    description:
      - Where the GPUs are read, as M(inferops.triton.rocm_facts) reads them (the KFD
        topology, C(/dev/kfd), C(/etc/group)) - C(/) on a host; the lab points it at a
        captured topology.
    type: path
    default: /
  migraphx_cache_dir:
    description: Host directory for MIGraphX compiled models (GPU modes); empty for none.
    type: path
    default: /var/cache/inferops-triton/migraphx
  models:
    description: The models (entries with C(config)), for C(ORT_MIGRAPHX_COMPILE_BATCHES).
    type: list
    elements: dict
    default: []
  env:
    description: Environment of the server process, laid over what the module sets.
    type: dict
    default: {}
  model_control_mode:
    description: Triton's C(--model-control-mode).
    type: str
    choices: [none, poll, explicit]
    default: none
  load_models:
    description: C(--load-model) values in explicit mode.
    type: list
    elements: str
    default: ["*"]
  strict_readiness:
    description: Triton's C(--strict-readiness).
    type: bool
    default: true
  exit_on_error:
    description:
      - Triton's C(--exit-on-error). Off, as in AMD's guide, so one model that fails to load
        does not stop the others; the gate reports it.
    type: bool
    default: false
  log_verbose:
    description: Triton's C(--log-verbose).
    type: int
    default: 0
  extra_args:
    description: More tritonserver arguments.
    type: list
    elements: str
    default: []
  restricted_apis:
    description:
      - APIs that answer only requests carrying the header I(restricted_key) with
        I(restricted_value) (C(--http-restricted-api), C(--grpc-restricted-protocol)).
    type: list
    elements: str
    choices: [health, metadata, inference, shared-memory, model-config, model-repository,
              statistics, trace, logging]
    default: []
  restricted_key:
    description: The header name restricted APIs require.
    type: str
    default: Triton-Admin-Key
  restricted_value:
    description: The header value restricted APIs require; kept out of the unit file.
    type: str
  start_timeout:
    description:
      - Seconds systemd allows from start to C(/v2/health/ready) (a first MIGraphX
        compilation takes minutes).
    type: int
    default: 600
  stop_timeout:
    description: Seconds the container gets to stop before it is killed.
    type: int
    default: 60
  restart_max_delay:
    description: Longest wait between restarts with systemd 254 or later (backoff).
    type: int
    default: 120
  restart:
    description: Restart the units even when none of their files changed (a new model repository).
    type: bool
    default: false
  gate:
    description:
      - After the units are as wanted, gate each server in the same call, as
        M(inferops.triton.triton_server_info) with O(gate_wait) and O(gate_smoke) would from
        this host - live and ready, every model of O(models) READY, one zero inference per
        model - and return what it found in RV(gate) and RV(gate_failures).
      - A gate that does not pass does not fail the module, so that the caller can read the
        server's log first. Nothing is gated in check mode.
      - The server is reached on the loopback address when O(bind_address) is a wildcard,
        with the O(restricted_key) header when O(restricted_apis) is set.
    type: bool
    default: false
  gate_wait:
    description: Seconds the gate waits for each server and its models to settle.
    type: int
    default: 300
  gate_smoke:
    description: Send each model a zero inference as part of the gate.
    type: bool
    default: true
  gate_smoke_unchanged:
    description:
      - With O(gate_smoke), send the zero inference also when this call changed nothing
        (no file written or removed, no unit enabled, started or restarted).
      - V(false) gates an unchanged server on readiness and its models' states only, as a
        no-op run on a production fleet would, where an inference per model per server on
        every run competes with the traffic it serves. The caller says V(true) when
        something the server serves changed without this call changing (a model repository
        that Triton polls).
    type: bool
    default: true
extends_documentation_fragment:
  - inferops.triton.attributes
requirements:
  - systemd and the Docker CLI on the host
"""

EXAMPLES = r"""
- name: One server with GPUs 1 and 3
  inferops.triton.triton_service:
    image: inferops/tritonserver:rocm
    model_repository: /var/lib/inferops-triton/models
    gpu_mode: subset
    gpu_indices: [1, 3]

- name: One server per GPU, ports 8000, 8010, 8020, ...
  inferops.triton.triton_service:
    image: inferops/tritonserver:rocm
    model_repository: /var/lib/inferops-triton/models
    gpu_mode: per_gpu
    restricted_apis: [model-repository, model-config]
    restricted_value: "{{ vault_triton_admin_key }}"
"""

RETURN = r"""
units:
  description: The units that run the servers.
  type: list
  elements: str
  returned: always
  sample: [triton-server@0.service, triton-server@1.service]
instances:
  description:
    - Per server its unit, GPU indices, devices, group ids, host ports and C(url), where the
      host reaches it (the loopback address when O(bind_address) is a wildcard).
  type: list
  elements: dict
  returned: always
  sample:
    - unit: triton-server.service
      index: null
      gpus: [1, 3]
      devices: [/dev/kfd, /dev/dri/renderD129, /dev/dri/renderD131]
      groups: [992, 44]
      env: {ROCR_VISIBLE_DEVICES: "GPU-1901ead3a2ecd4a6,GPU-b4c3e1f2a0d98877"}
      ports: {http: 8000, grpc: 8001, metrics: 8002}
      url: http://127.0.0.1:8000
written:
  description: Files written (or that would be, in check mode).
  type: list
  elements: str
  returned: always
  sample: [/etc/systemd/system/triton-server.service]
removed:
  description: Files of an earlier layout removed (their units stopped and disabled first).
  type: list
  elements: str
  returned: always
  sample: []
restarted:
  description: Units restarted (or that would be).
  type: list
  elements: str
  returned: always
  sample: [triton-server.service]
started:
  description: Units started because they were not running (or that would be).
  type: list
  elements: str
  returned: always
  sample: []
gate:
  description:
    - With O(gate), per server, its C(unit), the C(url) it was asked on and what
      M(inferops.triton.triton_server_info) returns (C(live), C(ready), C(models),
      C(unavailable), C(configs), C(smoke), C(waited), C(errors)).
  type: list
  elements: dict
  returned: when O(gate) is true, outside check mode
  sample:
    - unit: triton-server.service
      url: http://127.0.0.1:8000
      live: true
      ready: true
      unavailable: []
      smoke: {resnet50: {ok: true, outputs: {resnetv24_dense0_fwd: [1, 1000]},
                         msg: every declared output has its declared shape}}
      waited: 0.004
      errors: []
gate_failures:
  description:
    - With O(gate), what kept a server from passing it, one line each; empty when all passed.
  type: list
  elements: str
  returned: when O(gate) is true, outside check mode
  sample: ["triton-server.service: model resnet50 is UNAVAILABLE: Internal: ..."]
"""

import glob
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.common._files import write_atomic
from ansible_collections.inferops.triton.plugins.module_utils.rocm._facts import read_host
from ansible_collections.inferops.triton.plugins.module_utils.server._gate import (
    gate,
    gate_failures,
    gate_settings,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._placement import (
    GPU_MODES,
    ServiceError,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._service import (
    journal_errors,
    plan,
    stale_files,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._unit import (
    CONFIG_DIR,
    UNIT_DIR,
    render,
    systemd_version,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._wait_ready import (
    WAIT_READY,
)

SPEC = dict(
    name=dict(type="str", default="triton-server"),
    container_name=dict(type="str", default="triton-server"),
    image=dict(type="str", required=True),
    image_id=dict(type="str"),
    model_repository=dict(type="path", required=True),
    http_port=dict(type="int", default=8000),
    grpc_port=dict(type="int", default=8001),
    metrics_port=dict(type="int", default=8002),
    port_step=dict(type="int", default=10),
    bind_address=dict(type="str", default="0.0.0.0"),
    shm_size=dict(type="str", default="1g"),
    ipc_host=dict(type="bool", default=False),
    seccomp_unconfined=dict(type="bool", default=False),
    sys_ptrace=dict(type="bool", default=False),
    gpu_mode=dict(type="str", default="none", choices=list(GPU_MODES)),
    gpu_indices=dict(type="list", elements="int", default=[]),
    rocm_root=dict(type="path", default="/"),
    migraphx_cache_dir=dict(type="path", default="/var/cache/inferops-triton/migraphx"),
    models=dict(type="list", elements="dict", default=[]),
    env=dict(type="dict", default={}),
    model_control_mode=dict(type="str", default="none", choices=["none", "poll", "explicit"]),
    load_models=dict(type="list", elements="str", default=["*"]),
    strict_readiness=dict(type="bool", default=True),
    exit_on_error=dict(type="bool", default=False),
    log_verbose=dict(type="int", default=0),
    extra_args=dict(type="list", elements="str", default=[]),
    restricted_apis=dict(type="list", elements="str", default=[], choices=[
        "health", "metadata", "inference", "shared-memory", "model-config",
        "model-repository", "statistics", "trace", "logging"]),
    restricted_key=dict(type="str", default="Triton-Admin-Key", no_log=False),
    restricted_value=dict(type="str", no_log=True),
    start_timeout=dict(type="int", default=600),
    stop_timeout=dict(type="int", default=60),
    restart_max_delay=dict(type="int", default=120),
    restart=dict(type="bool", default=False),
    gate=dict(type="bool", default=False),
    gate_wait=dict(type="int", default=300),
    gate_smoke=dict(type="bool", default=True),
    gate_smoke_unchanged=dict(type="bool", default=True),
)


class TritonService:
    def __init__(self, module):
        self.module = module
        self.check = module.check_mode

    def systemctl(self, *args, check=True):
        rc, out, err = self.module.run_command(["systemctl", *args])
        if rc != 0 and check:
            self.module.fail_json(msg=f"systemctl {' '.join(args)} failed: {err.strip()}")
        return rc, out

    def failed_start(self, unit, err):
        # the lines of the start that failed (systemd tags them with its invocation id)
        _rc, invocation, _err = self.module.run_command(
            ["systemctl", "show", "--property", "InvocationID", "--value", unit])
        select = [f"_SYSTEMD_INVOCATION_ID={invocation.strip()}"] if invocation.strip() \
            else ["--unit", unit, "--lines", "80"]
        _rc, out, _err = self.module.run_command(
            ["journalctl", *select, "--no-pager", "--output", "cat"])
        errors = journal_errors(out)
        self.module.fail_json(
            msg=f"{unit} did not start: {err.strip()}. Errors the server logged: "
                + (" | ".join(errors) or "none (see journalctl -u " + unit + ")"),
            journal_errors=errors)

    def run(self):
        params = self.module.params
        settings = dict(params)
        _rc, version, _err = self.module.run_command(["systemctl", "--version"])
        settings["systemd_version"] = systemd_version(version)
        try:
            rocm = read_host(params["rocm_root"]) if params["gpu_mode"] != "none" else None
            rendered = render(settings, rocm)
        except ServiceError as exc:
            self.module.fail_json(msg=str(exc))
        existing = stale_files(
            glob.glob(f"{UNIT_DIR}/{params['name']}*") +
            glob.glob(f"{CONFIG_DIR}/{params['name']}*"), settings, rendered["files"])
        changes = plan(rendered, existing)
        result = {"changed": False, "units": rendered["units"],
                  "instances": rendered["instances"], "written": changes["write"],
                  "removed": changes["remove"], "restarted": [], "started": []}
        if self.module._diff:
            result["diff"] = changes["diff"]

        # Units of a layout no longer wanted stop first: they hold the ports.
        for unit in changes["stop"]:
            if not self.check:
                self.systemctl("disable", "--now", unit, check=False)
        if not self.check:
            self.apply_files(rendered, changes)
        if changes["write"] or changes["remove"]:
            result["changed"] = True
            if not self.check:
                self.systemctl("daemon-reload")

        # Anything but the wait helper changing means the servers run on old settings.
        touched = [p for p in changes["write"] if p != WAIT_READY]
        for unit in rendered["units"]:
            enabled = self.systemctl("is-enabled", unit, check=False)[1].strip() == "enabled"
            active = self.systemctl("is-active", unit, check=False)[1].strip()
            if not enabled:
                result["changed"] = True
                if not self.check:
                    self.systemctl("enable", unit)
            if touched or params["restart"]:
                action, key = "restart", "restarted"
            elif active not in ("active", "activating", "reloading"):
                action, key = "start", "started"
            else:
                continue
            result["changed"] = True
            result[key].append(unit)
            if not self.check:
                # blocks until the wait helper saw /v2/health/ready (or the start failed)
                rc, _out, err = self.module.run_command(["systemctl", action, unit])
                if rc != 0:
                    self.failed_start(unit, err)
        if params["gate"] and not self.check:
            settings = gate_settings(params, result["changed"])
            result["gate"] = [gate(settings, instance) for instance in rendered["instances"]]
            result["gate_failures"] = [line for entry in result["gate"]
                                       for line in gate_failures(entry)]
        self.module.exit_json(**result)

    def apply_files(self, rendered, changes):
        if rendered["instances"][0]["devices"] and self.module.params["migraphx_cache_dir"]:
            os.makedirs(self.module.params["migraphx_cache_dir"], mode=0o755, exist_ok=True)
        for path in changes["write"]:
            content, mode = rendered["files"][path]
            write_atomic(path, content, int(mode, 8), move=self.module.atomic_move)
            # atomic_move gives the file the mode of the one it replaces, or the umask's
            os.chmod(path, int(mode, 8))
        for path in changes["remove"]:
            os.unlink(path)


def main():
    module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True,
                           required_if=[("gpu_mode", "subset", ["gpu_indices"])])
    TritonService(module).run()


if __name__ == "__main__":
    main()
