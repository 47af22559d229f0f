"""triton_image's from-source path, for real: git and Docker on this machine, against a git
repository of AMD's ROCm/triton-inference-server-server snapshot (lab/rocm_standin.py: its real
branch, build.py, scripts and Dockerfiles, plus one lab commit; GitHub is not reachable here).
The module resolves the branch and what build.py clones with git ls-remote, fetches the commit,
runs AMD's base script and AMD's build.py with the role's arguments, and labels the result.

What stands in, and why: AMD's two base Dockerfiles (FROM AMD's ROCm images, unreachable) say
FROM inferops-lab/debian:12 here - this test is about the build's mechanics, so its image does
not serve (tests/integration/test_rocm_flavour.py builds one that does) - and build.py builds
its final image with lab/amd_dockerfile.py instead of running the buildbase image and hours of
compiling; the repositories build.py clones are one-commit stand-ins under a GitHub stand-in.

Needs the lab's Docker engine, inferops-lab/debian:12 (make lab) and ../shared/upstream.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab"))
import labctl  # noqa: E402
import rocm_standin  # noqa: E402

IMAGE = "inferops-test/tritonserver:build"
GUIDE_ARGS = ("--no-container-pull --enable-logging --enable-stats --enable-tracing "
              "--enable-rocm --enable-metrics --verbose --endpoint=grpc --endpoint=http "
              "--backend=onnxruntime --target-platform=linux --no-container-interactive "
              "--linux-distro=ubuntu")
TOUCHED = [IMAGE, "inferops-test/tritonserver:role", "tritonserver:latest",
           "localhost/ubuntu24.04_rocm7.2", "localhost/debian12_rocm7.2"]


def host_env(repo):
    """This machine as a builder host: git reaches GitHub's stand-in, and ``docker`` is the
    distribution's docker.io CLI (/usr/bin), the one the docker_engine role installs - AMD's
    Ubuntu base script passes ``--progress=plain``, which a newer CLI without the buildx
    plugin (this machine's /usr/local/bin/docker) refuses."""
    return {**rocm_standin.git_config(repo / "upstream"),
            "PATH": "/usr/bin:" + os.environ.get("PATH", "")}


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    if not rocm_standin.SERVER_TARBALL.is_file():
        pytest.skip(f"{rocm_standin.SERVER_TARBALL} is not here: the build path runs against "
                    "AMD's own repository")
    work = tmp_path_factory.mktemp("rocm-server")
    # this Debian machine as a builder, with the packages the role gives a Debian builder
    # (build.py imports requests and distro), which the module tests do not run the role for
    builder = yaml.safe_load((ROOT / "roles" / "triton_image" / "vars" / "main.yml").read_text())
    labctl.apt_install(*builder["_triton_image_builder_packages"]["Debian"])
    docker("rmi", "-f", *TOUCHED)
    rocm_standin.repo(work / "upstream", "inferops-lab/debian:12")
    yield work
    docker("rmi", "-f", *TOUCHED)


def build(repo, *flags, **options):
    """One task of the module on localhost; returns its result."""
    params = {"name": IMAGE, "source_url": str(repo / "upstream"),
              "checkout_dir": str(repo / "checkout"), "log_path": str(repo / "build.log"),
              **options}
    playbook = repo / "play.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Build", "inferops.triton.triton_image": params,
                   "register": "out"}]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", **host_env(repo))
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={ROOT / '.venv' / 'bin' / 'python'}",
         str(playbook), *flags], capture_output=True, text=True, env=env, check=False,
        timeout=900)
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return proc.returncode, result


def image_id():
    return docker("image", "inspect", "--format", "{{ .Id }}", IMAGE).stdout.strip() or None


def generated(repo, name="cmake_build"):
    """What AMD's build.py generated in the last build's checkout."""
    return (repo / "checkout" / "build" / name).read_text()


def config(image=IMAGE):
    return json.loads(docker("image", "inspect", "--format", "{{ json .Config }}",
                             image).stdout)


def test_first_run_builds_with_the_guides_commands(repo):
    rc, result = build(repo)
    assert rc == 0, result.get("msg")
    assert result["changed"]
    # AMD's build.py ran with the role's arguments: its own log lines, what it generated,
    # and the image its Dockerfile describes (AMD's entrypoint and version label)
    log = (repo / "build.log").read_text()
    assert f"$ python3 build.py {GUIDE_ARGS}" in log
    assert 'component "core" at tag/branch "rocm7.2_r25.12"' in log
    assert "inferops lab: skipped the buildbase image and the compile" in log
    assert "triton-inference-server-python_backend" not in generated(repo)
    assert config()["Entrypoint"] == ["/opt/rocm/rocm_entrypoint.sh"]
    labels = config()["Labels"]
    assert labels["com.amd.tritonserver.version"] == "2.64.0"
    upstream_head = subprocess.run(["git", "-C", str(repo / "upstream"), "rev-parse", "HEAD"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    assert labels["org.inferops.triton.commit"] == upstream_head == result["commit"]
    assert labels["org.inferops.triton.provenance"] == result["provenance"]
    assert labels["org.inferops.triton.build-args"] == GUIDE_ARGS
    # what build.py clones by branch, resolved through the lab's GitHub stand-in
    assert len(result["clones"]) == 7 and "python_backend" not in result["clones"]
    assert f"onnxruntime={result['clones']['onnxruntime']['commit']}" in \
        labels["org.inferops.triton.clones"].split()


def test_second_run_is_a_no_op_decided_by_the_provenance(repo):
    before = image_id()
    rc, result = build(repo)
    assert rc == 0 and not result["changed"], result
    assert result["previous_provenance"] == result["provenance"]
    assert image_id() == before


def test_check_mode_reports_a_changed_argument_and_builds_nothing(repo):
    before = image_id()
    rc, result = build(repo, "--check", backends=["onnxruntime", "python"])
    assert rc == 0 and result["changed"], result
    assert image_id() == before


def test_a_changed_argument_rebuilds(repo):
    before = image_id()
    rc, result = build(repo, backends=["onnxruntime", "python"])
    assert rc == 0 and result["changed"], result
    assert image_id() != before
    assert "--backend=onnxruntime --backend=python" in config()["Labels"][
        "org.inferops.triton.build-args"]
    # build.py now clones AMD's python backend fork too
    assert ("-b rocm7.2_r25.12 https://github.com/ROCm/triton-inference-server-python_backend"
            in generated(repo))
    assert (f"$ python3 build.py {GUIDE_ARGS}".replace(
        "--backend=onnxruntime", "--backend=onnxruntime --backend=python")
        in (repo / "build.log").read_text())


def test_a_moved_branch_rebuilds_at_the_new_commit(repo):
    upstream = repo / "upstream"
    (upstream / "NOTICE").write_text("a later commit on the branch\n")
    subprocess.run(["git", "-C", str(upstream), "add", "NOTICE"], check=True)
    subprocess.run(["git", "-C", str(upstream), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "-m", "later"], check=True)
    rc, result = build(repo, backends=["onnxruntime", "python"])
    assert rc == 0 and result["changed"], result
    head = subprocess.run(["git", "-C", str(upstream), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert result["commit"] == head


def test_a_moved_branch_that_build_py_clones_rebuilds(repo):
    rc, before = build(repo, backends=["onnxruntime", "python"])
    assert rc == 0 and not before["changed"], before
    commit = rocm_standin.move_clone(repo / "upstream", "onnxruntime")
    rc, result = build(repo, "--check", backends=["onnxruntime", "python"])
    assert rc == 0 and result["changed"], result
    assert result["clones"]["onnxruntime"]["commit"] == commit
    assert result["clones"]["migraphx"] == before["clones"]["migraphx"]


def test_a_failing_build_returns_the_tail_of_its_log(repo):
    rc, result = build(repo, extra_args=["--enable-gpu-metrics-typo"])
    assert rc != 0
    assert "python3 build.py" in result["msg"] and "unrecognized arguments" in result["msg"]
    assert "full log in" in result["msg"]


@pytest.fixture(scope="module")
def archive(repo):
    """The built image, saved and gzipped as it would travel to nodes without a registry."""
    path = repo / "tritonserver.tar.gz"
    subprocess.run(f"docker save {IMAGE} | gzip -1 > {path}", shell=True, check=True)
    return path


def test_load_skips_a_host_that_holds_the_same_image_id(repo, archive):
    before = image_id()
    rc, result = build(repo, source="load", archive=str(archive))
    assert rc == 0 and not result["changed"], result
    assert result["image_id"] == result["previous_image_id"] == before


def test_load_in_check_mode_reports_and_loads_nothing(repo, archive):
    built = image_id()
    docker("rmi", IMAGE)
    rc, result = build(repo, "--check", source="load", archive=str(archive))
    assert rc == 0 and result["changed"], result
    assert result["image_id"] == built and result["previous_image_id"] is None
    assert image_id() is None


def test_load_brings_the_image_back_then_is_a_no_op(repo, archive):
    rc, result = build(repo, source="load", archive=str(archive))
    assert rc == 0 and result["changed"], result
    assert image_id() == result["image_id"]
    assert config()["Entrypoint"] == ["/opt/rocm/rocm_entrypoint.sh"]
    rc, again = build(repo, source="load", archive=str(archive))
    assert rc == 0 and not again["changed"], again


def test_load_of_something_that_is_not_an_archive_says_so(repo):
    bogus = repo / "not-an-image.tar"
    bogus.write_text("hello\n")
    rc, result = build(repo, source="load", archive=str(bogus))
    assert rc != 0
    assert "is not a docker save archive" in result["msg"]


def role(repo, *flags, pre_tasks=(), **variables):
    """The triton_image role on localhost; returns (rc, output)."""
    playbook = repo / "role.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "pre_tasks": list(pre_tasks),
        "roles": [{"role": "inferops.triton.triton_image"}],
        "tasks": [{"name": "Show", "ansible.builtin.debug": {
            "msg": {"id": "{{ triton_image_id }}", "changed": "{{ triton_image_changed }}"}}}]}]))
    values = {"triton_image_name": "inferops-test/tritonserver", "triton_image_tag": "role",
              "triton_image_host_build_dir": str(repo / "role-build"),
              "triton_image_source_url": str(repo / "upstream"), **variables}
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), **host_env(repo))
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={ROOT / '.venv' / 'bin' / 'python'}",
         "-e", json.dumps(values), str(playbook), *flags],
        capture_output=True, text=True, env=env, check=False, timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_role_builds_once_then_finds_nothing_to_do(repo):
    rc, out = role(repo, triton_image_source="build")
    assert rc == 0, out[-3000:]
    assert re.search(r"localhost\s+:\s+ok=\d+\s+changed=[1-9]", out), out[-2000:]
    rc, out = role(repo, triton_image_source="build")
    assert rc == 0, out[-3000:]
    assert re.search(r"localhost\s+:\s+ok=\d+\s+changed=0\s", out), out[-2000:]
    docker("rmi", "inferops-test/tritonserver:role")


def test_the_role_refuses_load_without_an_archive(repo):
    rc, out = role(repo, triton_image_source="load")
    assert rc != 0
    assert "triton_image_archive must name a docker save archive" in out


def test_the_role_refuses_the_removed_gpu_targets_variable(repo):
    # build.py offers no GPU target choice; a variable that only labelled the image misled.
    rc, out = role(repo, triton_image_source="build", triton_image_gpu_targets=["gfx942"])
    assert rc != 0
    assert ("triton_image_gpu_targets is set to ['gfx942'], but it was removed: build.py "
            "offers no GPU target choice") in " ".join(out.split())
