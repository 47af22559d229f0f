"""Bad input never reaches a host: a table of bad inputs across every role, each run through
the playbook a user runs (site.yml, rollout.yml or benchmark.yml) against the converged demo
node (systemd, its own Docker engine, the real CPU-flavour tritonserver).

Each case must fail in the pre-flight with a message that names the variable and its value,
and the node must be left exactly as it was: its model repository (every path, mode, size
and sha256), the server's unit and environment files, the running container (same id, same
start time) - and the server still answers. docs/preflight.md lists the cases; a unit test
keeps that list and this table the same.

Then the other half of the issue: a model that passes every check but that Triton cannot
load (an ONNX file of an opset its ONNX Runtime does not have) makes site.yml fail with
Triton's reason, and the node serves afterwards exactly what it served before the run.

The cases run together, one ansible-playbook run per playbook with an inventory host per
case (each the demo node under another name); a case that run does not reach runs on its
own (see ``outcomes``). The node's state is compared after all of them and after each of the
sequential ones below. Needs root and the lab (make lab).
"""

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor

import onnx
import pytest
from demomodel import GOOD, MODEL_URL, REPOSITORY, entry
from demonode import NODE, recap
from onnx import TensorProto, helper


def named(name):
    return {"triton_models": [entry(name=name)]}


def name_words(name):
    return [f"triton_models[0] ({name!r}): name {name!r} is not a model directory name"]


def onnx_model(path, opset=None, batch=True):
    """A tiny ONNX graph x -> Identity -> y of float[batch, 4] (or float[3, 4] without a
    batch dimension), stamped with ``opset`` when given."""
    dims = ["batch", 4] if batch else [3, 4]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)])
    kwargs = {"opset_imports": [helper.make_opsetid("", opset)]} if opset else {}
    onnx.save(helper.make_model(graph, **kwargs), str(path))
    return str(path)


# (id, playbook, extra variables, words the failure must carry). Each must fail in the
# pre-flight. "fixed-shape" is filled in by the test (it needs a file on the controller).
CASES = [
    # model_repository: the entries, against Triton's schema and the ONNX files
    ("model name is a path out of the repository", "site.yml",
     named("../../../../tmp/pwned"), name_words("../../../../tmp/pwned")),
    ("model name with a slash", "site.yml", named("a/b"), name_words("a/b")),
    ("model name with a space", "site.yml", named("my model"), name_words("my model")),
    ("model name is a dot", "site.yml", named("."), name_words(".")),
    ("unknown field", "site.yml", {"triton_models": [entry(config={"max_batch_sise": 8})]},
     ["config.max_batch_sise: unknown field of ModelConfig"]),
    ("bad enum", "site.yml", {"triton_models": [entry(config={"input": [
        {"name": "data", "data_type": "TYPE_FLOAT32", "dims": [3, 224, 224]}]})]},
     ["config.input[0].data_type: 'TYPE_FLOAT32' is not a valid DataType", "TYPE_FP32"]),
    ("wrong type", "site.yml", {"triton_models": [entry(config={"max_batch_size": "eight"})]},
     ["config.max_batch_size: 'eight' (str) is not an integer"]),
    ("output not in the ONNX file", "site.yml", {"triton_models": [entry(config={"output": [
        {"name": "prob", "data_type": "TYPE_FP32", "dims": [1000]}]})]},
     ["config.output[0].name 'prob' is not an output of the ONNX file",
      "resnetv24_dense0_fwd"]),
    ("dims disagree with the ONNX file", "site.yml", {"triton_models": [entry(config={
        "input": [{"name": "data", "data_type": "TYPE_FP32", "dims": [3, 224, 225]}]})]},
     ["config.input[0].dims [3, 224, 225] disagree with the ONNX file's shape [3, 224, 224]"]),
    ("data type disagrees with the ONNX file", "site.yml", {"triton_models": [entry(config={
        "output": [{"name": "resnetv24_dense0_fwd", "data_type": "TYPE_FP16", "dims": [1000]}]})]},
     ["config.output[0].data_type TYPE_FP16 differs from the ONNX file's TYPE_FP32"]),
    ("max_batch_size on a model without a batch dimension", "site.yml", "fixed-shape",
     ["max_batch_size is 4, but 'x' has no variable batch dimension"]),
    ("unknown MIGraphX key", "site.yml", {"triton_models": [entry(accelerator={
        "name": "migraphx", "parameters": {"migraphx_fast_math": True}})]},
     ["accelerator.parameters.migraphx_fast_math: True (bool): unknown MIGraphX accelerator "
      "key"]),
    ("bad MIGraphX precision", "site.yml", {"triton_models": [entry(accelerator={
        "name": "migraphx", "parameters": {"precision_mode": "FP12"}})]},
     ["precision_mode: 'FP12' is not one of FP32, FP16"]),
    ("MIGraphX cache inside the repository", "site.yml", {"triton_models": [entry(accelerator={
        "name": "migraphx", "parameters": {"migraphx_model_cache_dir": f"{REPOSITORY}/.mgx"}})]},
     [f"migraphx_model_cache_dir '{REPOSITORY}/.mgx' is inside the model repository"]),
    ("checksum mismatch", "site.yml", {"triton_models": [entry(versions=[
        {"version": 1, "url": MODEL_URL, "checksum": "sha256:" + "0" * 64}])]},
     ["The checksum for", "did not match " + "0" * 64]),
    ("unreachable URL", "site.yml", {"triton_models": [entry(versions=[
        {"version": 1, "url": "http://127.0.0.1:9/resnet50.onnx",
         "checksum": "sha256:" + "0" * 64}])]},
     ["http://127.0.0.1:9/resnet50.onnx", "Connection refused"]),
    ("duplicate model names", "site.yml", {"triton_models": [entry(), entry()]},
     ["triton_models[1] (resnet50): duplicate model name, already used by triton_models[0]"]),
    ("version policy names a missing version", "site.yml", {"triton_models": [entry(config={
        "version_policy": {"specific": {"versions": [2]}}})]},
     ["config.version_policy.specific.versions names [2], which versions does not provide"]),
    ("a version listed twice", "site.yml",
     {"triton_models": [entry(versions=GOOD["versions"] * 2)]},
     ["versions[1]: version 1 is listed twice"]),
    ("unknown entry key", "site.yml", {"triton_models": [entry(instance_groups=2)]},
     ["triton_models.instance_groups. Supported parameters include: accelerator, config"]),
    ("config.name differs", "site.yml", {"triton_models": [entry(config={"name": "resnet"})]},
     ["config.name 'resnet' differs from the entry name 'resnet50'"]),
    ("file missing on the controller", "site.yml", {"triton_models": [entry(versions=[
        {"version": 1, "path": "/nonexistent/resnet50.onnx"}])]},
     ["/nonexistent/resnet50.onnx: no such file on the controller"]),
    ("url without a checksum", "site.yml", {"triton_models": [entry(versions=[
        {"version": 1, "url": MODEL_URL}])]},
     ["missing parameter(s) required by 'url': checksum found in triton_models -> versions"]),
    ("both url and path", "site.yml", {"triton_models": [entry(versions=[
        dict(GOOD["versions"][0], path="/srv/resnet50.onnx")])]},
     ["parameters are mutually exclusive: url|path found in triton_models -> versions"]),
    # model_repository: the role's own settings
    ("staging inside the repository", "site.yml",
     {"model_repository_staging_dir": f"{REPOSITORY}/.stage"},
     [f"model_repository_staging_dir {REPOSITORY}/.stage is inside model_repository_path"]),
    ("bad download mode", "site.yml", {"model_repository_download": "everywhere"},
     ["value of model_repository_download must be one of: controller, node, got: everywhere"]),
    ("relative repository path", "site.yml", {"model_repository_path": "models"},
     ["model_repository_path: 'models' is not an absolute path"]),
    ("empty repository owner", "site.yml", {"model_repository_owner": ""},
     ["model_repository_owner: empty"]),
    # triton_server
    ("HTTP port equal to the gRPC port", "site.yml", {"triton_server_http_port": 8001},
     ["triton_server_grpc_port: 8001 is also triton_server_http_port"]),
    ("port out of range", "site.yml", {"triton_server_metrics_port": 70000},
     ["triton_server_metrics_port: 70000 is not a port; use 1-65535"]),
    ("port that is not a number", "site.yml", {"triton_server_http_port": "http"},
     ["'triton_server_http_port' is of type str", "'http'"]),
    ("extra_args overriding the repository", "site.yml",
     {"triton_server_extra_args": ["--model-repository=/srv/models"]},
     ["triton_server_extra_args: '--model-repository=/srv/models' sets --model-repository",
      "triton_server_model_repository"]),
    ("GPU mode on a host without GPUs", "site.yml", {"triton_server_gpu_mode": "all"},
     ["triton_server_gpu_mode: 'all' but rocm_facts finds no GPU on this host"]),
    ("bind address that is not an address", "site.yml",
     {"triton_server_bind_address": "localhost"},
     ["triton_server_bind_address: 'localhost' is not an IP address"]),
    ("restricted APIs without the header value", "site.yml",
     {"triton_server_restricted_apis": ["model-repository"]},
     ["triton_server_restricted_apis is ['model-repository'], which needs "
      "triton_server_restricted_key", "triton_server_restricted_value", "(it is empty)"]),
    ("environment name an env file cannot hold", "site.yml",
     {"triton_server_env": {"BAD-NAME": "1"}},
     ["triton_server_env: 'BAD-NAME'='1' cannot be written to an env file"]),
    ("relative MIGraphX cache directory", "site.yml",
     {"triton_server_migraphx_cache_dir": "cache"},
     ["triton_server_migraphx_cache_dir: 'cache' is not an absolute path"]),
    ("zero start timeout", "site.yml", {"triton_server_start_timeout": 0},
     ["triton_server_start_timeout: 0 is below 1"]),
    ("bad model control mode", "site.yml", {"triton_server_model_control_mode": "auto"},
     ["value of triton_server_model_control_mode must be one of: none, poll, explicit, got: "
      "auto"]),
    # triton_image
    ("empty image name", "site.yml", {"triton_image_name": ""},
     ["triton_image_name: '' is not an image repository name"]),
    ("image name with capitals", "site.yml", {"triton_image_name": "Inferops/Triton"},
     ["triton_image_name: 'Inferops/Triton' is not an image repository name"]),
    ("image tag with a space", "site.yml", {"triton_image_tag": "my tag"},
     ["triton_image_tag: 'my tag' is not an image tag"]),
    ("unknown image source", "site.yml", {"triton_image_source": "ftp"},
     ["value of triton_image_source must be one of: cpu, build, pull, load, got: ftp"]),
    ("load without an archive", "site.yml", {"triton_image_source": "load"},
     ["triton_image_source is load, so triton_image_archive must name"]),
    ("pull without a reference", "site.yml",
     {"triton_image_source": "pull", "triton_image_pull_ref": ""},
     ["triton_image_pull_ref: '' is not an image reference"]),
    ("build with a reserved build.py option", "site.yml",
     {"triton_image_source": "build", "triton_image_build_extra_args": ["--linux-distro=rhel"]},
     ["triton_image_build_extra_args: '--linux-distro=rhel'"]),
    ("registry distribution without a registry", "site.yml",
     {"triton_image_distribution": "registry"},
     ["triton_image_distribution is registry, so triton_image_registry must name"]),
    ("registry user without a password", "site.yml",
     {"triton_image_registry_username": "ci"},
     ["triton_image_registry_username and triton_image_registry_password must be set together"]),
    ("removed variable still set", "site.yml", {"triton_image_gpu_targets": ["gfx942"]},
     ["triton_image_gpu_targets is set to ['gfx942'], but it was removed"]),
    # docker_engine
    ("relative daemon.json", "site.yml", {"docker_engine_daemon_json_path": "daemon.json"},
     ["docker_engine_daemon_json_path: 'daemon.json' is not an absolute path"]),
    ("unknown service state", "site.yml", {"docker_engine_service_state": "running"},
     ["value of docker_engine_service_state must be one of: started, stopped, got: running"]),
    ("no engine packages", "site.yml", {"docker_engine_packages": []},
     ["docker_engine_packages: empty"]),
    # benchmark (site.yml runs it; benchmark.yml has the same pre-flight)
    ("concurrency range backwards", "site.yml", {"benchmark_concurrency_range": "4:1"},
     ["benchmark_concurrency_range='4:1': start must be above 0, end at least start"]),
    ("request rate range that is not numbers", "site.yml",
     {"benchmark_request_rate_range": "fast"},
     ["benchmark_request_rate_range='fast': expected start[:end[:step]]"]),
    ("batch size zero", "site.yml", {"benchmark_batch_sizes": [0]},
     ["benchmark_batch_sizes: 0 is below 1"]),
    ("batch size above the model's max_batch_size", "site.yml",
     {"benchmark_batch_sizes": [1, 16]},
     ["benchmark_batch_sizes: [16] exceed the max_batch_size 8 of model 'resnet50'"]),
    ("benchmarking a model that is not served", "site.yml", {"benchmark_models": ["bert"]},
     ["benchmark_models: 'bert' is not in triton_models"]),
    ("benchmark extra_args overriding the range", "site.yml",
     {"benchmark_extra_args": ["--concurrency-range=1:64"]},
     ["benchmark_extra_args: '--concurrency-range=1:64' sets --concurrency-range"]),
    ("unknown protocol", "site.yml", {"benchmark_protocol": "tcp"},
     ["value of benchmark_protocol must be one of: grpc, http, got: tcp"]),
    ("percentile 100", "site.yml", {"benchmark_percentile": 100},
     ["benchmark_percentile=100: must be 1 to 99"]),
    ("benchmark.yml: batch size zero", "benchmark.yml", {"benchmark_batch_sizes": [0]},
     ["benchmark_batch_sizes: 0 is below 1"]),
    # rocm (rocm_enabled)
    ("ROCm release that is not one", "site.yml", {"rocm_enabled": True, "rocm_version": "seven"},
     ["rocm_version: 'seven' is not a ROCm release"]),
    ("relative apt keyring", "site.yml", {"rocm_enabled": True, "rocm_apt_keyring": "rocm.gpg"},
     ["rocm_apt_keyring: 'rocm.gpg' is not an absolute path"]),
    ("ROCm with nothing to install", "site.yml",
     {"rocm_enabled": True, "rocm_dkms": False, "rocm_userspace": False},
     ["rocm_dkms and rocm_userspace are both false"]),
    # rollout.yml
    ("negative failed repositories to keep", "rollout.yml",
     {"rollout_keep_failed_repositories": -1},
     ["rollout_keep_failed_repositories: -1 is below 0"]),
    ("drain URL that is not a URL", "rollout.yml", {"rollout_drain_url": "lb.example/drain"},
     ["rollout_drain_url: 'lb.example/drain' is not an http(s) URL"]),
    # several at once: one list names them all
    ("every bad variable at once", "site.yml",
     {"triton_image_name": "", "benchmark_concurrency_range": "4:1",
      "triton_server_http_port": 8001, "model_repository_path": "models",
      "triton_models": [entry(name="../x")]},
     ["triton_image_name: ''", "benchmark_concurrency_range='4:1'",
      "triton_server_grpc_port: 8001 is also triton_server_http_port",
      "model_repository_path: 'models'", "name '../x' is not a model directory name"]),
]


@pytest.fixture(scope="module")
def node(demo_node):
    rc, out = demo_node.converged()
    assert rc == 0, out[-5000:]
    return demo_node


def failures(output):
    """Each host's failure as the play printed it: the error lines ansible-core prints for
    the result (``[ERROR]: Task failed: ...`` and its origin), then its ``fatal: [host]``
    line and the indented lines under it."""
    blocks, pending, host = {}, [], None
    for line in output.splitlines():
        match = re.match(r"fatal: \[([^\]]+)\]", line)
        if match:
            host = match[1]
            blocks[host], pending = [*pending, line], []
        elif host and (not line.strip() or line[0].isspace()):
            blocks[host].append(line)
        else:
            host = None
            # a task's header or another host's result starts afresh
            pending = [] if re.match(r"(TASK \[|PLAY |ok: |changed: |skipping: )", line) else \
                [*pending, line]
    return {host: "\n".join(lines) for host, lines in blocks.items()}


@pytest.fixture(scope="module")
def outcomes(node, tmp_path_factory):
    """Every case run, and the node's state before and after them all.

    One ansible-playbook run per playbook holds all its cases: an inventory host per case,
    each the demo node under another name, with the case's variables as host variables. Each
    case's failure is its own host's ``fatal`` message. The pre-flight play is
    any_errors_fatal, so the run stops after the first task that fails: the cases that
    task did not refuse (the model files' checks come later) run again on their own, four
    at a time, and their failure is their run's output."""
    fixed = onnx_model(tmp_path_factory.mktemp("fixed") / "fixed.onnx", batch=False)
    before = node.state()

    def variables(case):
        if case[2] != "fixed-shape":
            return case[2]
        return {"triton_models": [entry(), {
            "name": "fixed", "config": {
                "max_batch_size": 4,
                "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [4]}],
                "output": [{"name": "y", "data_type": "TYPE_FP32", "dims": [4]}]},
            "versions": [{"version": 1, "path": fixed}]}],
            "benchmark_batch_sizes": [1]}

    hosts = {case[0]: f"bad-input-{index:02d}" for index, case in enumerate(CASES)}
    playbooks = sorted({case[1] for case in CASES})
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = dict(zip(playbooks, pool.map(lambda playbook: node.play(playbook, hosts={
            hosts[case[0]]: variables(case) for case in CASES if case[1] == playbook}),
            playbooks), strict=True))
        results, alone = {}, []
        for case in CASES:
            rc, out = together[case[1]]
            message = failures(out).get(hosts[case[0]])
            if message is None:
                alone.append(case)
            else:
                results[case[0]] = (rc, message, out)
        for case, (rc, out) in zip(alone, pool.map(
                lambda case: node.play(case[1], "-e", json.dumps(variables(case))), alone),
                strict=True):
            results[case[0]] = (rc, out, out)
    return {"before": before, "after": node.state(), "serves": node.serves(),
            "results": results, "alone": [case[0] for case in alone]}


def test_the_table_has_at_least_forty_cases_across_every_role():
    assert len(CASES) >= 40
    text = json.dumps([case[2] for case in CASES])
    for prefix in ("triton_models", "model_repository_", "triton_server_", "triton_image_",
                   "docker_engine_", "benchmark_", "rocm_", "rollout_"):
        assert prefix in text
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_bad_input_fails_in_the_pre_flight_naming_it(outcomes, case):
    rc, message, out = outcomes["results"][case[0]]
    assert rc != 0, out[-3000:]
    flat = " ".join(message.split())
    for word in case[3]:
        assert " ".join(word.split()) in flat, message[-3000:]
    # nothing after the pre-flight ran: no role touched the node
    for later in ("Deploy and benchmark Triton Inference Server", "Stage the new image",
                  "PLAY [Benchmark Triton Inference Server]"):
        assert later not in out, out[-3000:]


def test_the_node_is_unchanged_and_still_serving(outcomes):
    assert outcomes["after"] == outcomes["before"]
    assert outcomes["serves"]


def with_opset99(directory):
    """The demo's resnet50 and ``opset99``, an ONNX file of opset 99: its signature passes
    every check on the controller, but the server's ONNX Runtime cannot load it."""
    tiny = onnx_model(directory / "tiny.onnx", opset=99)
    sha = hashlib.sha256(open(tiny, "rb").read()).hexdigest()
    return [entry(), {
        "name": "opset99", "config": {
            "max_batch_size": 4,
            "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [4]}],
            "output": [{"name": "y", "data_type": "TYPE_FP32", "dims": [4]}],
            "instance_group": [{"kind": "KIND_CPU", "count": 1}]},
        "versions": [{"version": 1, "path": tiny, "checksum": f"sha256:{sha}"}]}]


def test_a_model_triton_cannot_load_fails_the_run_and_the_node_serves_as_before(
        node, tmp_path):
    """An ONNX file of opset 99 passes every check on the controller (its signature is
    right), but the server's ONNX Runtime cannot load it: the gate fails with Triton's
    reason, the node goes back to its rollback point and serves what it served before."""
    before = node.state()
    assert node.serves()
    models = with_opset99(tmp_path)
    rc, out = node.play("site.yml", "-e", json.dumps({"triton_models": models,
                                                      "benchmark_enabled": False}))
    assert rc != 0, out[-4000:]
    flat = " ".join(out.split())
    assert "did not pass the readiness gate" in flat, out[-4000:]
    assert "model opset99 is UNAVAILABLE" in flat, out[-4000:]
    # Triton's own reason, from ONNX Runtime
    assert "opset" in flat.split("model opset99 is UNAVAILABLE", 1)[1].lower(), out[-4000:]
    assert f"{NODE} serves again what it served before this run" in flat, out[-4000:]
    # the repository and the unit files are as before; the container is a new one (the
    # failed run restarted the server, the rollback restarted it on the old state)
    after = node.state()
    assert after["repository"] == before["repository"]
    assert after["files"] == before["files"]
    assert node.serves()
    assert not node.serves("opset99")
    assert node.exec("test", "-e", f"{REPOSITORY}/opset99").returncode != 0
    # and a converge afterwards has nothing to put back
    rc, out = node.play("site.yml", "-e", "benchmark_enabled=false")
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 0, out[-4000:]


def test_with_rollback_off_the_failed_state_is_left_for_debugging(node, tmp_path):
    models = with_opset99(tmp_path)
    rc, out = node.play("site.yml", "-e", json.dumps({
        "triton_models": models, "benchmark_enabled": False, "triton_server_rollback": False}))
    assert rc != 0
    assert "is left as the failed run left it (triton_server_rollback is false)" in \
        " ".join(out.split()), out[-4000:]
    assert node.exec("test", "-e", f"{REPOSITORY}/opset99/config.pbtxt").returncode == 0
    # put right again: the model left behind is pruned (Triton loads every directory of
    # the repository in 'none' model control)
    rc, out = node.play("site.yml", "-e", "benchmark_enabled=false",
                        "-e", "model_repository_prune=true")
    assert rc == 0, out[-4000:]
    assert node.serves()
    assert node.exec("test", "-e", f"{REPOSITORY}/opset99").returncode != 0
