"""The server units and their docker run arguments, over captured KFD topologies
(tests/fixtures/kfd/SOURCE.md): all GPUs, the subset [1, 3], and one server per GPU on the
8x MI300X box in CPX mode (63 GPU nodes).

A captured tree has no /etc/group and no /dev: each test lays them beside a copy of the
tree. ``video`` is 44 on Debian and Ubuntu (as in the lab's debootstrapped images);
``render`` is a dynamic system group (systemd-sysusers picks its id), so the tests give it
two different ids and check that the one the host has is the one used.
"""

import re
import shutil
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.rocm._facts import read_host
from ansible_collections.inferops.triton.plugins.module_utils.server import (
    _placement,
    _service,
    _unit,
)

KFD = Path(__file__).resolve().parents[4] / "fixtures" / "kfd"
ROOT = Path(__file__).resolve().parents[5]
MI210_UUIDS = ["GPU-1901ead3a2ecd4a6", "GPU-51276ac12ce05db3", "GPU-93bb3629c01aea1c",
               "GPU-4344e78b718814cd"]


def host(tmp_path, tree, render_gid=992, kfd=True):
    root = tmp_path / tree
    shutil.copytree(KFD / tree, root)
    (root / "etc").mkdir()
    (root / "etc" / "group").write_text(
        f"root:x:0:\nvideo:x:44:\nrender:x:{render_gid}:\nusers:x:100:\n")
    if kfd:
        (root / "dev").mkdir()
        (root / "dev" / "kfd").write_text("")
    return read_host(str(root))


def settings(**change):
    base = dict(
        name="triton-server", container_name="triton-server",
        image="inferops/tritonserver:rocm", image_id="sha256:" + "ab" * 32,
        model_repository="/var/lib/inferops-triton/models", http_port=8000, grpc_port=8001,
        metrics_port=8002, port_step=10, bind_address="0.0.0.0", shm_size="1g",
        ipc_host=False, seccomp_unconfined=False, sys_ptrace=False, gpu_mode="all",
        gpu_indices=[], migraphx_cache_dir="/var/cache/inferops-triton/migraphx",
        models=[{"name": "resnet50", "config": {"max_batch_size": 8}}], env={},
        model_control_mode="none", load_models=["*"], strict_readiness=True,
        exit_on_error=True, log_verbose=0, extra_args=[], restricted_apis=[],
        restricted_key="Triton-Admin-Key", restricted_value=None, start_timeout=600,
        stop_timeout=60, restart_max_delay=120, systemd_version=252)
    base.update(change)
    return base


def options(args, flag):
    return [args[i + 1] for i, word in enumerate(args) if word == flag]


def env_of(rendered, stem):
    text = rendered["files"][f"/etc/inferops-triton/{stem}.env"][0]
    return dict(line.split("=", 1) for line in text.splitlines() if not line.startswith("#"))


def exec_start(unit_text):
    """ExecStart= joined over its continuation lines, as systemd reads it."""
    match = re.search(r"^ExecStart=(.*?)(?<!\\)\n", unit_text, re.S | re.M)
    return match.group(1).replace("\\\n", " ").split()


def test_all_gpus_on_an_mi210_box(tmp_path):
    rocm = host(tmp_path, "mi210-8gpu-xgmi")
    rendered = _unit.render(settings(), rocm)
    assert rendered["units"] == ["triton-server.service"]
    unit = rendered["files"]["/etc/systemd/system/triton-server.service"][0]
    args = exec_start(unit)
    assert options(args, "--device") == ["/dev/kfd"] + [f"/dev/dri/renderD{m}"
                                                        for m in range(128, 136)]
    assert options(args, "--group-add") == ["992", "44"]
    assert "--privileged" not in args and "/dev/dri" not in options(args, "--device")
    assert "seccomp=unconfined" not in args and "SYS_PTRACE" not in args
    assert options(args, "--volume") == [
        "/var/lib/inferops-triton/models:/models:ro",
        "/var/cache/inferops-triton/migraphx:/var/cache/migraphx"]
    # every GPU: nothing to hide, the MIGraphX cache and the guide's compile batches
    assert env_of(rendered, "triton-server") == {
        "ORT_MIGRAPHX_MODEL_CACHE_PATH": "/var/cache/migraphx",
        "ORT_MIGRAPHX_COMPILE_BATCHES": "1,2,4,8"}
    assert "ORT_MIGRAPHX_CACHE_PATH" not in unit  # the INT8 calibration table, not a cache


def test_all_gpus_on_the_mi300x_cpx_box_passes_every_partition(tmp_path):
    rocm = host(tmp_path, "mi300x-cpx-8gpu", render_gid=993)
    args = exec_start(_unit.render(settings(), rocm)["files"][
        "/etc/systemd/system/triton-server.service"][0])
    assert options(args, "--device") == ["/dev/kfd"] + [f"/dev/dri/renderD{m}"
                                                        for m in range(128, 191)]
    assert options(args, "--group-add") == ["993", "44"]


def test_subset_1_3_on_the_mi210_box(tmp_path):
    rocm = host(tmp_path, "mi210-8gpu-xgmi")
    rendered = _unit.render(settings(gpu_mode="subset", gpu_indices=[1, 3]), rocm)
    [server] = rendered["instances"]
    assert server["gpus"] == [1, 3]
    args = exec_start(rendered["files"]["/etc/systemd/system/triton-server.service"][0])
    assert options(args, "--device") == ["/dev/kfd", "/dev/dri/renderD129",
                                         "/dev/dri/renderD131"]
    assert options(args, "--group-add") == ["992", "44"]
    # UUIDs mean the same GPUs inside the container as on the host
    assert env_of(rendered, "triton-server")["ROCR_VISIBLE_DEVICES"] == (
        f"{MI210_UUIDS[1]},{MI210_UUIDS[3]}")


def test_subset_1_3_of_cpx_partitions_uses_the_containers_positions(tmp_path):
    # partitions 1 and 3 share their GPU's unique id: a UUID would name all its partitions
    rocm = host(tmp_path, "mi300x-cpx-8gpu")
    rendered = _unit.render(settings(gpu_mode="subset", gpu_indices=[1, 3]), rocm)
    args = exec_start(rendered["files"]["/etc/systemd/system/triton-server.service"][0])
    assert options(args, "--device") == ["/dev/kfd", "/dev/dri/renderD129",
                                         "/dev/dri/renderD131"]
    assert env_of(rendered, "triton-server")["ROCR_VISIBLE_DEVICES"] == "0,1"


def test_one_server_per_gpu_on_the_mi300x_cpx_box(tmp_path):
    rocm = host(tmp_path, "mi300x-cpx-8gpu")
    rendered = _unit.render(settings(gpu_mode="per_gpu"), rocm)
    assert rendered["units"] == [f"triton-server@{i}.service" for i in range(63)]
    assert rendered["unit_file"] == "/etc/systemd/system/triton-server@.service"
    template = rendered["files"]["/etc/systemd/system/triton-server@.service"][0]
    assert "EnvironmentFile=/etc/inferops-triton/triton-server@%i.conf" in template
    assert "ExecStartPre=-/usr/bin/docker rm --force triton-server-%i" in template
    assert exec_start(template)[:3] == ["/usr/bin/docker", "run", "$TRITON_INSTANCE_ARGS"]
    for index in (0, 1, 62):
        conf = rendered["files"][f"/etc/inferops-triton/triton-server@{index}.conf"][0]
        args = re.search(r"^TRITON_INSTANCE_ARGS=(.*)$", conf, re.M).group(1).split()
        assert options(args, "--name") == [f"triton-server-{index}"]
        assert options(args, "--device") == ["/dev/kfd", f"/dev/dri/renderD{128 + index}"]
        assert options(args, "--group-add") == ["992", "44"]
        port = 8000 + 10 * index
        assert options(args, "--publish") == [f"0.0.0.0:{port}:8000",
                                              f"0.0.0.0:{port + 1}:8001",
                                              f"0.0.0.0:{port + 2}:8002"]
        assert options(args, "--env-file") == [f"/etc/inferops-triton/triton-server@{index}.env"]
        assert f"TRITON_URL=http://127.0.0.1:{port}\n" in conf
        assert env_of(rendered, f"triton-server@{index}")["ROCR_VISIBLE_DEVICES"] == "0"


def test_one_server_per_chosen_gpu_keeps_ports_dense(tmp_path):
    rocm = host(tmp_path, "mi210-8gpu-xgmi")
    rendered = _unit.render(settings(gpu_mode="per_gpu", gpu_indices=[1, 3]), rocm)
    assert [(s["unit"], s["ports"]["http"]) for s in rendered["instances"]] == [
        ("triton-server@1.service", 8000), ("triton-server@3.service", 8010)]
    assert env_of(rendered, "triton-server@3")["ROCR_VISIBLE_DEVICES"] == MI210_UUIDS[3]


def test_cpu_flavour_has_no_devices_groups_or_migraphx(tmp_path):
    rendered = _unit.render(settings(gpu_mode="none"), None)
    args = exec_start(rendered["files"]["/etc/systemd/system/triton-server.service"][0])
    assert options(args, "--device") == [] and options(args, "--group-add") == []
    assert options(args, "--volume") == ["/var/lib/inferops-triton/models:/models:ro"]
    assert env_of(rendered, "triton-server") == {}


@pytest.mark.parametrize("change, words", [
    (dict(gpu_mode="subset", gpu_indices=[1, 8]),
     ["triton_server_gpu_indices: [1, 8]", "valid indices: 0-7 (8 GPUs)"]),
    (dict(gpu_mode="subset", gpu_indices=[]), ["triton_server_gpu_indices: []"]),
    (dict(gpu_mode="subset", gpu_indices=[2, 2]), ["must name distinct GPUs"]),
    (dict(gpu_mode="per_gpu", gpu_indices=[9]), ["triton_server_gpu_indices: [9]"]),
    (dict(restricted_apis=["model-repository"]),
     ["triton_server_restricted_apis is ['model-repository'], which needs",
      "triton_server_restricted_value", "(it is empty)"]),
    (dict(restricted_apis=["model-repository"], restricted_value="has space"),
     ["without spaces", "(it is set, with a space"]),
    (dict(env={"BAD-NAME": "1"}), ["triton_server_env: 'BAD-NAME'"]),
    (dict(name="triton@x"), ["triton_server_service_name: 'triton@x'"]),
])
def test_bad_settings_name_the_variable(tmp_path, change, words):
    rocm = host(tmp_path, "mi210-8gpu-xgmi")
    with pytest.raises(_placement.ServiceError) as error:
        _unit.render(settings(**change), rocm)
    for word in words:
        assert word in str(error.value)


@pytest.mark.parametrize("tree, kfd, words", [
    (None, True, ["'all' but rocm_facts finds no GPU", "use 'none' for the CPU flavour"]),
    ("mi210-8gpu-xgmi", False, ["/dev/kfd is missing"]),
])
def test_gpu_modes_need_gpus_and_kfd(tmp_path, tree, kfd, words):
    if tree is None:
        (tmp_path / "etc").mkdir()
        (tmp_path / "etc" / "group").write_text("video:x:44:\n")
        rocm = read_host(str(tmp_path))
    else:
        rocm = host(tmp_path, tree, kfd=kfd)
    with pytest.raises(_placement.ServiceError) as error:
        _unit.render(settings(), rocm)
    for word in words:
        assert word in str(error.value)


def test_a_missing_render_group_is_an_error(tmp_path):
    rocm = host(tmp_path, "mi210-8gpu-xgmi")
    rocm["render_gid"] = None
    with pytest.raises(_placement.ServiceError, match="no 'render' group"):
        _unit.render(settings(), rocm)


@pytest.mark.parametrize("models, batches", [
    ([{"config": {"max_batch_size": 8}}], "1,2,4,8"),
    ([{"config": {"max_batch_size": 6}}], "1,2,4,6"),
    ([{"config": {"max_batch_size": 16, "dynamic_batching": {"preferred_batch_size": [3, 12]}}},
      {"config": {"max_batch_size": 2}}], "1,2,3,4,8,12,16"),
    ([{"config": {"max_batch_size": 0}}], ""),
    ([], ""),
])
def test_compile_batches_follow_the_models(models, batches):
    assert _unit.compile_batches(models) == batches


def test_user_env_wins_over_derived_migraphx_variables(tmp_path):
    rocm = host(tmp_path, "mi210-8gpu-xgmi")
    rendered = _unit.render(settings(env={"ORT_MIGRAPHX_COMPILE_BATCHES": "1,32",
                                          "MIGRAPHX_LOG": "1"}), rocm)
    env = env_of(rendered, "triton-server")
    assert env["ORT_MIGRAPHX_COMPILE_BATCHES"] == "1,32" and env["MIGRAPHX_LOG"] == "1"


def test_restricted_apis_keep_the_key_out_of_the_unit(tmp_path):
    rendered = _unit.render(settings(gpu_mode="none", restricted_apis=[
        "model-repository", "model-config"], restricted_value="s3cr3t"), None)
    unit, unit_mode = rendered["files"]["/etc/systemd/system/triton-server.service"]
    conf, conf_mode = rendered["files"]["/etc/inferops-triton/triton-server.conf"]
    assert "s3cr3t" not in unit and unit_mode == "0644"
    assert conf_mode == "0600"
    assert ("TRITON_RESTRICTED_ARGS=--http-restricted-api=model-repository,model-config:"
            "Triton-Admin-Key=s3cr3t --grpc-restricted-protocol=model-repository,"
            "model-config:Triton-Admin-Key=s3cr3t") in conf
    assert "TRITON_WAIT_HEADER=Triton-Admin-Key: s3cr3t" in conf
    assert exec_start(unit)[-1] == "$TRITON_RESTRICTED_ARGS"
    assert "EnvironmentFile=/etc/inferops-triton/triton-server.conf" in unit


def test_optional_security_relaxations_only_when_asked(tmp_path):
    rendered = _unit.render(settings(gpu_mode="none", seccomp_unconfined=True, sys_ptrace=True,
                                     ipc_host=True), None)
    args = exec_start(rendered["files"]["/etc/systemd/system/triton-server.service"][0])
    assert options(args, "--security-opt") == ["seccomp=unconfined"]
    assert options(args, "--cap-add") == ["SYS_PTRACE"]
    assert options(args, "--ipc") == ["host"]


@pytest.mark.parametrize("version, backoff", [(252, False), (255, True), (None, False)])
def test_restart_backoff_where_systemd_has_it(version, backoff):
    unit = _unit.render(settings(gpu_mode="none", systemd_version=version), None)["files"][
        "/etc/systemd/system/triton-server.service"][0]
    assert "Restart=on-failure" in unit and "StartLimitIntervalSec=0" in unit
    assert ("RestartSteps=6" in unit) is backoff
    assert ("RestartMaxDelaySec=120s" in unit) is backoff


def test_unit_runs_in_the_foreground_and_waits_for_readiness():
    unit = _unit.render(settings(gpu_mode="none", model_control_mode="explicit",
                                 log_verbose=1), None)["files"][
        "/etc/systemd/system/triton-server.service"][0]
    assert "After=docker.service network-online.target" in unit
    assert "Requires=docker.service" in unit
    assert "ExecStartPre=-/usr/bin/docker rm --force triton-server" in unit
    assert ("ExecStartPost=/usr/local/lib/inferops-triton/wait-ready http://127.0.0.1:8000"
            " $MAINPID\n" in unit)
    assert "ExecStop=/usr/bin/docker stop --time 60 triton-server" in unit
    assert "TimeoutStartSec=600" in unit and "TimeoutStopSec=90" in unit
    assert "# image: inferops/tritonserver:rocm sha256:abab" in unit
    args = exec_start(unit)
    assert args[:3] == ["/usr/bin/docker", "run", "--rm"]
    assert "-d" not in args and "--detach" not in args
    # the command after the image starts with the program: AMD's entrypoint execs "$@"
    assert args[args.index("inferops/tritonserver:rocm") + 1:] == [
        "tritonserver", "--model-repository=/models", "--model-control-mode=explicit",
        "--load-model=*", "--strict-readiness=true", "--exit-on-error=true", "--log-verbose=1"]


@pytest.mark.parametrize("text, version", [
    ("systemd 252 (252.36-1~deb12u1)\n+PAM +AUDIT", 252),
    ("systemd 255 (255.4-1ubuntu8.6)\n", 255),
    ("", None),
])
def test_systemd_version(text, version):
    assert _unit.systemd_version(text) == version


def test_plan_writes_what_differs_and_removes_an_earlier_layout(tmp_path, monkeypatch):
    monkeypatch.setattr(_unit, "UNIT_DIR", str(tmp_path / "units"))
    monkeypatch.setattr(_unit, "CONFIG_DIR", str(tmp_path / "conf"))
    monkeypatch.setattr(_unit, "WAIT_READY", str(tmp_path / "wait-ready"))
    rocm = host(tmp_path, "mi210-8gpu-xgmi")
    old = _unit.render(settings(gpu_mode="per_gpu", gpu_indices=[1, 3]), rocm)
    for path, (content, mode) in old["files"].items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)
        Path(path).chmod(int(mode, 8))
    # converged: nothing to do
    on_host = [str(p) for p in (tmp_path / "units").iterdir()] + [
        str(p) for p in (tmp_path / "conf").iterdir()]
    assert _service.plan(old, _service.stale_files(on_host, settings(), old["files"])) == {
        "write": [], "remove": [], "stop": [], "diff": []}
    # back to one server with GPUs 1 and 3: the instances stop, their files go
    new = _unit.render(settings(gpu_mode="subset", gpu_indices=[1, 3]), rocm)
    changes = _service.plan(new, _service.stale_files(on_host, settings(), new["files"]))
    assert changes["stop"] == ["triton-server@1.service", "triton-server@3.service"]
    assert sorted(Path(p).name for p in changes["remove"]) == [
        "triton-server@.service", "triton-server@1.conf", "triton-server@1.env",
        "triton-server@3.conf", "triton-server@3.env"]
    assert sorted(Path(p).name for p in changes["write"]) == [
        "triton-server.env", "triton-server.service"]
    # the environment file's content stays out of the diff
    shown = {Path(d["after_header"]).name: d for d in changes["diff"]}
    assert shown["triton-server.env"]["after"] == "(content not shown)\n"
    assert "ExecStart=/usr/bin/docker run" in shown["triton-server.service"]["after"]


def test_journal_errors_give_tritons_load_error_not_start_up_noise():
    # tests/fixtures/journal/SOURCE.md: a start that failed on a wrong output name
    text = (Path(__file__).resolve().parents[4] / "fixtures" / "journal" /
            "wrong-output-name.txt").read_text()
    errors = _service.journal_errors(text)
    assert errors[0].endswith('"ERROR: Failed to create instance: ValueError: onnxruntime_cpu: '
                              "/models/resnet50/1/model.onnx: config declares output 'prob' "
                              "but the ONNX model has outputs ['resnetv24_dense0_fwd']")
    assert any("failed to load 'resnet50' version 1: Internal: ValueError" in e for e in errors)
    assert "error: creating server: Internal - failed to load all models" in errors
    assert not [e for e in errors if re.search("NVML|DCGM|telemetry|pinned|At:", e)]


def test_journal_errors_without_a_triton_error_keep_other_errors_but_not_noise():
    # the same capture without Triton's own error lines: what is left is the python stub's
    # line; NVML, DCGM, telemetry and pinned-memory lines stay out
    text = (Path(__file__).resolve().parents[4] / "fixtures" / "journal" /
            "wrong-output-name.txt").read_text()
    rest = "\n".join(line for line in text.splitlines()
                     if not re.search(r"failed to load|creating server|UNAVAILABLE: |^E\d{4} ",
                                      line))
    errors = _service.journal_errors(rest)
    assert len(errors) == 1 and "Failed to initialize Python stub: ValueError" in errors[0]


@pytest.mark.parametrize(("bind", "url"), [
    ("0.0.0.0", "http://127.0.0.1:8000"),
    ("", "http://127.0.0.1:8000"),
    # the IPv6 wildcard: [::] is not an address to connect to, its loopback is
    ("::", "http://[::1]:8000"),
    ("::1", "http://[::1]:8000"),
    ("127.0.0.1", "http://127.0.0.1:8000"),
    ("triton.example.com", "http://triton.example.com:8000"),
    ("fd00::5", "http://[fd00::5]:8000"),
    ("10.0.0.5", "http://10.0.0.5:8000"),
])
def test_the_url_a_host_reaches_its_own_server_on(bind, url):
    assert _unit.local_url(bind, 8000) == url


def test_each_instance_carries_the_url_its_unit_waits_on(tmp_path):
    rocm = host(tmp_path, "mi210-8gpu-xgmi")
    rendered = _unit.render(settings(gpu_mode="per_gpu", gpu_indices=[1, 3], bind_address="::"),
                            rocm)
    assert [s["url"] for s in rendered["instances"]] == ["http://[::1]:8000",
                                                         "http://[::1]:8010"]
    for server in rendered["instances"]:
        conf = rendered["files"][f"/etc/inferops-triton/{server['unit'][:-8]}.conf"][0]
        assert f"TRITON_URL={server['url']}\n" in conf
    single = _unit.render(settings(bind_address="10.0.0.5"), rocm)
    unit = single["files"]["/etc/systemd/system/triton-server.service"][0]
    assert f"ExecStartPost={_unit.WAIT_READY} {single['instances'][0]['url']} $MAINPID" in unit
    assert single["instances"][0]["url"] == "http://10.0.0.5:8000"


def test_the_restricted_api_header_and_the_wait_helper_s_copy_of_it():
    assert _unit.api_headers(["model-repository"], "Triton-Admin-Key", "k3y") == {
        "Triton-Admin-Key": "k3y"}
    assert _unit.api_headers([], "Triton-Admin-Key", "k3y") == {}
    rendered = _unit.render(settings(gpu_mode="none", restricted_apis=["model-repository"],
                                     restricted_value="k3y"), None)
    conf = rendered["files"]["/etc/inferops-triton/triton-server.conf"][0]
    assert "TRITON_WAIT_HEADER=Triton-Admin-Key: k3y\n" in conf


def test_placement_names_the_bad_index(tmp_path):
    # what the pre-flight (preflight/_rules_controller.py) asks before any host changes
    rocm = host(tmp_path, "mi210-8gpu-xgmi")
    servers = _placement.instances(settings(gpu_mode="per_gpu", gpu_indices=[1, 3]), rocm)
    assert [s["devices"] for s in servers] == [["/dev/kfd", "/dev/dri/renderD129"],
                                               ["/dev/kfd", "/dev/dri/renderD131"]]
    with pytest.raises(_placement.ServiceError, match=r"triton_server_gpu_indices: \[8\]"):
        _placement.instances(settings(gpu_mode="subset", gpu_indices=[8]), rocm)
    # the CPU flavour needs no GPU facts
    assert _placement.instances(settings(gpu_mode="none"), None)[0]["devices"] == []


# The role's variable for each option of triton_service it sets (triton_server_<option>, but
# for these).
ROLE_VARIABLE = {"name": "triton_server_service_name"}


def test_the_service_defaults_agree_wherever_they_are_written():
    # The service's defaults are written in the module's argument spec, its documentation,
    # the role's defaults and its argument spec; for every option they share they must say
    # the same (exit_on_error was true in all but AMD's guide, which runs
    # --exit-on-error=false). A role default that is a template (the image the triton_image
    # role made, GPUs for GPU images) is derived, and its argument spec says so in words.
    import yaml

    from ansible_collections.inferops.triton.plugins.modules import triton_service

    documented = yaml.safe_load(triton_service.DOCUMENTATION)["options"]
    role = ROOT / "roles" / "triton_server"
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    options = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())[
        "argument_specs"]["main"]["options"]
    assert set(documented) == set(triton_service.SPEC)
    shared = []
    for option, spec in triton_service.SPEC.items():
        assert documented[option].get("default") == spec.get("default"), option
        variable = ROLE_VARIABLE.get(option, f"triton_server_{option}")
        if variable not in defaults:
            continue
        assert variable in options, variable
        role_default = defaults[variable]
        if isinstance(role_default, str) and "{{" in role_default:
            continue
        shared.append(option)
        # the role's empty restricted_value reaches the module as no value (omit)
        module_default = "" if option == "restricted_value" else spec.get("default")
        values = [module_default, role_default, options[variable].get("default")]
        assert all(value == module_default and type(value) is type(module_default)
                   for value in values), (option, values)
    assert {"exit_on_error", "strict_readiness", "log_verbose", "http_port", "stop_timeout",
            "start_timeout", "bind_address", "restricted_key"} <= set(shared)
    # the role's own variables (ready_timeout, smoke, rollback, ...) too
    for variable, role_default in defaults.items():
        if not (isinstance(role_default, str) and "{{" in role_default):
            spec_default = options[variable].get("default")
            assert spec_default == role_default and type(spec_default) is type(role_default), (
                variable, role_default, spec_default)
    assert defaults["triton_server_exit_on_error"] is False
    plain = {option: spec.get("default") for option, spec in triton_service.SPEC.items()}
    unit = _unit.render_unit({**plain, "image": "i"}, _placement.instances(plain, None)[0], False,
                             False)
    assert "--exit-on-error=false" in unit


def test_the_migraphx_environment_is_what_the_eps_read():
    # ORT_MIGRAPHX_CACHE_DIR was set too: only the later plugin EP reads it, and the ROCm 7.2
    # image's in-tree EP does not (tests/fixtures/upstream/onnxruntime_backend/SOURCE.md).
    fixture = ROOT / "tests" / "fixtures" / "upstream" / "onnxruntime_backend"
    in_tree = set((fixture / "ep_env_vars.rocm7.0_internal_testing.txt").read_text().split())
    later = {"ORT_MIGRAPHX_COMPILE_BATCHES"}  # the 2026 in-tree EPs (SOURCE.md)
    assert set(_unit.MIGRAPHX_ENV) <= in_tree | later
    assert "ORT_MIGRAPHX_CACHE_DIR" not in in_tree
    settings = {"migraphx_cache_dir": "/var/cache/x", "models": [
        {"name": "m", "config": {"max_batch_size": 4}}], "env": {}}
    env = _unit.container_env(settings, {"devices": ["/dev/kfd"], "env": {}})
    assert set(env) == set(_unit.MIGRAPHX_ENV)


def test_the_module_replaces_each_file_atomically_with_its_mode(tmp_path):
    # through AnsibleModule.atomic_move, which would give the new file the mode of the one it
    # replaces (or the umask's): the file's own mode wins, and no temporary file is left
    from ansible.module_utils.basic import AnsibleModule
    from ansible.module_utils.testing import patch_module_args

    from ansible_collections.inferops.triton.plugins.modules import triton_service

    with patch_module_args({"image": "i", "model_repository": str(tmp_path / "models"),
                            "_ansible_tmpdir": str(tmp_path)}):
        module = AnsibleModule(argument_spec=triton_service.SPEC, supports_check_mode=True)
    env, unit = tmp_path / "conf" / "triton-server.env", tmp_path / "units" / "new.service"
    env.parent.mkdir()
    env.write_text("OLD=1\n")
    env.chmod(0o644)
    rendered = {"instances": [{"devices": []}],
                "files": {str(env): ("NEW=1\n", "0600"), str(unit): ("[Unit]\n", "0644")}}
    triton_service.TritonService(module).apply_files(
        rendered, {"write": [str(env), str(unit)], "remove": []})
    assert env.read_text() == "NEW=1\n" and unit.read_text() == "[Unit]\n"
    assert stat_mode(env) == 0o600 and stat_mode(unit) == 0o644
    assert not list(tmp_path.rglob("*.inferops-tmp*"))


def stat_mode(path):
    return path.stat().st_mode & 0o7777
