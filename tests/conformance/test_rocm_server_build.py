"""What the collection takes from AMD's ROCm fork of the Triton server, checked against the
repository itself (../shared/upstream, branch rocm7.2_r25.12): the base scripts, the guide's
commands, the image's entrypoint, and what AMD's own build.py generates when it runs with
exactly the arguments the role passes (``--dryrun``: it writes the build scripts and
Dockerfiles, then stops before any docker or git step).

The dry runs here use the controller's userland; tests/integration/test_build_py_userlands.py
runs the same on Debian 12 and Ubuntu 24.04 userlands, where build.py guesses its platform.
"""

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.inferops.triton.plugins.module_utils.image import _build as tb
from ansible_collections.inferops.triton.plugins.module_utils.server._unit import (
    SERVER_COMMAND,
    server_args,
)

ROOT = Path(__file__).resolve().parents[2]
INSTALL_DOC = "amd-docs/install/triton-inference-server-install.rst"


def guide_blocks(server_repo):
    """The shell blocks of AMD's install guide, each as one line of words."""
    text = (server_repo / INSTALL_DOC).read_text()
    blocks, current = [], None
    for line in text.splitlines():
        if line.strip().startswith(".. code-block:: bash"):
            current = []
            blocks.append(current)
        elif current is not None and (line.startswith("      ") or not line.strip()):
            current.append(line.strip())
        elif current is not None and line.strip():
            current = None
    return [" ".join(" ".join(b).replace("\\ ", " ").split()) for b in blocks]


def guide_command(server_repo, program):
    for block in guide_blocks(server_repo):
        if program in block:
            return shlex.split(block[block.index(program):])
    raise AssertionError(f"{program} is not in {INSTALL_DOC}")


@pytest.mark.parametrize("distro", sorted(tb.DISTROS))
@pytest.mark.parametrize("rocm_version", ["7.2", "7.2.0", "7.2.3"])
def test_the_base_script_the_role_runs_exists(server_repo, distro, rocm_version):
    script = server_repo / tb.base_script(distro, rocm_version)
    assert script.is_file(), sorted(p.name for p in (server_repo / "scripts").iterdir())


def test_the_guides_build_flags_are_the_roles(server_repo):
    guide = guide_command(server_repo, "build.py")[1:]
    role = tb.build_py_args("ubuntu", ["onnxruntime", "python"])
    # the guide's words, in its order; the role adds only the unattended flags
    assert [a for a in role if a not in tb.UNATTENDED_FLAGS] == guide
    assert "git clone -b rocm7.2_r25.12" in " ".join(guide_blocks(server_repo))
    assert tb.DEFAULT_REF == "rocm7.2_r25.12"


def test_the_guides_prebuilt_image_is_the_roles_default(server_repo):
    pulled = guide_command(server_repo, "docker pull")[2]
    defaults = yaml.safe_load((ROOT / "roles" / "triton_image" / "defaults" / "main.yml")
                              .read_text())
    assert defaults["triton_image_pull_ref"] == pulled


def test_the_guides_server_command_is_the_units(server_repo):
    run = guide_command(server_repo, "docker run")
    # the guide's docker run names the image without "rocm/" (its pull names it with)
    tag = ":tritoninferenceserver-25.12.amd1_rocm7.2_ubuntu24.04_py3.12"
    image = next(i for i, word in enumerate(run) if word.endswith(tag))
    command = run[image + 1:]
    assert command[0] == SERVER_COMMAND == "tritonserver"
    # the unit's command with the role's defaults: --exit-on-error=false as in the guide, so
    # one model that fails to load does not take the host's other models down
    role = yaml.safe_load((ROOT / "roles" / "triton_server" / "defaults" / "main.yml")
                          .read_text())
    ours = server_args({key: role[f"triton_server_{key}"] for key in (
        "model_control_mode", "strict_readiness", "exit_on_error", "log_verbose")})
    assert set(command) <= set(ours), (command, ours)


def entrypoint_tree(server_repo, root):
    """/opt/rocm as build.py's Dockerfile lays it out: docker/cpu_only/ then
    docker/entrypoint.d/ over its entrypoint.d."""
    opt = root / "opt" / "rocm"
    shutil.copytree(server_repo / "docker" / "cpu_only", opt)
    shutil.copytree(server_repo / "docker" / "entrypoint.d", opt / "entrypoint.d",
                    dirs_exist_ok=True)
    return opt / "rocm_entrypoint.sh"


def test_the_units_command_starts_tritonserver_through_amds_entrypoint(server_repo, tmp_path):
    entrypoint = entrypoint_tree(server_repo, tmp_path)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "tritonserver").write_text(
        "#!/usr/bin/python3\nimport json, sys\nprint('ARGV ' + json.dumps(sys.argv[1:]))\n")
    (bindir / "tritonserver").chmod(0o755)
    args = server_args({"model_control_mode": "none", "strict_readiness": True,
                        "exit_on_error": False, "log_verbose": 0})
    env = {"PATH": f"{bindir}:/usr/bin:/bin"}
    proc = subprocess.run(["bash", str(entrypoint), *args], capture_output=True, text=True,
                          env=env, check=False, timeout=30)
    assert proc.returncode == 0, proc.stderr
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("ARGV ")]
    assert json.loads(line[5:]) == args[1:]
    # What the unit ran before: the options straight after the image. exec takes the first
    # as its own option and the container exits 2, restarting forever.
    old = subprocess.run(["bash", str(entrypoint), *args[1:]], capture_output=True, text=True,
                         env=env, check=False, timeout=30)
    assert old.returncode != 0 and "invalid option" in old.stderr


@pytest.fixture(scope="session")
def dry_runs(server_repo, build_py_python, tmp_path_factory):
    """AMD's build.py --dryrun with the role's arguments, per distro: what it generated."""
    out = {}
    for distro in sorted(tb.DISTROS):
        work = tmp_path_factory.mktemp(f"dryrun-{distro}") / "server"
        shutil.copytree(server_repo, work, symlinks=True)
        args = tb.build_py_args(distro, ["onnxruntime", "python"])
        proc = subprocess.run([build_py_python, "build.py", "--dryrun", *args], cwd=work,
                              capture_output=True, text=True, check=False, timeout=120)
        files = {name: (work / "build" / name).read_text()
                 for name in ("Dockerfile", "docker_build", "cmake_build")
                 if (work / "build" / name).is_file()}
        out[distro] = {"proc": proc, "files": files}
    return out


@pytest.mark.parametrize("distro", sorted(tb.DISTROS))
def test_build_py_accepts_the_roles_arguments(dry_runs, distro):
    proc = dry_runs[distro]["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("distro", sorted(tb.DISTROS))
def test_the_generated_image_runs_amds_entrypoint_on_the_base_the_script_makes(
        dry_runs, server_repo, distro):
    dockerfile = dry_runs[distro]["files"]["Dockerfile"]
    entrypoints = re.findall(r"^ENTRYPOINT (.*)$", dockerfile, re.M)
    assert entrypoints[-1] == '["/opt/rocm/rocm_entrypoint.sh"]'
    assert "ENV PATH /opt/tritonserver/bin:${PATH}" in dockerfile
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.M).group(1)
    assert base == f"localhost/{tb.DISTROS[distro]}_rocm7.2"
    script = (server_repo / tb.base_script(distro, "7.2")).read_text()
    assert f"-t {base} " in script


@pytest.mark.parametrize("distro", sorted(tb.DISTROS))
def test_the_build_runs_without_a_terminal_and_leaves_tritonserver(dry_runs, distro):
    docker_build = dry_runs[distro]["files"]["docker_build"]
    runs = [line for line in docker_build.splitlines() if line.startswith("docker run ")]
    assert runs and all(" -it " not in f" {line} " for line in runs), runs
    assert "docker build -t tritonserver -f" in docker_build
    assert tb.BUILT_IMAGE == "tritonserver:latest"


def cmake_defines(script):
    return dict(re.findall(r'"-D([A-Z_]+)(?::[A-Z]+)?=([^"]*)"', script))


@pytest.mark.parametrize("distro", sorted(tb.DISTROS))
def test_what_build_py_clones_is_the_roles_provenance(dry_runs, server_repo, distro):
    script = dry_runs[distro]["files"]["cmake_build"]
    ours = tb.clones(["onnxruntime", "python"])
    clones = {url_ref[1]: url_ref[0] for url_ref in re.findall(
        r"git clone --recursive --single-branch --depth=1 -b (\S+) (\S+) ", script)}
    assert clones[ours["onnxruntime_backend"]["url"]] == ours["onnxruntime_backend"]["ref"]
    assert clones[ours["python_backend"]["url"]] == ours["python_backend"]["ref"]
    defines = cmake_defines(script)
    assert defines["TRITON_BUILD_ONNXRUNTIME_REPO"] == ours["onnxruntime"]["url"]
    assert defines["TRITON_BUILD_ONNXRUNTIME_BRANCH"] == ours["onnxruntime"]["ref"]
    assert defines["TRITON_BUILD_MIGRAPHX_REPO"] == ours["migraphx"]["url"]
    assert defines["TRITON_BUILD_MIGRAPHX_BRANCH"] == ours["migraphx"]["ref"]
    for name, define in (("core", "TRITON_CORE_REPO_TAG"), ("backend", "TRITON_BACKEND_REPO_TAG"),
                         ("third_party", "TRITON_THIRD_PARTY_REPO_TAG"),
                         ("common", "TRITON_COMMON_REPO_TAG")):
        assert defines[define] == ours[name]["ref"], name
    organization = defines["TRITON_REPO_ORGANIZATION"]
    assert ours["common"]["url"] == f"{organization}/common.git"
    # For ROCm builds the server's CMakeLists fetches core and third_party from ROCm's forks.
    cmake = (server_repo / "CMakeLists.txt").read_text()
    rocm_part = cmake[cmake.index("if(${TRITON_ENABLE_ROCM})\n  FetchContent_Declare"):]
    for name in ("core", "third_party"):
        assert f"GIT_REPOSITORY {ours[name]['url']}" in rocm_part.split("else()")[0], name


def test_a_pinned_ref_reaches_the_generated_build(server_repo, build_py_python, tmp_path):
    work = tmp_path / "server"
    shutil.copytree(server_repo, work, symlinks=True)
    pins = ["--repo-tag=core:" + "a" * 40, "--ort-branch=rocm7.2.1_pinned"]
    proc = subprocess.run([build_py_python, "build.py", "--dryrun",
                           *tb.build_py_args("ubuntu", ["onnxruntime"], pins)], cwd=work,
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    defines = cmake_defines((work / "build" / "cmake_build").read_text())
    ours = tb.clones(["onnxruntime"], pins)
    assert defines["TRITON_CORE_REPO_TAG"] == ours["core"]["ref"] == "a" * 40
    assert defines["TRITON_BUILD_ONNXRUNTIME_BRANCH"] == ours["onnxruntime"]["ref"]


def test_build_py_imports_what_the_builder_installs(server_repo):
    source = (server_repo / "build.py").read_text()
    imported = set(re.findall(r"^import (\w+)$", source, re.M))
    third_party = {"distro", "requests"}
    assert third_party <= imported
    role_vars = yaml.safe_load((ROOT / "roles" / "triton_image" / "vars" / "main.yml")
                               .read_text())
    for packages in role_vars["_triton_image_builder_packages"].values():
        assert {f"python3-{name}" for name in third_party} | {"git"} <= set(packages)
    # AMD's Ubuntu base script builds with --progress, a BuildKit (buildx) flag
    script = (server_repo / tb.base_script("ubuntu", "7.2")).read_text()
    assert "--progress=plain" in script
    assert "docker-buildx" in role_vars["_triton_image_builder_packages"]["Ubuntu"]
