# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files that run the Triton servers under systemd: the unit (or the template
``<name>@.service`` with an instance per GPU), the container's environment file, the unit's
own environment (``.conf``: the restricted-API arguments and header, an instance's docker
options and URL) and the wait helper, rendered from the settings and the placement.

One server (``gpu_mode`` none, all or subset) is ``<name>.service``; one server per GPU is
the template ``<name>@.service`` with an instance per GPU index (``<name>@3.service``), its
devices, ports and ``ROCR_VISIBLE_DEVICES`` in ``/etc/inferops-triton/<name>@3.conf``.
Also the one home of where a host reaches its own server (:func:`local_url`) and of the
header the restricted APIs require (:func:`api_headers`).

Travels to hosts; pure functions of their inputs (no file is read, no command run).
"""

from __future__ import annotations

import re
import shlex

from ansible_collections.inferops.triton.plugins.module_utils.server._placement import (
    ServiceError,
    instances,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._wait_ready import (
    WAIT_READY,
    WAIT_READY_SCRIPT,
)

CONFIG_DIR = "/etc/inferops-triton"
UNIT_DIR = "/etc/systemd/system"
MODELS_IN_CONTAINER = "/models"
# The container's command. AMD's image runs ENTRYPOINT ["/opt/rocm/rocm_entrypoint.sh"], which
# sources its parts and then `exec "$@"` (docker/cpu_only/rocm_entrypoint.sh), so the command
# after the image must be the program itself, as AMD's guide runs it: `<image> tritonserver
# --model-repository=/models ...`. The CPU flavour's image has the same contract.
SERVER_COMMAND = "tritonserver"
CACHE_IN_CONTAINER = "/var/cache/migraphx"
# The MIGraphX EP's environment variables the service sets: the ones the in-tree EP reads
# (tests/fixtures/upstream/onnxruntime_backend/ep_env_vars.*.txt), and the compile batches of
# the later in-tree EPs.
MIGRAPHX_ENV = ("ORT_MIGRAPHX_MODEL_CACHE_PATH", "ORT_MIGRAPHX_COMPILE_BATCHES")
# systemd 254 added RestartSteps/RestartMaxDelaySec (exponential restart backoff).
BACKOFF_SYSTEMD = 254
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HEADER_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def systemd_version(text: str) -> int | None:
    """``systemctl --version``'s first line ("systemd 252 (252.36-1~deb12u1)") -> 252."""
    match = re.match(r"\s*systemd\s+(\d+)", text or "")
    return int(match.group(1)) if match else None


def compile_batches(models: list) -> str:
    """``ORT_MIGRAPHX_COMPILE_BATCHES`` for the models' batch sizes: for each batching model
    the powers of two up to its ``max_batch_size``, the size itself and its preferred batch
    sizes ("1,2,4,8" for the guide's max_batch_size 8); '' when no model batches."""
    sizes = set()
    for model in models or []:
        config = (model or {}).get("config") or {}
        top = int(config.get("max_batch_size") or 0)
        if top <= 0:
            continue
        size = 1
        while size <= top:
            sizes.add(size)
            size *= 2
        sizes.add(top)
        preferred = (config.get("dynamic_batching") or {}).get("preferred_batch_size") or []
        sizes.update(int(p) for p in preferred if 0 < int(p) <= top)
    return ",".join(str(s) for s in sorted(sizes))


def container_env(settings: dict, instance: dict) -> dict:
    """The server process' environment: the MIGraphX cache and compile batches on GPU
    hosts, the instance's visible devices, then the user's ``env`` over them."""
    env = {}
    if instance["devices"] and settings.get("migraphx_cache_dir"):
        # What the ROCm 7.2 image's in-tree MIGraphX EP reads (MIGRAPHX_ENV, with its
        # evidence in tests/fixtures/upstream/onnxruntime_backend/SOURCE.md): the compiled
        # models' cache. ORT_MIGRAPHX_CACHE_PATH is the INT8/FP8 calibration table location,
        # not the model cache, so it is left alone; ORT_MIGRAPHX_CACHE_DIR is the later
        # out-of-tree plugin EP's, which this image does not have.
        env["ORT_MIGRAPHX_MODEL_CACHE_PATH"] = CACHE_IN_CONTAINER
        # Read by the in-tree EP from early 2026 on (and set in AMD's Triton examples); an EP
        # that does not know it ignores it.
        batches = compile_batches(settings.get("models") or [])
        if batches:
            env["ORT_MIGRAPHX_COMPILE_BATCHES"] = batches
    env.update(instance["env"])
    env.update({str(k): str(v) for k, v in (settings.get("env") or {}).items()})
    return env


def render_env(env: dict) -> str:
    """A ``docker run --env-file`` file: KEY=value lines (no quoting: docker takes the rest
    of the line as it is)."""
    lines = ["# Managed by inferops.triton"]
    for key in sorted(env):
        value = str(env[key])
        if "\n" in value or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            raise ServiceError(f"triton_server_env: {key!r}={value!r} cannot be written to an "
                               "env file (names are letters, digits and _; no newlines)")
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def restricted_args(settings: dict) -> list:
    """``--http-restricted-api`` / ``--grpc-restricted-protocol`` for the restricted APIs."""
    apis = settings.get("restricted_apis") or []
    if not apis:
        return []
    key, value = settings.get("restricted_key") or "", settings.get("restricted_value") or ""
    if not _HEADER_TOKEN.match(key) or not value or re.search(r"[\s=,:]", value):
        # the value is a credential: said to be wrong, never shown
        state = "empty" if not value else "set" if not re.search(r"[\s=,:]", value) \
            else "set, with a space, '=', ',' or ':'"
        raise ServiceError(f"triton_server_restricted_apis is {list(apis)!r}, which needs "
                           f"triton_server_restricted_key, an HTTP header name (it is "
                           f"{key!r}), and triton_server_restricted_value, without spaces, "
                           f"'=', ',' or ':' (it is {state})")
    joined = ",".join(apis)
    return [f"--http-restricted-api={joined}:{key}={value}",
            f"--grpc-restricted-protocol={joined}:{key}={value}"]


# The server options the role sets, each with the variable that sets it: extra_args may not
# set them again (tritonserver takes the last one given, so an override would break the unit's
# mounts, ports or readiness checks without a word). The ports are the container's own; the
# host's are published to them.
RESERVED_SERVER_ARGS = {
    "--model-repository": "triton_server_model_repository (mounted at /models)",
    "--model-store": "triton_server_model_repository (mounted at /models)",
    "--model-control-mode": "triton_server_model_control_mode",
    "--load-model": "triton_server_load_models",
    "--strict-readiness": "triton_server_strict_readiness",
    "--exit-on-error": "triton_server_exit_on_error",
    "--log-verbose": "triton_server_log_verbose",
    "--http-port": "triton_server_http_port (the host port published to 8000)",
    "--grpc-port": "triton_server_grpc_port (the host port published to 8001)",
    "--metrics-port": "triton_server_metrics_port (the host port published to 8002)",
    "--http-restricted-api": "triton_server_restricted_apis",
    "--grpc-restricted-protocol": "triton_server_restricted_apis",
}


def extra_args_errors(extra_args) -> list:
    """``triton_server_extra_args`` that set an option the role sets (as ``--name=value`` or
    as ``--name`` followed by its value)."""
    errors = []
    for arg in extra_args or []:
        option = str(arg).split("=", 1)[0]
        if option in RESERVED_SERVER_ARGS:
            errors.append(f"triton_server_extra_args: {str(arg)!r} sets {option}, which the "
                          f"role sets from {RESERVED_SERVER_ARGS[option]}; use that variable")
    return errors


def server_args(settings: dict) -> list:
    """The container's command after the image (tritonserver and its arguments), the same for
    every instance."""
    errors = extra_args_errors(settings.get("extra_args"))
    if errors:
        raise ServiceError("; ".join(errors))
    args = [SERVER_COMMAND, f"--model-repository={MODELS_IN_CONTAINER}",
            f"--model-control-mode={settings['model_control_mode']}"]
    if settings["model_control_mode"] == "explicit":
        args += [f"--load-model={model}" for model in settings.get("load_models") or []]
    args += [f"--strict-readiness={str(settings['strict_readiness']).lower()}",
             f"--exit-on-error={str(settings['exit_on_error']).lower()}",
             f"--log-verbose={settings['log_verbose']}"]
    return args + list(settings.get("extra_args") or [])


def docker_args(settings: dict, instance: dict, env_file: str) -> list:
    """``docker run``'s options for one instance (devices, groups, ports, volumes)."""
    args = ["--rm", "--name", container_name(settings, instance),
            "--shm-size", str(settings["shm_size"])]
    if settings.get("ipc_host"):
        args += ["--ipc", "host"]
    for device in instance["devices"]:
        args += ["--device", device]
    for gid in instance["groups"]:
        args += ["--group-add", str(gid)]
    if settings.get("seccomp_unconfined"):
        args += ["--security-opt", "seccomp=unconfined"]
    if settings.get("sys_ptrace"):
        args += ["--cap-add", "SYS_PTRACE"]
    bind = settings["bind_address"]
    for key, inside in (("http", 8000), ("grpc", 8001), ("metrics", 8002)):
        args += ["--publish", f"{bind}:{instance['ports'][key]}:{inside}"]
    args += ["--volume", f"{settings['model_repository']}:{MODELS_IN_CONTAINER}:ro"]
    if instance["devices"] and settings.get("migraphx_cache_dir"):
        args += ["--volume", f"{settings['migraphx_cache_dir']}:{CACHE_IN_CONTAINER}"]
    return args + ["--env-file", env_file]


def container_name(settings: dict, instance: dict) -> str:
    base = settings["container_name"]
    return base if instance["index"] is None else f"{base}-{instance['index']}"


def local_url(bind_address: str, port) -> str:
    """The URL a host uses to reach its own server whose port ``port`` is published on
    ``bind_address``: the loopback address of the family for a wildcard (``0.0.0.0`` or
    empty: ``127.0.0.1``; ``::``: ``[::1]``, since ``[::]`` is not an address to connect to),
    else the address itself, an IPv6 one in brackets."""
    bind = bind_address or ""
    host = "127.0.0.1" if bind in ("0.0.0.0", "") else ("[::1]" if bind == "::" else bind)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def api_headers(restricted_apis, key: str, value) -> dict:
    """The header every request to the restricted APIs carries (what
    ``--http-restricted-api=<apis>:<key>=<value>`` asks for): ``{key: value}`` when any API
    is restricted, else none."""
    return {key: value or ""} if restricted_apis else {}


def _exec(words: list) -> str:
    """One systemd command line, an argument per continued line after the first three."""
    quoted = [w if w.startswith("$") else _quote(w) for w in words]
    head, rest = quoted[:3], quoted[3:]
    lines, current = [" ".join(head)], []
    for word in rest:
        # keep an option and its value on one line
        if current and not (current[-1].startswith("-") and "=" not in current[-1]
                            and not word.startswith("-")):
            lines.append(" ".join(current))
            current = []
        current.append(word)
    if current:
        lines.append(" ".join(current))
    return " \\\n  ".join(lines)


def _quote(word: str) -> str:
    """Quote a word for a systemd command line (systemd splits like a shell, and expands
    %-specifiers and $VARIABLES, which a literal must escape)."""
    word = word.replace("%", "%%").replace("$", "$$")
    return shlex.quote(word) if word and re.match(r"^[A-Za-z0-9_@%+=:,./*-]+$", word) is None \
        else word


def render(settings: dict, rocm: dict | None) -> dict:
    """Every file the service needs: ``{path: (content, mode)}``, plus ``units`` (what to
    enable and start) and ``instances`` (each with the ``url`` the host reaches it on).
    Raises ServiceError naming a bad setting."""
    name = settings["name"]
    if not _NAME.match(name) or "@" in name:
        raise ServiceError(f"triton_server_service_name: {name!r} is not a unit name "
                           "(letters, digits, '_', '.', '-')")
    servers = instances(settings, rocm)
    template = settings["gpu_mode"] == "per_gpu"
    restricted = restricted_args(settings)
    files = {WAIT_READY: (WAIT_READY_SCRIPT, "0755")}
    # the wait helper's copy of the header (TRITON_WAIT_HEADER="Key: value")
    header = [f"TRITON_WAIT_HEADER={key}: {value}" for key, value in api_headers(
        restricted, settings.get("restricted_key"), settings.get("restricted_value")).items()]
    for server in servers:
        server["url"] = local_url(settings["bind_address"], server["ports"]["http"])
        stem = server["unit"][:-len(".service")]
        env_file = f"{CONFIG_DIR}/{stem}.env"
        files[env_file] = (render_env(container_env(settings, server)), "0600")
        conf = [f"TRITON_RESTRICTED_ARGS={' '.join(restricted)}"] if restricted else []
        conf += header
        if template:
            conf.insert(0, "TRITON_INSTANCE_ARGS=" + " ".join(
                docker_args(settings, server, env_file)))
            conf.insert(1, f"TRITON_URL={server['url']}")
        if conf:
            files[f"{CONFIG_DIR}/{stem}.conf"] = (
                "# Managed by inferops.triton\n" + "\n".join(conf) + "\n", "0600")
    unit_name = f"{name}@.service" if template else f"{name}.service"
    files[f"{UNIT_DIR}/{unit_name}"] = (render_unit(settings, servers[0], template,
                                                    bool(restricted or header)), "0644")
    return {"files": files, "units": [s["unit"] for s in servers], "instances": servers,
            "unit_file": f"{UNIT_DIR}/{unit_name}"}


def render_unit(settings: dict, server: dict, template: bool, has_conf: bool) -> str:
    name = settings["name"]
    stem = f"{name}@%i" if template else name
    container = f"{settings['container_name']}-%i" if template else container_name(
        settings, server)
    if template:
        run = ["/usr/bin/docker", "run", "$TRITON_INSTANCE_ARGS", settings["image"]]
        health = "${TRITON_URL}"
    else:
        run = ["/usr/bin/docker", "run", *docker_args(
            settings, server, f"{CONFIG_DIR}/{stem}.env"), settings["image"]]
        health = local_url(settings["bind_address"], server["ports"]["http"])
    run += server_args(settings)
    if settings.get("restricted_apis"):
        run.append("$TRITON_RESTRICTED_ARGS")
    version = settings.get("systemd_version") or 0
    lines = [
        "# Managed by inferops.triton; changes here are overwritten.",
        f"# image: {settings['image']} {settings.get('image_id') or ''}".rstrip(),
        "[Unit]",
        "Description=Triton Inference Server (" + (
            f"{name}, GPU %i" if template else name) + ")",
        "Documentation=https://github.com/triton-inference-server/server",
        "After=docker.service network-online.target",
        "Requires=docker.service",
        "Wants=network-online.target",
        # never stop retrying; the backoff below spaces the attempts
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=simple",
    ]
    if has_conf or template:
        lines.append(f"EnvironmentFile={CONFIG_DIR}/{stem}.conf")
    lines += [
        f"ExecStartPre=-/usr/bin/docker rm --force {container}",
        "ExecStart=" + _exec(run),
        f"ExecStartPost={WAIT_READY} {health} $MAINPID",
        f"ExecStop=/usr/bin/docker stop --time {settings['stop_timeout']} {container}",
        "Restart=on-failure",
        "RestartSec=5s",
    ]
    if version >= BACKOFF_SYSTEMD:
        lines += ["RestartSteps=6", f"RestartMaxDelaySec={settings['restart_max_delay']}s"]
    lines += [
        f"TimeoutStartSec={settings['start_timeout']}",
        f"TimeoutStopSec={settings['stop_timeout'] + 30}",
        "StandardOutput=journal",
        "StandardError=journal",
        f"SyslogIdentifier={stem.replace('@%i', '-%i')}",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)
