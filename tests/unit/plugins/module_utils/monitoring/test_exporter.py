"""AMD's device metrics exporter as the gpu_exporter role writes and runs it
(module_utils/monitoring/_exporter_controller.py): config.json, the package's apt source and
drop-in, the container's unit and docker options, the units the rocm role stops."""

import json
import shutil
import subprocess

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.monitoring import (
    _exporter_controller as exporter,
)
from ansible_collections.inferops.triton.plugins.module_utils.rocm._repo_controller import (
    parse_deb822,
)

DEBIAN = {"distribution": "Debian", "distribution_version": "12.15"}
UBUNTU = {"distribution": "Ubuntu", "distribution_version": "24.04"}
# rocm_facts' shape for a host with two GPUs (module_utils/rocm/_facts.py).
ROCM = {"gpus": [{"index": 0, "render_node": "/dev/dri/renderD128"},
                 {"index": 1, "render_node": "/dev/dri/renderD129"}],
        "kfd_device": "/dev/kfd", "render_gid": 993, "video_gid": 44}
PACKAGE = {"method": "package", "port": 5000, "repo_base_url": "https://repo.radeon.com",
           "keyring": "/etc/apt/keyrings/rocm.gpg"}
CONTAINER = {"method": "container", "port": 5000, "image": "rocm/device-metrics-exporter:v1.5.2"}


def test_the_default_config_is_the_port_and_amd_s_defaults():
    assert exporter.config() == {"ServerPort": 5000, "GPUConfig": {"Fields": [], "Labels": []}}
    assert json.loads(exporter.config_text(exporter.config())) == exporter.config()


def test_fields_labels_and_custom_labels_go_where_amd_s_schema_has_them():
    cfg = exporter.config(9400, ["GPU_PACKAGE_POWER", "GPU_GFX_ACTIVITY"], ["GPU_UUID"],
                          {"CLUSTER_NAME": "lab", "service": "triton"},
                          {"MetricsFieldPrefix": "amd_", "Logging": {"Level": "info"}},
                          {"HealthThresholds": {"GPU_ECC_UNCORRECT_UMC": 2}})
    assert list(cfg) == ["ServerPort", "CommonConfig", "GPUConfig"]
    assert cfg["ServerPort"] == 9400
    assert cfg["GPUConfig"] == {
        "Fields": ["GPU_PACKAGE_POWER", "GPU_GFX_ACTIVITY"], "Labels": ["GPU_UUID"],
        "CustomLabels": {"CLUSTER_NAME": "lab", "service": "triton"},
        "HealthThresholds": {"GPU_ECC_UNCORRECT_UMC": 2}}


@pytest.mark.parametrize("kwargs, message", [
    ({"fields": ["GPU_PACKAGE_POWR"]},
     "gpu_exporter_fields: 'GPU_PACKAGE_POWR' is not one of AMD's exporter fields"),
    ({"fields": ["GPU_PACKAGE_POWR"]}, "did you mean GPU_PACKAGE_POWER?"),
    ({"fields": ["GPU_CLOCK", "GPU_CLOCK"]}, "gpu_exporter_fields: 'GPU_CLOCK' is listed twice"),
    ({"fields": "GPU_CLOCK"}, "gpu_exporter_fields: 'GPU_CLOCK' is not a list of fields"),
    ({"labels": ["GPU_IDX"]}, "gpu_exporter_labels: 'GPU_IDX' is not one of AMD's exporter "
                              "labels"),
    ({"custom_labels": {"GPU_ID": "7"}},
     "gpu_exporter_custom_labels: 'GPU_ID' is one of the exporter's own labels; of those only "
     "CLUSTER_NAME"),
    ({"custom_labels": {f"l{i}": "x" for i in range(11)}},
     "gpu_exporter_custom_labels: 11 labels; AMD's exporter takes at most 10"),
    ({"custom_labels": {"team-a": "x"}}, "'team-a' is not a Prometheus label name"),
    ({"common": {"Loging": {}}},
     "gpu_exporter_common_config: 'Loging' is not a key AMD's exporter reads; did you mean "
     "Logging?"),
    ({"common": {"Logging": {"Level": "verbose"}}},
     "gpu_exporter_common_config.Logging.Level: 'verbose' is not valid; use one of DEBUG, INFO"),
    ({"common": {"HealthService": {"PollingRate": 30}}},
     "gpu_exporter_common_config.HealthService.PollingRate: 30 is not valid"),
    ({"common": {"MetricsFieldPrefix": "amd-"}},
     "gpu_exporter_common_config.MetricsFieldPrefix: 'amd-' is not valid"),
    ({"gpu": {"Fields": []}}, "gpu_exporter_gpu_config: set Fields with gpu_exporter_fields"),
    ({"gpu": {"HealthThresholds": {"GPU_ECC_UNCORRECT_UMC": -1}}},
     "gpu_exporter_gpu_config.HealthThresholds.GPU_ECC_UNCORRECT_UMC: -1 is not valid"),
    ({"gpu": {"HealthThresholds": {"GPU_CPER_MAX_AGE": "soon"}}},
     "GPU_CPER_MAX_AGE: 'soon' is not valid"),
    ({"gpu": {"ProfilerMetrics": {"all": "yes"}}},
     "gpu_exporter_gpu_config.ProfilerMetrics: {'all': 'yes'} is not a mapping"),
    ({"port": 0}, "gpu_exporter_port: 0 is not a TCP port (1-65535)"),
    ({"port": "5000"}, "gpu_exporter_port: '5000' is not a TCP port"),
    ({"port": True}, "gpu_exporter_port: True is not a TCP port"),
])
def test_bad_input_names_the_variable_the_value_and_what_is_valid(kwargs, message):
    with pytest.raises(exporter.ExporterError) as caught:
        exporter.config(**kwargs)
    assert message in str(caught.value)


def test_both_spellings_amd_uses_for_the_log_size_and_the_profiler_config_are_taken():
    for common in ({"Logging": {"MaxSizeMB": 10}}, {"Logging": {"MaxFileSizeMB": 10}},
                   {"ProfilerConfig": {"SamplingInterval": 1000}}):
        assert exporter.config(common=common)["CommonConfig"] == common
    assert exporter.config(gpu={"ProfilerConfig": {"PtlDelay": 0}})["GPUConfig"][
        "ProfilerConfig"] == {"PtlDelay": 0}


@pytest.mark.parametrize("facts, suite", [(DEBIAN, "jammy"), (UBUNTU, "noble")])
def test_the_package_comes_from_amd_s_repository_signed_by_the_rocm_key(facts, suite):
    plan = exporter.plan(PACKAGE, facts)
    repo = plan["repository"]
    (stanza,) = parse_deb822(repo["files"]["/etc/apt/sources.list.d/amdgpu-exporter.sources"])
    assert stanza == {"Types": "deb",
                      "URIs": "https://repo.radeon.com/device-metrics-exporter/apt/1.5.2",
                      "Suites": suite, "Components": "main", "Architectures": "amd64",
                      "Signed-By": "/etc/apt/keyrings/rocm.gpg"}
    assert f"repo.radeon.com_device-metrics-exporter_apt_1.5.2_dists_{suite}_InRelease" in \
        repo["apt_lists"]["files"]
    assert plan["packages"] == ["amdgpu-exporter", "procps"]  # procps: the units' /bin/kill
    assert plan["units"] == ["gpuagent.service", "amd-metrics-exporter.service"]
    assert plan["unit"] == "amd-metrics-exporter.service"
    assert plan["files"]["/etc/metrics/config.json"] == exporter.config_text(plan["config"])
    assert plan["dirs"] == ["/etc/metrics",
                            "/etc/systemd/system/amd-metrics-exporter.service.d"]


def test_the_drop_in_is_amd_s_documented_exec_start_after_a_reset():
    text = exporter.plan(PACKAGE, UBUNTU)["files"][exporter.DROPIN_PATH]
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == ["[Service]", "ExecStart=", "ExecStart=/usr/local/bin/amd-metrics-exporter "
                     "-amd-metrics-config /etc/metrics/config.json"]


@pytest.mark.parametrize("settings, facts, message", [
    ({**PACKAGE, "method": "apt"}, UBUNTU,
     "gpu_exporter_method: 'apt' is not one of package, container"),
    ({**PACKAGE, "version": "1.5"}, UBUNTU, "gpu_exporter_version: '1.5' is not a release"),
    ({**PACKAGE, "repo_base_url": "repo.radeon.com"}, UBUNTU,
     "gpu_exporter_repo_base_url: 'repo.radeon.com' is not an http(s) URL"),
    (PACKAGE, {"distribution": "Ubuntu", "distribution_version": "22.04"},
     "not supported by the gpu_exporter role"),
    (CONTAINER, {"rocm": {"gpus": []}}, "gpu_exporter_method: 'container' but rocm_facts finds "
                                        "no GPU on this host"),
    (CONTAINER, {"rocm": {**ROCM, "kfd_device": None}}, "/dev/kfd is missing"),
    ({**CONTAINER, "image": ""}, {"rocm": ROCM}, "gpu_exporter_image: '' is not an image"),
])
def test_a_plan_that_cannot_run_says_why(settings, facts, message):
    with pytest.raises(exporter.ExporterError) as caught:
        exporter.plan(settings, facts)
    assert message in str(caught.value)


def test_the_container_gets_the_gpus_devices_and_groups_and_nothing_privileged():
    args = exporter.docker_args({}, ROCM, exporter.config())
    pairs = list(zip(args, args[1:]))
    assert ("--device", "/dev/kfd") in pairs and ("--device", "/dev/dri/renderD128") in pairs \
        and ("--device", "/dev/dri/renderD129") in pairs
    assert ("--group-add", "993") in pairs and ("--group-add", "44") in pairs
    assert ("--volume", "/sys:/sys:ro") in pairs
    assert ("--volume", f"{exporter.CONTAINER_CONFIG_DIR}:/etc/metrics:ro") in pairs
    assert ("--publish", "0.0.0.0:5000:5000") in pairs
    assert "--privileged" not in args and "/dev/dri" not in args
    assert "--cap-add" not in args


def test_the_profiler_s_metrics_add_cap_perfmon_only():
    cfg = exporter.config(gpu={"ProfilerMetrics": {"all": True}})
    args = exporter.docker_args({"bind_address": "127.0.0.1"}, ROCM, cfg)
    assert args[args.index("--cap-add") + 1] == "PERFMON" and args.count("--cap-add") == 1
    assert "127.0.0.1:5000:5000" in args


def test_the_container_s_unit_runs_the_image_like_the_server_s_unit():
    plan = exporter.plan({**CONTAINER, "port": 9400}, {"rocm": ROCM})
    unit = plan["files"]["/etc/systemd/system/device-metrics-exporter.service"]
    assert plan["units"] == ["device-metrics-exporter.service"]
    assert plan["dirs"] == [exporter.CONTAINER_CONFIG_DIR]
    assert json.loads(plan["files"][f"{exporter.CONTAINER_CONFIG_DIR}/config.json"])[
        "ServerPort"] == 9400
    assert "Requires=docker.service" in unit
    assert "ExecStartPre=-/usr/bin/docker rm --force device-metrics-exporter" in unit
    assert "--publish 0.0.0.0:9400:9400 \\\n  rocm/device-metrics-exporter:v1.5.2\n" in unit
    assert "ExecStop=/usr/bin/docker stop --time 30 device-metrics-exporter" in unit
    assert "WantedBy=multi-user.target" in unit


@pytest.mark.skipif(not shutil.which("systemd-analyze") or not shutil.which("docker"),
                    reason="needs systemd-analyze and /usr/bin/docker on this machine")
def test_systemd_analyze_verifies_the_container_s_unit(tmp_path):
    plan = exporter.plan(CONTAINER, {"rocm": ROCM})
    path = tmp_path / "device-metrics-exporter.service"
    path.write_text(plan["files"]["/etc/systemd/system/device-metrics-exporter.service"])
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)],
                          capture_output=True, text=True, check=False)
    problems = [line for line in proc.stderr.splitlines()
                if "device-metrics-exporter" in line and "docker.service" not in line]
    assert not problems, proc.stderr


def test_the_rocm_role_stops_the_exporter_before_gpuagent_and_either_method_s_unit():
    assert exporter.units("package") == ["amd-metrics-exporter.service", "gpuagent.service"]
    assert exporter.units(["package", "container"]) == [
        "amd-metrics-exporter.service", "gpuagent.service", "device-metrics-exporter.service"]
    with pytest.raises(exporter.ExporterError, match="gpu_exporter_method: 'pip'"):
        exporter.units(["pip"])
