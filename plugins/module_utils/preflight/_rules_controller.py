# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pre-flight: every input of every role a playbook runs, checked on the controller
before any host changes, and every problem of a host reported at once.

Two kinds of check, both here and nowhere else:

- each role's argument spec (``roles/<role>/meta/argument_specs.yml``), as Ansible checks
  it when the role starts, but for all the roles before the first one starts;
- the rules a spec cannot say, which relate variables to each other or to the host: ports
  distinct and in range across the servers of a host, host paths absolute, benchmark
  ranges ordered and batch sizes within each model's ``max_batch_size``, image source
  settings complete, extra arguments that would override what a role sets.

Controller-side only (the ``preflight`` action plugin calls it); plain Python, testable
without Ansible.
"""

from __future__ import annotations

import ipaddress
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.inferops.triton.plugins.module_utils.bench import _perf_run
from ansible_collections.inferops.triton.plugins.module_utils.image import _build as _triton_build
from ansible_collections.inferops.triton.plugins.module_utils.models import (
    _config_controller as _model_config,
)
from ansible_collections.inferops.triton.plugins.module_utils.monitoring import (
    _exporter_controller as _exporter,
)
from ansible_collections.inferops.triton.plugins.module_utils.server import (
    _placement as _server_placement,
)
from ansible_collections.inferops.triton.plugins.module_utils.server import _unit as _server_unit
from ansible_collections.inferops.triton.plugins.module_utils.tune import (
    _candidate_controller as _tune_candidate,
)
from ansible_collections.inferops.triton.plugins.module_utils.tune import (
    _search_controller as _tune_search,
)

# The roles each playbook runs, in order. A role whose switch variable is false is left out
# (site.yml includes it only then).
PLAYBOOK_ROLES = {
    "site": ("rocm", "docker_engine", "gpu_exporter", "triton_image", "model_repository",
             "triton_server", "benchmark"),
    "rollout": ("triton_image", "model_repository", "triton_server", "rollout"),
    "benchmark": ("benchmark",),
    "tune": ("triton_server", "tune"),
}
SWITCHES = {"rocm": ("rocm_enabled", False), "benchmark": ("benchmark_enabled", True),
            "gpu_exporter": ("gpu_exporter_enabled", False)}

# Variables that were removed, with what to do instead: set, they are refused, not ignored.
REMOVED = {
    "triton_image_gpu_targets": "build.py offers no GPU target choice (the image carries the "
                                "kernels of its ROCm base image); remove the variable",
}

# Directories and files on the host: they must be absolute (a relative one would be relative
# to whatever directory the module runs in).
HOST_PATHS = (
    "docker_engine_daemon_json_path", "model_repository_path", "model_repository_staging_dir",
    "triton_server_model_repository", "triton_server_migraphx_cache_dir",
    "triton_server_rocm_root", "triton_image_host_build_dir", "benchmark_host_dir",
    "rocm_apt_keyring",
)
HOST_PATH_LISTS = ("rocm_stale_apt_files",)

# Settings that must be at least a number: (variable, lowest, what it is).
AT_LEAST = (
    ("docker_engine_apt_cache_valid_time", 0, "seconds"),
    ("triton_server_log_verbose", 0, "a level"),
    ("triton_server_start_timeout", 1, "seconds"),
    ("triton_server_ready_timeout", 1, "seconds"),
    ("triton_server_stop_timeout", 1, "seconds"),
    ("triton_server_restart_max_delay", 1, "seconds"),
    ("triton_image_build_timeout", 1, "seconds"),
    ("triton_image_build_poll", 1, "seconds"),
    ("benchmark_cell_timeout", 1, "seconds"),
    ("benchmark_max_throughput_drop_pct", 0, "percent"),
    ("benchmark_max_p99_rise_pct", 0, "percent"),
    ("rocm_reboot_timeout", 1, "seconds"),
    ("rollout_keep_failed_repositories", 0, "repositories"),
    ("rollout_drain_seconds", 0, "seconds"),
)

PORT_MAX = 65535
# A Docker image reference: [host[:port]/]path[:tag][@digest] (distribution/reference).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9-]+)*(?::[0-9]+)?/)"
_TAG = r"[\w][\w.-]{0,127}"
IMAGE_NAME = re.compile(rf"^{_HOST}?{_COMPONENT}(?:/{_COMPONENT})*$")
IMAGE_TAG = re.compile(rf"^{_TAG}$")
IMAGE_REF = re.compile(rf"^{_HOST}?{_COMPONENT}(?:/{_COMPONENT})*(?::{_TAG})?"
                       r"(?:@sha256:[0-9a-f]{64})?$")
DOCKER_SIZE = re.compile(r"^[0-9]+[bkmgBKMG]?$")
FILE_MODE = re.compile(r"^0?[0-7]{3}$")
ROCM_RELEASE = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")

# The benchmark's variables by perf_analyzer option, for _perf_run's messages.
BENCHMARK_NAMES = {
    "concurrency_range": "benchmark_concurrency_range",
    "request_rate_range": "benchmark_request_rate_range",
    "batch_size": "benchmark_batch_sizes",
    "measurement_interval": "benchmark_measurement_interval_ms",
    "measurement_request_count": "benchmark_measurement_request_count",
    "stability_percentage": "benchmark_stability_percentage",
    "max_trials": "benchmark_max_trials", "percentile": "benchmark_percentile",
    "extra_args": "benchmark_extra_args", "model": "benchmark_models",
    "model_version": "the model's version", "protocol": "benchmark_protocol",
    "url": "benchmark_server_address and the port",
    "measurement_mode": "benchmark_measurement_mode",
    "input_data": "benchmark_input_data", "verbose_csv": "benchmark_verbose_csv",
    "collect_metrics": "benchmark_collect_metrics", "metrics_url": "benchmark_metrics_port",
    "profile_export": "benchmark_profile_export", "shapes": "the model's input shapes",
}


def roles_for(playbook: str, switches: dict) -> list:
    """The roles ``playbook`` runs, given the switch variables the play sees."""
    if playbook not in PLAYBOOK_ROLES:
        raise ValueError(f"playbook: {playbook!r} is not one of {', '.join(PLAYBOOK_ROLES)}")
    roles = []
    for role in PLAYBOOK_ROLES[playbook]:
        switch, default = SWITCHES.get(role, (None, True))
        if playbook == "site" and switch and not _truthy(switches.get(switch, default)):
            continue
        roles.append(role)
    return roles


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


def spec_errors(role: str, options: dict, values: dict) -> tuple[dict, list]:
    """One role's argument spec against ``values`` -> (the values as the spec converts them,
    the errors), as Ansible's own role validation words them."""
    provided = {name: values[name] for name in options if name in values}
    result = ArgumentSpecValidator(options).validate(provided, validate_role_argument_spec=True)
    errors = [f"{message} (role {role})" for message in result.error_messages]
    return result.validated_parameters, errors


def _describe(value) -> str:
    return repr(str(value)) if isinstance(value, str) else repr(value)


def _host_paths(v: dict) -> list:
    errors = []
    for name in HOST_PATHS:
        value = v.get(name)
        if isinstance(value, str) and not value.startswith("/"):
            errors.append(f"{name}: {_describe(value)} is not an absolute path; give the host "
                          "path from /")
    for name in HOST_PATH_LISTS:
        for value in v.get(name) or []:
            if not str(value).startswith("/"):
                errors.append(f"{name}: {_describe(value)} is not an absolute path; give the "
                              "host path from /")
    return errors


def _at_least(v: dict) -> list:
    errors = []
    for name, low, unit in AT_LEAST:
        value = v.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < low:
            errors.append(f"{name}: {value} is below {low}; give {low} or more ({unit})")
    return errors


def _server_ports(v: dict, rocm: dict | None) -> list:
    """The host ports every server of the host publishes: distinct and in range."""
    names = {"http": "triton_server_http_port", "grpc": "triton_server_grpc_port",
             "metrics": "triton_server_metrics_port"}
    base = {key: v.get(name) for key, name in names.items()}
    if not all(isinstance(port, int) for port in base.values()):
        return []
    errors = [f"{names[key]}: {port} is not a port; use 1-{PORT_MAX}"
              for key, port in base.items() if not 1 <= port <= PORT_MAX]
    count, step = 1, v.get("triton_server_port_step") or 0
    if v.get("triton_server_gpu_mode") == "per_gpu":
        gpus = v.get("triton_server_gpu_indices") or [
            g.get("index") for g in (rocm or {}).get("gpus") or []]
        count = max(len(gpus), 1)
        if count > 1 and step < 1:
            return [f"triton_server_port_step: {step} gives the {count} per-GPU servers the "
                    "same ports; use a step of 3 or more"]
    owner = {}
    for position in range(count):
        for key, port in base.items():
            port += position * step
            what = names[key] if position == 0 else \
                f"{names[key]} + {position} x triton_server_port_step (server {position})"
            if not 1 <= port - position * step <= PORT_MAX:
                continue  # said above
            if port > PORT_MAX:
                errors.append(f"{what}: {port} is above {PORT_MAX}; lower the ports or "
                              "triton_server_port_step")
            elif port in owner:
                errors.append(f"{what}: {port} is also {owner[port]}; each server needs its "
                              "own HTTP, gRPC and metrics ports")
            else:
                owner[port] = what
    return errors


def triton_server_rules(v: dict, rocm: dict | None) -> list:
    errors = _server_ports(v, rocm)
    errors += _server_unit.extra_args_errors(v.get("triton_server_extra_args"))
    bind = v.get("triton_server_bind_address")
    if isinstance(bind, str) and bind:
        try:
            ipaddress.ip_address(bind)
        except ValueError:
            errors.append(f"triton_server_bind_address: {bind!r} is not an IP address; use "
                          "0.0.0.0 (every IPv4 address), :: or one of the host's addresses")
    shm = v.get("triton_server_shm_size")
    if isinstance(shm, str) and not DOCKER_SIZE.match(shm):
        errors.append(f"triton_server_shm_size: {shm!r} is not a size; use a number with b, k, "
                      "m or g, e.g. 1g")
    for model in v.get("triton_server_load_models") or []:
        if not str(model).strip():
            errors.append("triton_server_load_models: an empty name; give model names or '*'")
    return errors


def _paths_nest(inner: str, outer: str) -> bool:
    inner, outer = inner.rstrip("/") + "/", outer.rstrip("/") + "/"
    return inner.startswith(outer)


def model_repository_rules(v: dict, gpus: list) -> list:
    errors = []
    path, staging = v.get("model_repository_path"), v.get("model_repository_staging_dir")
    if isinstance(path, str) and isinstance(staging, str) and _paths_nest(staging, path):
        errors.append(f"model_repository_staging_dir {staging} is inside model_repository_path "
                      f"{path}, where Triton would take it for a model; put it outside (the "
                      "default is /var/lib/inferops-triton/staging)")
    for name in ("model_repository_owner", "model_repository_group"):
        if name in v and not str(v[name]).strip():
            errors.append(f"{name}: empty; name a user or group of the host (root by default)")
    models = v.get("triton_models")
    if isinstance(models, list):
        try:
            _model_config.render_model_configs(
                models, default_backend=v.get("model_repository_default_backend") or "",
                flavour=v.get("model_repository_flavour") or "rocm", gpus=gpus,
                repository_paths=[p for p in (path, "/models") if p])
        except _model_config.ModelConfigError as exc:
            errors += str(exc).splitlines()
    return errors


def _max_batch_sizes(models) -> dict:
    """Each model's ``max_batch_size`` as its entry declares it (none when it does not)."""
    sizes = {}
    for entry in models if isinstance(models, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
            size = config.get("max_batch_size")
            sizes[entry["name"]] = size if isinstance(size, int) else None
    return sizes


def benchmark_rules(v: dict) -> list:
    params = {
        "concurrency_range": v.get("benchmark_concurrency_range") or "",
        "request_rate_range": v.get("benchmark_request_rate_range") or "",
        "measurement_interval": v.get("benchmark_measurement_interval_ms", 1),
        "measurement_request_count": v.get("benchmark_measurement_request_count", 1),
        "stability_percentage": v.get("benchmark_stability_percentage", 1),
        "max_trials": v.get("benchmark_max_trials", 1),
        "percentile": v.get("benchmark_percentile"),
        "extra_args": v.get("benchmark_extra_args") or [],
    }
    if params["request_rate_range"]:
        # the role runs the request-rate range when it is set, and the concurrency range not
        params["concurrency_range"] = ""
    errors = _perf_run.problems(params, BENCHMARK_NAMES)
    stability = v.get("benchmark_stability_percentage")
    if isinstance(stability, int) and stability > 100:
        errors.append(f"benchmark_stability_percentage: {stability} is above 100")
    for name in ("benchmark_http_port", "benchmark_grpc_port", "benchmark_metrics_port"):
        port = v.get(name)
        if isinstance(port, int) and not 1 <= port <= PORT_MAX:
            errors.append(f"{name}: {port} is not a port; use 1-{PORT_MAX}")
    batch_sizes = [b for b in v.get("benchmark_batch_sizes") or [] if isinstance(b, int)]
    if "benchmark_batch_sizes" in v and not v.get("benchmark_batch_sizes"):
        errors.append("benchmark_batch_sizes: empty; give at least one batch size, e.g. [1]")
    for size in batch_sizes:
        if size < 1:
            errors.append(f"benchmark_batch_sizes: {size} is below 1; a batch holds 1 or more "
                          "requests")
    sizes = _max_batch_sizes(v.get("triton_models"))
    for model in v.get("benchmark_models") or []:
        if sizes and model not in sizes:
            errors.append(f"benchmark_models: {model!r} is not in triton_models; benchmark one "
                          f"of {', '.join(sorted(sizes))}")
            continue
        largest = sizes.get(model)
        if largest is None:
            continue
        # A model without batching (max_batch_size 0) takes batches of 1 only.
        over = [size for size in batch_sizes if size > max(largest, 1)]
        if over:
            errors.append(f"benchmark_batch_sizes: {over} exceed the max_batch_size {largest} "
                          f"of model {model!r}; perf_analyzer would refuse them (use sizes up "
                          f"to {max(largest, 1)}, or benchmark_models without {model!r})")
    return errors


def triton_image_rules(v: dict, defined: dict) -> list:
    errors = []
    name, tag = v.get("triton_image_name"), v.get("triton_image_tag")
    if isinstance(name, str) and not IMAGE_NAME.match(name):
        errors.append(f"triton_image_name: {name!r} is not an image repository name; use "
                      "lowercase letters, digits and separators (., _, -, /), optionally after "
                      "a registry host[:port]/, e.g. inferops/tritonserver")
    if isinstance(tag, str) and tag and not IMAGE_TAG.match(tag):
        errors.append(f"triton_image_tag: {tag!r} is not an image tag; use up to 128 letters, "
                      "digits, '_', '.' and '-', not starting with '.' or '-'")
    source = v.get("triton_image_source")
    if source == "load" and not v.get("triton_image_archive"):
        errors.append("triton_image_source is load, so triton_image_archive must name a docker "
                      "save archive on the controller")
    if source == "pull":
        ref = v.get("triton_image_pull_ref") or ""
        if not IMAGE_REF.match(ref):
            errors.append(f"triton_image_pull_ref: {ref!r} is not an image reference; "
                          "triton_image_source is pull, so give one, e.g. "
                          "rocm/tritoninferenceserver:<tag>")
    if source == "build":
        if not v.get("triton_image_source_url"):
            errors.append("triton_image_source is build, so triton_image_source_url must name "
                          "the git repository of AMD's Triton server")
        try:
            _triton_build.check_ref(v.get("triton_image_source_ref") or "")
        except _triton_build.BuildPlanError as exc:
            errors.append(str(exc))
        for check in (
                lambda: _triton_build.base_script(v.get("triton_image_linux_distro"),
                                                  v.get("triton_image_rocm_version")),
                lambda: _triton_build.build_py_args(
                    v.get("triton_image_linux_distro"),
                    v.get("triton_image_build_backends") or [],
                    v.get("triton_image_build_extra_args") or [])):
            try:
                check()
            except _triton_build.BuildPlanError as exc:
                errors.append(str(exc))
    if source == "cpu" and not v.get("triton_image_base_image"):
        errors.append("triton_image_base_image: empty; the CPU image is built FROM it "
                      "(debian:12 by default)")
    if v.get("triton_image_distribution") == "registry" and not v.get("triton_image_registry"):
        errors.append("triton_image_distribution is registry, so triton_image_registry must "
                      "name the fleet registry as host:port")
    for prefix in ("triton_image_registry", "triton_image_pull"):
        if bool(v.get(f"{prefix}_username")) != bool(v.get(f"{prefix}_password")):
            errors.append(f"{prefix}_username and {prefix}_password must be set together")
    errors += [f"{name} is set to {defined[name]!r}, but it was removed: {why}"
               for name, why in REMOVED.items() if name in defined]
    return errors


def rocm_rules(v: dict) -> list:
    errors = []
    version = v.get("rocm_version")
    if isinstance(version, str) and not ROCM_RELEASE.match(version):
        errors.append(f"rocm_version: {version!r} is not a ROCm release; use MAJOR.MINOR or "
                      "MAJOR.MINOR.PATCH, e.g. '7.2'")
    url = v.get("rocm_repo_base_url")
    if isinstance(url, str) and not re.match(r"^https?://[^/\s]+", url):
        errors.append(f"rocm_repo_base_url: {url!r} is not an http(s) URL; use "
                      "https://repo.radeon.com or a mirror of it")
    mode = v.get("rocm_udev_mode")
    if isinstance(mode, str) and not FILE_MODE.match(mode):
        errors.append(f"rocm_udev_mode: {mode!r} is not an octal file mode, e.g. '0660'")
    if v.get("rocm_dkms") is False and v.get("rocm_userspace") is False:
        errors.append("rocm_dkms and rocm_userspace are both false: there is nothing to "
                      "install; use rocm_enabled=false to leave ROCm out")
    return errors


def rollout_rules(v: dict) -> list:
    errors = []
    percent = v.get("rollout_max_fail_percentage")
    if isinstance(percent, (int, float)) and not 0 <= percent <= 100:
        errors.append(f"rollout_max_fail_percentage: {percent:g} is not a percentage; use 0-100")
    for name in ("rollout_drain_url", "rollout_restore_url"):
        url = v.get(name)
        if isinstance(url, str) and url and not re.match(r"^https?://[^/\s]+", url):
            errors.append(f"{name}: {url!r} is not an http(s) URL")
    return errors


def gpu_exporter_rules(v: dict) -> list:
    """The exporter's config.json against AMD's documented schema (its fields, labels and
    settings), as the role renders it."""
    try:
        _exporter.config(v.get("gpu_exporter_port", _exporter.DEFAULT_PORT),
                         v.get("gpu_exporter_fields"), v.get("gpu_exporter_labels"),
                         v.get("gpu_exporter_custom_labels"),
                         v.get("gpu_exporter_common_config"), v.get("gpu_exporter_gpu_config"))
    except _exporter.ExporterError as exc:
        return [str(exc)]
    return []


def prometheus_rules(v: dict) -> list:
    """Flags that Debian's unit passes split at white space, and the listen address."""
    errors = [f"prometheus_extra_args: {arg!r} holds white space; the unit splits ARGS at "
              "white space, so give each flag as one item without it (--flag=value)"
              for arg in v.get("prometheus_extra_args") or [] if re.search(r"\s", str(arg))]
    address = str(v.get("prometheus_listen_address", ""))
    if not re.fullmatch(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}", address) \
            or not 0 < int(address.rsplit(":", 1)[1]) < 65536:
        errors.append(f"prometheus_listen_address: {address!r} is not host:port "
                      "(e.g. 0.0.0.0:9090, or :9090 for every address)")
    return errors


def tune_rules(v: dict) -> list:
    """Tuning loads candidates through the repository API, which only explicit model control
    offers; the objective needs its bound."""
    errors = []
    mode = v.get("triton_server_model_control_mode", "none")
    if mode != "explicit":
        errors.append(f"triton_server_model_control_mode: {mode!r} on the canary; tuning loads "
                      "each candidate through Triton's repository API, which needs 'explicit' "
                      "(deploy the canary with triton_server_model_control_mode=explicit)")
    objective = v.get("tune_objective")
    for kind, name in (("throughput", "tune_latency_slo_ms"), ("latency", "tune_request_rate")):
        value = v.get(name)
        if objective == kind and isinstance(value, (int, float)) and value <= 0:
            errors.append(f"{name}: {value:g} with tune_objective={kind}; give a bound above 0")
    space = v.get("tune_space")
    if isinstance(space, dict) and space:
        try:
            _tune_search.check_space(space, {name: None for name in space})
            _tune_candidate.check_names(space)
        except ValueError as exc:
            errors.append(str(exc))
    candidates = v.get("tune_candidates")
    if v.get("tune_strategy") == "given":
        try:
            _tune_search.GivenSearch(candidates, {"kind": "throughput"})
            for candidate in candidates:
                _tune_candidate.check_names(candidate)
        except ValueError as exc:
            errors.append(f"{exc} (tune_strategy=given measures them)")
    return errors


def _placement(v: dict, rocm: dict | None) -> list:
    """The servers against the host's GPUs, the restricted APIs and the environment, as
    triton_service will render them."""
    settings = {name[len("triton_server_"):]: value for name, value in v.items()
                if name.startswith("triton_server_")}
    settings.update(name=settings.get("service_name", "triton-server"),
                    gpu_indices=settings.get("gpu_indices") or [])
    errors = []
    checks = [lambda: _server_unit.restricted_args(settings),
              lambda: _server_unit.render_env(settings.get("env") or {})]
    if settings.get("gpu_mode", "none") != "none":
        checks.insert(0, lambda: _server_placement.instances(settings, rocm))
    for check in checks:
        try:
            check()
        except _server_placement.ServiceError as exc:
            errors.append(str(exc))
        except KeyError:
            pass  # a setting the spec refused, said already
    return errors


def rules(roles: list, values: dict, rocm: dict | None, defined: dict) -> list:
    """The rules no argument spec can say, for the roles the playbook runs."""
    gpus = list(range(len((rocm or {}).get("gpus") or [])))
    errors = _host_paths(values) + _at_least(values)
    if "docker_engine" in roles and "docker_engine_packages" in values \
            and not values["docker_engine_packages"]:
        errors.append("docker_engine_packages: empty; name the packages of Docker Engine "
                      "(docker.io by default)")
    checks = {
        "rocm": lambda: rocm_rules(values),
        "triton_image": lambda: triton_image_rules(values, defined),
        "model_repository": lambda: model_repository_rules(values, gpus),
        "triton_server": lambda: triton_server_rules(values, rocm) + _placement(values, rocm),
        "benchmark": lambda: benchmark_rules(values),
        "gpu_exporter": lambda: gpu_exporter_rules(values),
        "prometheus": lambda: prometheus_rules(values),
        "rollout": lambda: rollout_rules(values),
        "tune": lambda: tune_rules(values),
    }
    for role in roles:
        if role in checks:
            errors += checks[role]()
    return errors


def check(specs: dict, values: dict, rocm: dict | None = None, defined=None) -> list:
    """Every problem of one host: ``specs`` is ``{role: argument spec options}`` for the roles
    the playbook runs, ``values`` the host's variables (templated), ``defined`` the removed
    variables the host still sets, with their values."""
    errors, converted, refused = [], dict(values), set()
    for role, options in specs.items():
        validated, role_errors = spec_errors(role, options, values)
        errors += role_errors
        converted.update(validated)
        # a value the spec refused is not handed to the rules, which would only trip on it
        refused.update(name for name in options
                       if any(f"'{name}'" in e or f" {name} " in e for e in role_errors))
    usable = {name: value for name, value in converted.items() if name not in refused}
    return errors + rules(list(specs), usable, rocm, dict(defined or {}))
