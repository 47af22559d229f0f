# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AMD's device metrics exporter on a GPU host: its ``config.json``, the apt source of its
Debian package, its systemd units, and the container's unit - the one home of what the
``gpu_exporter`` role writes and of the units the ``rocm`` role stops around a driver change.

Facts, from AMD's repository (ROCm/device-metrics-exporter, ``../shared/upstream``; the
conformance tests read them):

- the package ``amdgpu-exporter`` is in ``https://repo.radeon.com/device-metrics-exporter/apt/
  <version> <suite> main``, signed by the ROCm key (``signed-by=/etc/apt/keyrings/rocm.gpg``;
  docs/installation/deb-package.rst). AMD documents Ubuntu 22.04 and 24.04; Debian 12 takes
  the ``jammy`` build, as the ``rocm`` role does for ROCm (rocm/_repo_controller.suite_for);
- it ships ``amd-metrics-exporter.service`` (``Wants=``/``After=gpuagent.service``,
  ``ExecStart=/usr/local/bin/amd-metrics-exporter``) and ``gpuagent.service``
  (``/usr/local/bin/gpuagent -s /var/run/gpuagent.sock``), both reading
  ``EnvironmentFile=/usr/local/etc/metrics/gpuagent.conf`` (debian/usr/lib/systemd/system);
- the configuration file is ``/etc/metrics/config.json`` and the endpoint
  ``http://localhost:5000/metrics``, the port being config.json's ``ServerPort``; the
  documented way to have the packaged exporter read the file is ``ExecStart=
  /usr/local/bin/amd-metrics-exporter -amd-metrics-config /etc/metrics/config.json``
  (deb-package.rst, "Changing configuration config.json"), which the role sets in a drop-in
  rather than editing the packaged unit;
- both services are stopped, exporter first, before a driver unload or upgrade and started
  after (deb-package.rst, "Service Management for Driver and Partition Operations"; the
  container likewise, docs/installation/docker.md);
- the container: ``--device=/dev/dri --device=/dev/kfd -v /sys:/sys:ro -p 5000:5000
  -v ./config:/etc/metrics`` and ``--privileged`` (docs/configuration/docker.md, with
  ``/sys`` "required for inband-ras" and ``CAP_PERFMON`` for the profiler's ``gpu_prof_*``);
  the role runs it without ``--privileged`` (:func:`docker_args`, the role's README says
  what that costs);
- config.json (docs/configuration/configmap.md, example/config-gpu.json): ``ServerPort``,
  ``CommonConfig`` (``MetricsFieldPrefix``, ``HealthService``, ``Logging``,
  ``ProfilerConfig``, ``Debug``) and ``GPUConfig`` (``Fields``, ``Labels``,
  ``CustomLabels`` - at most 10, of the exporter's own labels only ``CLUSTER_NAME`` -,
  ``ExtraPodLabels``, ``HealthThresholds``, ``ProfilerMetrics``). The field names are those
  of docs/configuration/metricslist.md, which are exactly example/config-gpu.json's
  ``Fields``; the labels are the example's ``Labels``. Where AMD's docs and examples differ
  both spellings are accepted: ``Logging.MaxSizeMB`` (docs) and ``MaxFileSizeMB`` (every
  example), ``ProfilerConfig`` under ``CommonConfig`` (docs) and under ``GPUConfig``
  (example).

Controller only: the role's filters call it with the host's facts.
"""

from __future__ import annotations

import difflib
import json
import re

from ansible_collections.inferops.triton.plugins.module_utils.monitoring._exporter import (
    DEFAULT_PORT,
    UNITS,
)
from ansible_collections.inferops.triton.plugins.module_utils.rocm._repo_controller import (
    RocmRepoError,
    apt_lists,
    source_stanza,
    suite_for,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._placement import (
    ServiceError,
    gpu_access,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._unit import (
    _exec as exec_lines,
)

METHODS = ("package", "container")
PACKAGE = "amdgpu-exporter"
# What the package's units run besides its own files: ExecStop=/bin/kill (procps), which its
# control file does not depend on and a minimal Debian 12 lacks - there a stop ends "failed"
# (seen on the lab's Debian 12 node).
PACKAGES = (PACKAGE, "procps")
DEFAULT_VERSION = "1.5.2"
CONFIG_PATH = "/etc/metrics/config.json"
EXPORTER_BIN = "/usr/local/bin/amd-metrics-exporter"
SOURCES_PATH = "/etc/apt/sources.list.d/amdgpu-exporter.sources"
DROPIN_PATH = "/etc/systemd/system/amd-metrics-exporter.service.d/inferops-config.conf"
CONTAINER_NAME = "device-metrics-exporter"
CONTAINER_CONFIG_DIR = "/etc/inferops-triton/device-metrics-exporter"
UNIT_DIR = "/etc/systemd/system"

FIELDS = (
    "GPU_NODES_TOTAL", "GPU_PACKAGE_POWER", "GPU_AVERAGE_PACKAGE_POWER", "GPU_EDGE_TEMPERATURE",
    "GPU_JUNCTION_TEMPERATURE", "GPU_MEMORY_TEMPERATURE", "GPU_HBM_TEMPERATURE",
    "GPU_GFX_ACTIVITY", "GPU_UMC_ACTIVITY", "GPU_MMA_ACTIVITY", "GPU_VCN_ACTIVITY",
    "GPU_JPEG_ACTIVITY", "GPU_VOLTAGE", "GPU_GFX_VOLTAGE", "GPU_MEMORY_VOLTAGE", "PCIE_SPEED",
    "PCIE_MAX_SPEED", "PCIE_BANDWIDTH", "GPU_ENERGY_CONSUMED", "PCIE_REPLAY_COUNT",
    "PCIE_RECOVERY_COUNT", "PCIE_REPLAY_ROLLOVER_COUNT", "PCIE_NACK_SENT_COUNT",
    "PCIE_NACK_RECEIVED_COUNT", "GPU_CLOCK", "GPU_POWER_USAGE", "GPU_VRAM_MAX_BANDWIDTH",
    "GPU_TOTAL_VRAM", "GPU_ECC_CORRECT_TOTAL", "GPU_ECC_UNCORRECT_TOTAL",
    "GPU_ECC_CORRECT_SDMA", "GPU_ECC_UNCORRECT_SDMA", "GPU_ECC_CORRECT_GFX",
    "GPU_ECC_UNCORRECT_GFX", "GPU_ECC_CORRECT_MMHUB", "GPU_ECC_UNCORRECT_MMHUB",
    "GPU_ECC_CORRECT_ATHUB", "GPU_ECC_UNCORRECT_ATHUB", "GPU_ECC_CORRECT_BIF",
    "GPU_ECC_UNCORRECT_BIF", "GPU_ECC_CORRECT_HDP", "GPU_ECC_UNCORRECT_HDP",
    "GPU_ECC_CORRECT_XGMI_WAFL", "GPU_ECC_UNCORRECT_XGMI_WAFL", "GPU_ECC_CORRECT_DF",
    "GPU_ECC_UNCORRECT_DF", "GPU_ECC_CORRECT_SMN", "GPU_ECC_UNCORRECT_SMN",
    "GPU_ECC_CORRECT_SEM", "GPU_ECC_UNCORRECT_SEM", "GPU_ECC_CORRECT_MP0",
    "GPU_ECC_UNCORRECT_MP0", "GPU_ECC_CORRECT_MP1", "GPU_ECC_UNCORRECT_MP1",
    "GPU_ECC_CORRECT_FUSE", "GPU_ECC_UNCORRECT_FUSE", "GPU_ECC_CORRECT_UMC",
    "GPU_ECC_UNCORRECT_UMC", "GPU_XGMI_NBR_0_NOP_TX", "GPU_XGMI_NBR_0_REQ_TX",
    "GPU_XGMI_NBR_0_RESP_TX", "GPU_XGMI_NBR_0_BEATS_TX", "GPU_XGMI_NBR_1_NOP_TX",
    "GPU_XGMI_NBR_1_REQ_TX", "GPU_XGMI_NBR_1_RESP_TX", "GPU_XGMI_NBR_1_BEATS_TX",
    "GPU_XGMI_NBR_0_TX_THRPUT", "GPU_XGMI_NBR_1_TX_THRPUT", "GPU_XGMI_NBR_2_TX_THRPUT",
    "GPU_XGMI_NBR_3_TX_THRPUT", "GPU_XGMI_NBR_4_TX_THRPUT", "GPU_XGMI_NBR_5_TX_THRPUT",
    "GPU_USED_VRAM", "GPU_FREE_VRAM", "GPU_TOTAL_VISIBLE_VRAM", "GPU_USED_VISIBLE_VRAM",
    "GPU_FREE_VISIBLE_VRAM", "GPU_TOTAL_GTT", "GPU_USED_GTT", "GPU_FREE_GTT",
    "GPU_ECC_CORRECT_MCA", "GPU_ECC_UNCORRECT_MCA", "GPU_ECC_CORRECT_VCN",
    "GPU_ECC_UNCORRECT_VCN", "GPU_ECC_CORRECT_JPEG", "GPU_ECC_UNCORRECT_JPEG",
    "GPU_ECC_CORRECT_IH", "GPU_ECC_UNCORRECT_IH", "GPU_ECC_CORRECT_MPIO",
    "GPU_ECC_UNCORRECT_MPIO", "GPU_ECC_DEFERRED_TOTAL", "GPU_ECC_DEFERRED_SDMA",
    "GPU_ECC_DEFERRED_GFX", "GPU_ECC_DEFERRED_MMHUB", "GPU_ECC_DEFERRED_ATHUB",
    "GPU_ECC_DEFERRED_BIF", "GPU_ECC_DEFERRED_HDP", "GPU_ECC_DEFERRED_XGMI_WAFL",
    "GPU_ECC_DEFERRED_DF", "GPU_ECC_DEFERRED_SMN", "GPU_ECC_DEFERRED_SEM",
    "GPU_ECC_DEFERRED_MP0", "GPU_ECC_DEFERRED_MP1", "GPU_ECC_DEFERRED_FUSE",
    "GPU_ECC_DEFERRED_UMC", "GPU_ECC_DEFERRED_MCA", "GPU_ECC_DEFERRED_VCN",
    "GPU_ECC_DEFERRED_JPEG", "GPU_ECC_DEFERRED_IH", "GPU_ECC_DEFERRED_MPIO", "GPU_HEALTH",
    "GPU_XGMI_LINK_RX", "GPU_XGMI_LINK_TX", "GPU_VIOLATION_CURRENT_ACCUMULATED_COUNTER",
    "GPU_VIOLATION_PROCESSOR_HOT_RESIDENCY_ACCUMULATED",
    "GPU_VIOLATION_PPT_RESIDENCY_ACCUMULATED",
    "GPU_VIOLATION_SOCKET_THERMAL_RESIDENCY_ACCUMULATED",
    "GPU_VIOLATION_VR_THERMAL_RESIDENCY_ACCUMULATED",
    "GPU_VIOLATION_HBM_THERMAL_RESIDENCY_ACCUMULATED", "GPU_GFX_BUSY_INSTANTANEOUS",
    "GPU_VCN_BUSY_INSTANTANEOUS", "GPU_JPEG_BUSY_INSTANTANEOUS", "GPU_PROF_GRBM_GUI_ACTIVE",
    "GPU_PROF_SQ_WAVES", "GPU_PROF_GRBM_COUNT", "GPU_PROF_CPC_CPC_STAT_BUSY",
    "GPU_PROF_CPC_CPC_STAT_IDLE", "GPU_PROF_CPC_CPC_STAT_STALL", "GPU_PROF_CPC_CPC_TCIU_BUSY",
    "GPU_PROF_CPC_CPC_TCIU_IDLE", "GPU_PROF_CPC_CPC_UTCL2IU_BUSY",
    "GPU_PROF_CPC_CPC_UTCL2IU_IDLE", "GPU_PROF_CPC_CPC_UTCL2IU_STALL",
    "GPU_PROF_CPC_ME1_BUSY_FOR_PACKET_DECODE", "GPU_PROF_CPC_ME1_DC0_SPI_BUSY",
    "GPU_PROF_CPC_UTCL1_STALL_ON_TRANSLATION", "GPU_PROF_CPC_ALWAYS_COUNT",
    "GPU_PROF_CPC_ADC_VALID_CHUNK_NOT_AVAIL", "GPU_PROF_CPC_ADC_DISPATCH_ALLOC_DONE",
    "GPU_PROF_CPC_ADC_VALID_CHUNK_END", "GPU_PROF_CPC_SYNC_FIFO_FULL_LEVEL",
    "GPU_PROF_CPC_SYNC_FIFO_FULL", "GPU_PROF_CPC_GD_BUSY", "GPU_PROF_CPC_TG_SEND",
    "GPU_PROF_CPC_WALK_NEXT_CHUNK", "GPU_PROF_CPC_STALLED_BY_SE0_SPI",
    "GPU_PROF_CPC_STALLED_BY_SE1_SPI", "GPU_PROF_CPC_STALLED_BY_SE2_SPI",
    "GPU_PROF_CPC_STALLED_BY_SE3_SPI", "GPU_PROF_CPC_LTE_ALL",
    "GPU_PROF_CPC_SYNC_WRREQ_FIFO_BUSY", "GPU_PROF_CPC_CANE_BUSY", "GPU_PROF_CPC_CANE_STALL",
    "GPU_PROF_CPF_CMP_UTCL1_STALL_ON_TRANSLATION", "GPU_PROF_CPF_CPF_STAT_BUSY",
    "GPU_PROF_CPF_CPF_STAT_IDLE", "GPU_PROF_CPF_CPF_STAT_STALL", "GPU_PROF_CPF_CPF_TCIU_BUSY",
    "GPU_PROF_CPF_CPF_TCIU_IDLE", "GPU_PROF_CPF_CPF_TCIU_STALL", "GPU_PROF_FETCH_SIZE",
    "GPU_PROF_WRITE_SIZE", "GPU_PROF_TOTAL_16_OPS", "GPU_PROF_TOTAL_32_OPS",
    "GPU_PROF_TOTAL_64_OPS", "GPU_PROF_GUI_UTIL_PERCENT", "GPU_PROF_OCCUPANCY_PERCENT",
    "GPU_PROF_TENSOR_ACTIVE_PERCENT", "GPU_PROF_VALU_PIPE_ISSUE_UTIL", "GPU_PROF_SM_ACTIVE",
    "GPU_PROF_OCCUPANCY_ELAPSED", "GPU_PROF_OCCUPANCY_PER_ACTIVE_CU",
    "GPU_PROF_OCCUPANCY_PER_CU", "GPU_PROF_SIMD_UTILIZATION", "PCIE_RX", "PCIE_TX",
    "PCIE_BIDIRECTIONAL_BANDWIDTH", "GPU_AFID_ERRORS", "GPU_MIN_CLOCK", "GPU_MAX_CLOCK",
    "GPU_VIOLATION_PROCESSOR_HOT_RESIDENCY_PERCENTAGE",
    "GPU_VIOLATION_PPT_RESIDENCY_PERCENTAGE",
    "GPU_VIOLATION_SOCKET_THERMAL_RESIDENCY_PERCENTAGE",
    "GPU_VIOLATION_VR_THERMAL_RESIDENCY_PERCENTAGE",
    "GPU_VIOLATION_HBM_THERMAL_RESIDENCY_PERCENTAGE",
    "GPU_VIOLATION_GFX_CLOCK_BELOW_HOST_LIMIT_POWER_ACCUMULATED",
    "GPU_VIOLATION_GFX_CLOCK_BELOW_HOST_LIMIT_THERMAL_ACCUMULATED",
    "GPU_VIOLATION_LOW_UTILIZATION_ACCUMULATED",
    "GPU_VIOLATION_GFX_CLOCK_BELOW_HOST_LIMIT_TOTAL_ACCUMULATED",
    "GPU_VIOLATION_GFX_CLOCK_BELOW_HOST_LIMIT_POWER_PERCENTAGE",
    "GPU_VIOLATION_GFX_CLOCK_BELOW_HOST_LIMIT_THERMAL_PERCENTAGE",
    "GPU_VIOLATION_LOW_UTILIZATION_PERCENTAGE",
    "GPU_VIOLATION_GFX_CLOCK_BELOW_HOST_LIMIT_TOTAL_PERCENTAGE", "GPU_PROCESS_CU_OCCUPANCY",
)
# example/config-gpu.json's Labels: every label the exporter knows.
LABELS = (
    "GPU_UUID", "SERIAL_NUMBER", "GPU_ID", "POD", "POD_UUID", "NAMESPACE", "CONTAINER",
    "JOB_ID", "JOB_USER", "JOB_PARTITION", "CLUSTER_NAME", "CARD_SERIES", "CARD_MODEL",
    "CARD_VENDOR", "DRIVER_VERSION", "VBIOS_VERSION", "HOSTNAME", "GPU_PARTITION_ID",
    "GPU_COMPUTE_PARTITION_TYPE", "GPU_MEMORY_PARTITION_TYPE", "KFD_PROCESS_ID",
    "DEPLOYMENT_MODE",
)
# configmap.md: "always set and cannot be removed".
MANDATORY_LABELS = (
    "SERIAL_NUMBER", "GPU_ID", "POD", "NAMESPACE", "CONTAINER", "JOB_ID", "JOB_USER",
    "JOB_PARTITION", "CARD_MODEL", "HOSTNAME", "GPU_PARTITION_ID",
    "GPU_COMPUTE_PARTITION_TYPE", "GPU_MEMORY_PARTITION_TYPE", "DEPLOYMENT_MODE",
)
CUSTOM_LABELS_MAX = 10
CUSTOM_FROM_LABELS = ("CLUSTER_NAME",)
LOG_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")
# Go durations (HealthService.PollingRate also takes days: "1d", configmap.md).
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d))+$")
_PROM_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROM_PREFIX = re.compile(r"^(?:[A-Za-z_:][A-Za-z0-9_:]*)?$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


class ExporterError(ValueError):
    """A setting AMD's exporter does not take; the message names the variable, the value and
    what is valid."""


def _is_int(value, low=0):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_bool(value):
    return isinstance(value, bool)


def _is_duration(value):
    return isinstance(value, str) and bool(_DURATION.match(value))


# CommonConfig: key -> (check, what is valid), or a nested table of the same.
_COMMON = {
    "MetricsFieldPrefix": (lambda v: isinstance(v, str) and bool(_PROM_PREFIX.match(v)),
                           "a Prometheus metric name prefix ('' or like 'amd_')"),
    "HealthService": {
        "Enable": (_is_bool, "true or false"),
        "PollingRate": (_is_duration, "a duration from 30s to 24h, like '30s' or '1h'"),
    },
    "Logging": {
        "Level": (lambda v: isinstance(v, str) and v.upper() in LOG_LEVELS,
                  "one of " + ", ".join(LOG_LEVELS) + " (any case)"),
        "MaxSizeMB": (lambda v: _is_int(v, 1), "a number of megabytes, at least 1"),
        "MaxFileSizeMB": (lambda v: _is_int(v, 1), "a number of megabytes, at least 1"),
        "MaxBackups": (_is_int, "a number, 0 or more"),
        "MaxAgeDays": (_is_int, "a number of days, 0 or more"),
        "LogRotationDisable": (_is_bool, "true or false"),
    },
    "ProfilerConfig": {
        "SamplingInterval": (lambda v: _is_int(v, 1000), "microseconds, at least 1000"),
        "PtlDelay": (_is_int, "milliseconds, 0 or more"),
    },
    "Debug": {
        "EnableAPI": (_is_bool, "true or false"),
    },
}
HEALTH_THRESHOLDS = tuple(f for f in FIELDS if f.startswith("GPU_ECC_UNCORRECT_")
                          and f != "GPU_ECC_UNCORRECT_TOTAL")


def _unknown(variable, key, known):
    close = difflib.get_close_matches(str(key), list(known), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return ExporterError(f"{variable}: {key!r} is not a key AMD's exporter reads{hint} "
                         f"(valid: {', '.join(known)})")


def _check_table(variable, value, schema):
    if not isinstance(value, dict):
        raise ExporterError(f"{variable}: {value!r} is not a mapping (valid keys: "
                            f"{', '.join(schema)})")
    for key, item in value.items():
        if key not in schema:
            raise _unknown(variable, key, schema)
        rule = schema[key]
        if isinstance(rule, dict):
            _check_table(f"{variable}.{key}", item, rule)
            continue
        check, valid = rule
        if not check(item):
            raise ExporterError(f"{variable}.{key}: {item!r} is not valid; use {valid}")


def _names(variable, values, known, what):
    if not isinstance(values, (list, tuple)):
        raise ExporterError(f"{variable}: {values!r} is not a list of {what}")
    seen = set()
    for value in values:
        if value not in known:
            close = difflib.get_close_matches(str(value), list(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ExporterError(f"{variable}: {value!r} is not one of AMD's exporter {what} "
                                f"(docs/configuration/metricslist.md, example/config.json)"
                                f"{hint}")
        if value in seen:
            raise ExporterError(f"{variable}: {value!r} is listed twice")
        seen.add(value)
    return list(values)


def _custom_labels(labels):
    variable = "gpu_exporter_custom_labels"
    if not isinstance(labels, dict):
        raise ExporterError(f"{variable}: {labels!r} is not a mapping of label to value")
    if len(labels) > CUSTOM_LABELS_MAX:
        raise ExporterError(f"{variable}: {len(labels)} labels; AMD's exporter takes at most "
                            f"{CUSTOM_LABELS_MAX}")
    for key, value in labels.items():
        if not _PROM_LABEL.match(str(key)):
            raise ExporterError(f"{variable}: {key!r} is not a Prometheus label name "
                                "(letters, digits and '_', not starting with a digit)")
        if key in LABELS and key not in CUSTOM_FROM_LABELS:
            raise ExporterError(f"{variable}: {key!r} is one of the exporter's own labels; of "
                                f"those only {', '.join(CUSTOM_FROM_LABELS)} may be set here")
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ExporterError(f"{variable}.{key}: {value!r} is not a string")
    return {str(k): str(v) for k, v in labels.items()}


def _gpu_extra(gpu):
    variable = "gpu_exporter_gpu_config"
    if not isinstance(gpu, dict):
        raise ExporterError(f"{variable}: {gpu!r} is not a mapping")
    known = ("HealthThresholds", "ProfilerMetrics", "ExtraPodLabels", "ProfilerConfig")
    for key, value in gpu.items():
        if key in ("Fields", "Labels", "CustomLabels"):
            raise ExporterError(f"{variable}: set {key} with gpu_exporter_"
                                f"{'custom_labels' if key == 'CustomLabels' else key.lower()}")
        if key not in known:
            raise _unknown(variable, key, known)
        where = f"{variable}.{key}"
        if key == "HealthThresholds":
            schema = {name: (_is_int, "an error count, 0 or more") for name in HEALTH_THRESHOLDS}
            schema["GPU_CPER_MAX_AGE"] = (lambda v: v in ("", "0") or _is_duration(v),
                                          "a duration like '1h', '0' or ''")
            _check_table(where, value, schema)
        elif key == "ProfilerConfig":
            _check_table(where, value, _COMMON["ProfilerConfig"])
        elif key == "ProfilerMetrics":
            if not isinstance(value, dict) or not all(
                    isinstance(k, str) and _is_bool(v) for k, v in value.items()):
                raise ExporterError(f"{where}: {value!r} is not a mapping of 'all' or a host "
                                    "name to true or false")
        elif not isinstance(value, dict) or not all(
                _PROM_LABEL.match(str(k)) and isinstance(v, str) for k, v in value.items()):
            raise ExporterError(f"{where}: {value!r} is not a mapping of Prometheus label "
                                "name to Kubernetes pod label")
    return dict(gpu)


def port_of(port, variable="gpu_exporter_port"):
    if not _is_int(port, 1) or port > 65535:
        raise ExporterError(f"{variable}: {port!r} is not a TCP port (1-65535)")
    return port


def config(port=DEFAULT_PORT, fields=(), labels=(), custom_labels=None, common=None,
           gpu=None):
    """config.json as a dict, in AMD's key order (ServerPort, CommonConfig, GPUConfig);
    ``fields`` empty exports every field (AMD's default). Raises ExporterError."""
    common = dict(common or {})
    _check_table("gpu_exporter_common_config", common, _COMMON)
    gpu_config = {"Fields": _names("gpu_exporter_fields", fields or [], FIELDS, "fields"),
                  "Labels": _names("gpu_exporter_labels", labels or [], LABELS, "labels")}
    custom = _custom_labels(custom_labels or {})
    if custom:
        gpu_config["CustomLabels"] = custom
    gpu_config.update(_gpu_extra(gpu or {}))
    result = {"ServerPort": port_of(port)}
    if common:
        result["CommonConfig"] = common
    result["GPUConfig"] = gpu_config
    return result


def config_text(cfg):
    """The file: two-space indented JSON, as AMD's examples are, and a final newline."""
    return json.dumps(cfg, indent=2, ensure_ascii=False) + "\n"


def profiler_enabled(cfg):
    """Whether config.json turns the profiler's gpu_prof_* metrics on for any host."""
    return any((cfg.get("GPUConfig", {}).get("ProfilerMetrics") or {}).values())


def repository(version, distribution, distribution_version, base_url, keyring,
               architectures=("amd64",)):
    """The apt source of the exporter's package: ``{"files": {path: content}, "uri",
    "suite", "apt_lists"}``, in the rocm role's deb822 form."""
    if not _VERSION.match(str(version or "")):
        raise ExporterError(f"gpu_exporter_version: {version!r} is not a release of AMD's "
                            f"exporter, like '{DEFAULT_VERSION}'")
    if not re.match(r"^https?://[^/\s]+", str(base_url or "")):
        raise ExporterError(f"gpu_exporter_repo_base_url: {base_url!r} is not an http(s) URL")
    try:
        suite = suite_for(distribution, distribution_version)
    except RocmRepoError as exc:
        raise ExporterError(str(exc).replace("the rocm role", "the gpu_exporter role")) \
            from None
    uri = f"{str(base_url).rstrip('/')}/device-metrics-exporter/apt/{version}"
    content = ("# Managed by inferops.triton (role gpu_exporter)\n"
               + source_stanza(f"AMD device metrics exporter {version} for {distribution} "
                               f"{distribution_version}", uri, suite, keyring, architectures))
    return {"files": {SOURCES_PATH: content}, "uri": uri, "suite": suite,
            "apt_lists": apt_lists([uri], suite)}


def dropin(config_path=CONFIG_PATH):
    """The packaged unit's drop-in: AMD's documented ExecStart that reads config.json."""
    return ("# Managed by inferops.triton (role gpu_exporter): the packaged exporter reads\n"
            "# config.json, as AMD's deb-package.rst says to make it.\n"
            "[Service]\n"
            "ExecStart=\n"
            f"ExecStart={EXPORTER_BIN} -amd-metrics-config {config_path}\n")


def docker_args(settings, rocm, cfg):
    """``docker run``'s options: the GPUs' device nodes (``/dev/kfd`` and every render node,
    not all of ``/dev/dri``), the ``render`` and ``video`` groups, ``/sys`` read-only, the
    configuration directory read-only at ``/etc/metrics``, the port; ``CAP_PERFMON`` only
    when config.json turns profiler metrics on. Never ``--privileged``."""
    try:
        gpus, groups = gpu_access(rocm, "gpu_exporter_method: 'container'",
                                  "use gpu_exporter_enabled=false on hosts without GPUs, or ")
    except ServiceError as exc:
        raise ExporterError(str(exc)) from None
    args = ["--rm", "--name", CONTAINER_NAME, "--device", "/dev/kfd"]
    for gpu in gpus:
        args += ["--device", gpu["render_node"]]
    for gid in groups:
        args += ["--group-add", str(gid)]
    args += ["--security-opt", "no-new-privileges"]
    if profiler_enabled(cfg):
        args += ["--cap-add", "PERFMON"]
    port = cfg["ServerPort"]
    bind = settings.get("bind_address") or "0.0.0.0"
    args += ["--volume", "/sys:/sys:ro",
             "--volume", f"{CONTAINER_CONFIG_DIR}:/etc/metrics:ro",
             "--publish", f"{bind}:{port}:{port}"]
    return args


def container_unit(settings, rocm, cfg):
    """The systemd unit that runs the exporter's container, like the Triton server's."""
    image = str(settings.get("image") or "")
    if not image or re.search(r"\s", image):
        raise ExporterError(f"gpu_exporter_image: {image!r} is not an image reference")
    run = ["/usr/bin/docker", "run", *docker_args(settings, rocm, cfg), image]
    stop = int(settings.get("stop_timeout") or 30)
    return "\n".join([
        "# Managed by inferops.triton (role gpu_exporter); changes here are overwritten.",
        "[Unit]",
        "Description=AMD device metrics exporter (container)",
        "Documentation=https://github.com/ROCm/device-metrics-exporter",
        "After=docker.service network-online.target",
        "Requires=docker.service",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStartPre=-/usr/bin/docker rm --force {CONTAINER_NAME}",
        "ExecStart=" + exec_lines(run),
        f"ExecStop=/usr/bin/docker stop --time {stop} {CONTAINER_NAME}",
        "Restart=on-failure",
        "RestartSec=10s",
        f"TimeoutStopSec={stop + 30}",
        "StandardOutput=journal",
        "StandardError=journal",
        f"SyslogIdentifier={CONTAINER_NAME}",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])


def units(methods=METHODS):
    """The units of the given methods, in the order they are stopped before a driver
    change."""
    if isinstance(methods, str):
        methods = [methods]
    out = []
    for method in methods:
        if method not in UNITS:
            raise ExporterError(f"gpu_exporter_method: {method!r} is not one of "
                                f"{', '.join(METHODS)}")
        out += UNITS[method]
    return out


def plan(settings, facts):
    """Everything the role writes and runs on one host for ``settings`` (the role's
    variables without their prefix) and ``facts`` (the host's ansible_facts, with
    ``rocm`` for the container): ``files`` ({path: content}, mode 0644), ``dirs``,
    ``config`` (the dict), ``units`` (to enable and start, in start order), ``unit`` (the one
    restarted when a file changes), ``packages`` and ``repository`` (package method)."""
    method = settings.get("method")
    if method not in METHODS:
        raise ExporterError(f"gpu_exporter_method: {method!r} is not one of "
                            f"{', '.join(METHODS)}")
    cfg = config(settings.get("port", DEFAULT_PORT), settings.get("fields"),
                 settings.get("labels"), settings.get("custom_labels"),
                 settings.get("common_config"), settings.get("gpu_config"))
    text = config_text(cfg)
    if method == "package":
        repo = repository(settings.get("version") or DEFAULT_VERSION,
                          facts.get("distribution"), facts.get("distribution_version"),
                          settings.get("repo_base_url"), settings.get("keyring"))
        files = {CONFIG_PATH: text, DROPIN_PATH: dropin()}
        return {"method": method, "config": cfg, "files": files,
                "dirs": sorted({path.rsplit("/", 1)[0] for path in files}),
                "units": list(reversed(UNITS[method])), "unit": UNITS[method][0],
                "packages": list(PACKAGES), "repository": repo, "port": cfg["ServerPort"]}
    unit_file = f"{UNIT_DIR}/{UNITS[method][0]}"
    files = {f"{CONTAINER_CONFIG_DIR}/config.json": text,
             unit_file: container_unit(settings, facts.get("rocm"), cfg)}
    return {"method": method, "config": cfg, "files": files, "dirs": [CONTAINER_CONFIG_DIR],
            "units": list(UNITS[method]), "unit": UNITS[method][0], "packages": [],
            "repository": None, "port": cfg["ServerPort"]}
