"""The pre-flight's rules (module_utils/preflight/_rules_controller.py) against the roles'
real argument specs and defaults: a good set of variables passes, each bad one is named
with its value, and several bad ones are all reported. The same cases run for real, through
site.yml against a converged node, in tests/integration/test_bad_input.py."""

import copy
from pathlib import Path

import pytest
import yaml

from ansible_collections.inferops.triton.plugins.module_utils.preflight import (
    _rules_controller as _preflight,
)

ROOT = Path(__file__).resolve().parents[5]
ROLES = ("rocm", "docker_engine", "gpu_exporter", "triton_image", "model_repository",
         "triton_server", "benchmark", "rollout", "tune", "prometheus")


def spec_options(role):
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = dict(specs["argument_specs"]["main"]["options"])
    for entry in specs["argument_specs"].values():
        for name, option in (entry.get("options") or {}).items():
            options.setdefault(name, option)
    return options


SPECS = {role: spec_options(role) for role in ROLES}
MODEL = {
    "name": "resnet50",
    "config": {
        "max_batch_size": 8,
        "input": [{"name": "data", "data_type": "TYPE_FP32", "dims": [3, 224, 224]}],
        "output": [{"name": "prob", "data_type": "TYPE_FP32", "dims": [1000]}],
    },
    "versions": [{"version": 1, "path": "/srv/resnet50.onnx"}],
}


def good_values():
    """Every role's defaults, with the templated ones as a play would have them."""
    values = {}
    for role in ROLES:
        defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
        values.update({k: v for k, v in defaults.items()
                       if not (isinstance(v, str) and "{{" in v)})
    values.update(
        triton_models=[copy.deepcopy(MODEL)], benchmark_models=["resnet50"],
        benchmark_http_port=8000, benchmark_grpc_port=8001, benchmark_metrics_port=8002,
        triton_server_image="inferops/tritonserver:cpu", triton_server_gpu_mode="none",
        triton_server_model_repository="/var/lib/inferops-triton/models",
        model_repository_flavour="cpu", benchmark_client_host="node1",
        benchmark_server_address="node1", benchmark_server_container="triton-server",
        benchmark_controller_cache="/root/.cache/inferops.triton",
        model_repository_controller_cache="/root/.cache/inferops.triton/models",
        triton_image_controller_cache="/root/.cache/inferops.triton",
        triton_image_builder="node1", benchmark_results_dir="/srv/results",
        benchmark_perf_analyzer_requirements="/srv/req.txt",
        triton_image_cpu_requirements="/srv/req.txt", rocm_apt_key_url="https://x/key",
        rollout_results_dir="/srv/rollout", tune_models=["resnet50"],
        tune_dir="/srv/tuned",
        # the canary's, for the tune role (the other roles take any mode)
        triton_server_model_control_mode="explicit")
    return values


def check(change=None, roles=ROLES, rocm=None, defined=None):
    values = good_values()
    values.update(change or {})
    return _preflight.check({role: SPECS[role] for role in roles}, values, rocm, defined)


def test_the_defaults_pass():
    assert check() == []


EIGHT_GPUS = {"gpus": [{"index": i, "render_node": f"/dev/dri/renderD{128 + i}"}
                       for i in range(8)],
              "kfd_device": True, "render_gid": 110, "video_gid": 44}


@pytest.mark.parametrize(("change", "words"), [
    ({"triton_models": [dict(MODEL, name="../../../../tmp/pwned")]},
     "name '../../../../tmp/pwned' is not a model directory name"),
    ({"triton_image_name": ""}, "triton_image_name: '' is not an image repository name"),
    ({"triton_image_source": "ftp"},
     "value of triton_image_source must be one of: cpu, build, pull, load, got: ftp"),
    ({"benchmark_concurrency_range": "4:1"}, "benchmark_concurrency_range='4:1': start must"),
    ({"benchmark_batch_sizes": [0]}, "benchmark_batch_sizes: 0 is below 1"),
    ({"benchmark_batch_sizes": [1, 16]},
     "benchmark_batch_sizes: [16] exceed the max_batch_size 8 of model 'resnet50'"),
    ({"model_repository_path": "models"}, "model_repository_path: 'models' is not an absolute"),
    ({"triton_server_http_port": 8001},
     "triton_server_grpc_port: 8001 is also triton_server_http_port"),
    ({"triton_server_metrics_port": 70000}, "triton_server_metrics_port: 70000 is not a port"),
    ({"triton_server_extra_args": ["--model-repository", "/x"]},
     "triton_server_extra_args: '--model-repository' sets --model-repository"),
    ({"benchmark_extra_args": ["-b", "4"]}, "benchmark_extra_args: '-b' sets -b"),
    ({"triton_image_source": "load"}, "triton_image_source is load, so triton_image_archive"),
    ({"triton_image_pull_username": "u"},
     "triton_image_pull_username and triton_image_pull_password must be set together"),
    ({"triton_image_source": "build", "triton_image_source_ref": "../x"},
     "triton_image_source_ref: '../x' is not a branch, tag or commit name"),
    ({"rocm_version": "seven"}, "rocm_version: 'seven' is not a ROCm release"),
    ({"rollout_keep_failed_repositories": -1}, "rollout_keep_failed_repositories: -1 is below 0"),
    ({"rollout_max_fail_percentage": 150}, "rollout_max_fail_percentage: 150 is not a percentage"),
    ({"docker_engine_packages": []}, "docker_engine_packages: empty"),
    ({"triton_server_bind_address": "localhost"}, "'localhost' is not an IP address"),
    ({"triton_server_shm_size": "1 gig"}, "triton_server_shm_size: '1 gig' is not a size"),
    ({"benchmark_models": ["bert"]}, "benchmark_models: 'bert' is not in triton_models"),
    ({"triton_server_model_control_mode": "none"},
     "triton_server_model_control_mode: 'none' on the canary; tuning loads each candidate"),
    ({"tune_latency_slo_ms": 0}, "tune_latency_slo_ms: 0 with tune_objective=throughput"),
    ({"tune_objective": "latency"}, "tune_request_rate: 0 with tune_objective=latency"),
    ({"tune_objective": "speed"},
     "value of tune_objective must be one of: throughput, latency, got: speed"),
    ({"tune_space": {"instances": [1, 2]}}, "instances: not a parameter autotune varies"),
    ({"tune_space": {"instance_count": []}},
     "tune_space.instance_count: [] is not a non-empty list of values"),
    ({"tune_strategy": "given"},
     "tune_candidates: [] is not a non-empty list of parameter -> value mappings "
     "(tune_strategy=given measures them)"),
    ({"tune_strategy": "given", "tune_candidates": [{"threads": 2}]},
     "threads: not a parameter autotune varies"),
    ({"gpu_exporter_fields": ["GPU_PACKAGE_POWR"]},
     "gpu_exporter_fields: 'GPU_PACKAGE_POWR' is not"),
    ({"gpu_exporter_port": 70000}, "gpu_exporter_port: 70000 is not a TCP port"),
    ({"gpu_exporter_method": "snap"},
     "value of gpu_exporter_method must be one of: package, container, got: snap"),
    ({"prometheus_ready_timeout": "soon"}, "'prometheus_ready_timeout' is of type str"),
    ({"prometheus_extra_args": ["--web.page-title=GPU fleet"]},
     "prometheus_extra_args: '--web.page-title=GPU fleet' holds white space"),
    ({"prometheus_listen_address": "9090"}, "prometheus_listen_address: '9090' is not host:port"),
    ({"prometheus_listen_address": "0.0.0.0:99999"},
     "prometheus_listen_address: '0.0.0.0:99999' is not host:port"),
])
def test_a_bad_variable_is_named_with_its_value(change, words):
    errors = check(change)
    assert any(words in error for error in errors), errors


def test_a_value_the_spec_refused_is_not_handed_to_the_rules():
    errors = check({"triton_server_grpc_port": "x", "benchmark_measurement_interval_ms": "y"})
    assert any("'triton_server_grpc_port' is of type str" in e for e in errors), errors
    assert any("'benchmark_measurement_interval_ms' is of type str" in e for e in errors)


def test_every_problem_of_a_host_is_reported_at_once():
    errors = check({"triton_image_name": "", "benchmark_concurrency_range": "4:1",
                    "triton_server_http_port": 8001, "model_repository_path": "models",
                    "triton_models": [dict(MODEL, name="a/b")]})
    for variable in ("triton_image_name", "benchmark_concurrency_range",
                     "triton_server_grpc_port", "model_repository_path", "'a/b'"):
        assert any(variable in e for e in errors), (variable, errors)


def test_per_gpu_ports_step_into_each_other_or_past_the_last_port():
    errors = check({"triton_server_gpu_mode": "per_gpu", "triton_server_port_step": 1},
                   rocm=EIGHT_GPUS)
    assert any("triton_server_http_port + 1 x triton_server_port_step (server 1): 8001 is "
               "also triton_server_grpc_port" in e for e in errors), errors
    errors = check({"triton_server_gpu_mode": "per_gpu", "triton_server_http_port": 65500},
                   rocm=EIGHT_GPUS)
    assert any("is above 65535" in e for e in errors), errors
    assert check({"triton_server_gpu_mode": "per_gpu"}, rocm=EIGHT_GPUS) == []


def test_a_gpu_the_host_does_not_have_is_refused():
    errors = check({"triton_server_gpu_mode": "subset", "triton_server_gpu_indices": [8]},
                   rocm=EIGHT_GPUS)
    assert any("triton_server_gpu_indices: [8] must name distinct GPUs" in e for e in errors)


def test_a_removed_variable_is_refused_when_set():
    errors = check(defined={"triton_image_gpu_targets": ["gfx942"]})
    assert any("triton_image_gpu_targets is set to ['gfx942'], but it was removed" in e
               for e in errors), errors


def test_a_playbook_checks_the_roles_it_runs():
    assert _preflight.roles_for("site", {}) == [
        "docker_engine", "triton_image", "model_repository", "triton_server", "benchmark"]
    assert _preflight.roles_for("site", {"rocm_enabled": "true", "benchmark_enabled": False}) \
        == ["rocm", "docker_engine", "triton_image", "model_repository", "triton_server"]
    assert _preflight.roles_for("rollout", {}) == [
        "triton_image", "model_repository", "triton_server", "rollout"]
    assert _preflight.roles_for("benchmark", {}) == ["benchmark"]
    assert _preflight.roles_for("tune", {}) == ["triton_server", "tune"]
    with pytest.raises(ValueError, match="playbook: 'deploy' is not one of"):
        _preflight.roles_for("deploy", {})


def test_every_variable_a_rule_names_is_a_role_variable():
    """A rule about a variable no spec declares would never see a value."""
    declared = set().union(*(SPECS[role] for role in ROLES))
    named = set(_preflight.HOST_PATHS) | set(_preflight.HOST_PATH_LISTS) | {
        name for name, _low, _unit in _preflight.AT_LEAST} | set(
        _preflight.BENCHMARK_NAMES.values()) - {
        "the model's version", "benchmark_server_address and the port",
        "the model's input shapes"}
    assert named - declared == set()


def test_the_playbooks_roles_are_the_roles_they_run():
    site = (ROOT / "playbooks" / "site.yml").read_text()
    for role in _preflight.PLAYBOOK_ROLES["site"]:
        assert f"inferops.triton.{role}" in site
    rollout = (ROOT / "playbooks" / "rollout.yml").read_text()
    assert "_preflight_playbook: rollout" in rollout
    assert "playbook: benchmark" in (ROOT / "playbooks" / "benchmark.yml").read_text()
    tune = (ROOT / "playbooks" / "tune.yml").read_text()
    assert "playbook: tune" in tune and "role: inferops.triton.tune" in tune


def test_a_bad_restricted_value_is_said_to_be_wrong_but_never_shown():
    errors = check({"triton_server_restricted_apis": ["model-repository"],
                    "triton_server_restricted_value": "s3cret value"})
    assert any("triton_server_restricted_apis is ['model-repository'], which needs" in e
               and "(it is set, with a space, '=', ',' or ':')" in e for e in errors), errors
    assert not any("s3cret" in e for e in errors)
