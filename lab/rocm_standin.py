"""The lab's stand-ins for AMD's ROCm Triton image and its from-source build, made from AMD's
own files (../shared/upstream: ROCm/triton-inference-server-server at rocm7.2_r25.12).

What they keep and what they replace is listed in docs/architecture.md ("Stand-ins").

- ``inferops-lab/tritonserver:cpu``: the collection's CPU flavour (the real ``tritonserver``
  of the nvidia-pytriton wheel), made by the triton_image role on this machine.
- ``inferops-lab/rocm-base:7.2``: stands in for what AMD's base scripts build
  (``localhost/<distro>_rocm7.2``, FROM AMD's ROCm images, not reachable here): the CPU
  server, run as root as AMD's image is, its ONNX backend also under the name
  ``onnxruntime`` (a Python-based backend, so configs naming AMD's backend load; on the
  CPU, so their instance groups must be KIND_CPU), and ``/opt/tritonserver/repoagents``.
- AMD's prebuilt image under AMD's tag (``PREBUILT``): AMD's build.py, run with the role's
  arguments and ``--dryrun``, writes the final Dockerfile; ``amd_dockerfile.standin`` drops
  its network and compile steps and it is built on the base above. So the image has AMD's
  ENV, labels, entrypoint files and ``ENTRYPOINT ["/opt/rocm/rocm_entrypoint.sh"]``.
- ``repo(DIR)``: a git repository of the snapshot on its real branch (real build.py, real
  scripts, real Dockerfiles) plus one lab commit: the two base Dockerfiles say ``FROM
  inferops-lab/rocm-base:7.2``, and build.py runs ``lab/amd_dockerfile.py`` (the same
  transformation) instead of its generated docker_build script (buildbase, compile). What
  build.py clones by branch while it builds stands under ``DIR/github/`` (one repository per
  URL with its branch, for ref resolution only), reached with ``git_config(DIR)``.

    rocm_standin.py images            # the three images (cached by content), their archives
    rocm_standin.py repo DIR          # the build path's repository

Needs the controller venv (ansible-playbook, build.py's imports) and the lab's engine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import amd_dockerfile
import labctl

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM = Path(os.environ.get("INFEROPS_UPSTREAM", ROOT.parent / "shared" / "upstream"))
SERVER_TARBALL = UPSTREAM / "rocm-triton-inference-server-server-rocm7.2_r25.12.tar.gz"
BRANCH = "rocm7.2_r25.12"
CPU_IMAGE = "inferops-lab/tritonserver:cpu"
BASE_IMAGE = "inferops-lab/rocm-base:7.2"
PREBUILT = "rocm/tritoninferenceserver:tritoninferenceserver-25.12.amd1_rocm7.2_ubuntu24.04_py3.12"
STANDIN_LABEL = "org.inferops.lab.standin"
GITHUB = "https://github.com/"
IDENTITY = ["-c", "user.name=inferops lab", "-c", "user.email=lab@inferops.invalid"]
# build.py's last step, which the lab commit points at lab/amd_dockerfile.py
BUILD_PY_RUN = 'p = subprocess.Popen([f"./{script_name}"], cwd=FLAGS.build_dir)'
BUILD_PY_LAB_RUN = ('p = subprocess.Popen([sys.executable, os.path.join(THIS_SCRIPT_DIR, "lab", '
                    '"amd_dockerfile.py"), f"./{script_name}"], cwd=FLAGS.build_dir)'
                    '  # inferops lab')
BASE_DOCKERFILE = """# inferops lab: stands in for AMD's ROCm base (FROM AMD's ROCm images, not
# reachable here): {what}. lab/rocm_standin.py wrote this.
FROM {image}
"""


def log(msg: str) -> None:
    print(f"rocm_standin: {msg}", file=sys.stderr, flush=True)


def need_upstream() -> None:
    if not SERVER_TARBALL.is_file():
        raise SystemExit(f"rocm_standin: {SERVER_TARBALL} is not here: the stand-ins are made "
                         "from AMD's own repository (../shared/upstream)")


def extract(into: Path) -> Path:
    """The snapshot's tree under ``into``; returns it."""
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-xzf", str(SERVER_TARBALL), "-C", str(into)], check=True)
    return into / "triton-inference-server-server"


def image_label(image: str, label: str) -> str | None:
    proc = subprocess.run(["docker", "image", "inspect", "--format",
                           "{{ index .Config.Labels \"" + label + "\" }}", image],
                          capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def cpu_image() -> None:
    """The CPU flavour's image on this machine's engine, made by the triton_image role."""
    play = [{"hosts": "localhost", "gather_facts": False,
             "roles": [{"role": "inferops.triton.triton_image"}]}]
    name, tag = CPU_IMAGE.split(":", maxsplit=1)
    values = {"triton_image_source": "cpu", "triton_image_name": name, "triton_image_tag": tag,
              "triton_image_base_image": "inferops-lab/debian:12",
              "triton_image_base_image_archive":
                  str(labctl.archive_path("inferops-lab/debian:12"))}
    with tempfile.TemporaryDirectory() as work:
        playbook = Path(work) / "cpu.yml"
        playbook.write_text(json.dumps(play))
        bindir = Path(sys.executable).parent
        proc = subprocess.run(
            [str(bindir / "ansible-playbook"), "-i", "localhost,", "-c", "local",
             "-e", f"ansible_python_interpreter={sys.executable}", "-e", json.dumps(values),
             str(playbook)], capture_output=True, text=True, check=False,
            env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")))
    if proc.returncode != 0:
        raise SystemExit(f"rocm_standin: the CPU image failed:\n{proc.stdout[-4000:]}"
                         f"{proc.stderr[-2000:]}")


def build(tag: str, dockerfile: str, context: Path, key: str, *args: str) -> None:
    """``docker build`` unless ``tag`` already carries ``key`` (a hash of what made it)."""
    if image_label(tag, STANDIN_LABEL) == key:
        log(f"{tag} is current")
        return
    path = context / f"Dockerfile.inferops-lab.{hashlib.sha256(tag.encode()).hexdigest()[:8]}"
    path.write_text(dockerfile)
    subprocess.run(["docker", "build", "--quiet", "-t", tag, "-f", str(path),
                    "--label", f"{STANDIN_LABEL}={key}", *args, str(context)], check=True,
                   stdout=subprocess.DEVNULL)
    log(f"{tag} built")


def rocm_base() -> None:
    cpu = image_label(CPU_IMAGE, "org.inferops.triton.provenance") or ""
    dockerfile = (f"FROM {CPU_IMAGE}\nUSER root\n"
                  "RUN cp -r /opt/tritonserver/backends/onnxruntime_cpu "
                  "/opt/tritonserver/backends/onnxruntime \\\n"
                  " && mkdir -p /opt/tritonserver/repoagents\n")
    with tempfile.TemporaryDirectory() as context:
        build(BASE_IMAGE, dockerfile, Path(context),
              hashlib.sha256((cpu + dockerfile).encode()).hexdigest())


def role_build_args() -> list[str]:
    """The arguments the triton_image role passes build.py for the guide's Ubuntu image."""
    sys.path.insert(0, str(ROOT / "build" / "collections"))
    from ansible_collections.inferops.triton.plugins.module_utils.image._build import (
        build_py_args,
    )

    return build_py_args("ubuntu", ["onnxruntime", "python"])


def prebuilt() -> None:
    """AMD's prebuilt image: AMD's generated Dockerfile on the stand-in base."""
    need_upstream()
    with tempfile.TemporaryDirectory() as work:
        repo = extract(Path(work))
        proc = subprocess.run([sys.executable, "build.py", "--dryrun", *role_build_args()],
                              cwd=repo, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"rocm_standin: build.py --dryrun failed:\n{proc.stderr[-3000:]}")
        text, _dropped = amd_dockerfile.standin((repo / "build" / "Dockerfile").read_text())
        base = image_label(BASE_IMAGE, STANDIN_LABEL) or ""
        entry = sorted(p.relative_to(repo).as_posix() + ":" + hashlib.sha256(
            p.read_bytes()).hexdigest() for p in (repo / "docker").rglob("*") if p.is_file())
        key = hashlib.sha256(json.dumps([base, text, entry]).encode()).hexdigest()
        build(PREBUILT, text, repo, key, "--build-arg", f"BASE_IMAGE={BASE_IMAGE}")


def save(image: str) -> Path:
    """``docker save`` of ``image`` into the lab's archives (for nodes), when it changed."""
    path = labctl.archive_path(image)
    stamp = path.with_suffix(".id")
    image_id = subprocess.run(["docker", "image", "inspect", "--format", "{{ .Id }}", image],
                              capture_output=True, text=True, check=True).stdout.strip()
    if not (path.is_file() and stamp.is_file() and stamp.read_text() == image_id):
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["docker", "save", "-o", str(path), image], check=True)
        stamp.write_text(image_id)
    return path


def cmd_images(_args) -> None:
    cpu_image()
    rocm_base()
    save(BASE_IMAGE)
    if SERVER_TARBALL.is_file():
        prebuilt()
        save(PREBUILT)
    else:
        log(f"{SERVER_TARBALL} is not here: AMD's prebuilt image's stand-in is not made")


def git(directory: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(directory), *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def repo(directory: Path, base_image: str = BASE_IMAGE) -> str:
    """The build path's repository (see the module's docstring); returns its head. With
    another ``base_image`` (a plain Debian, for tests of the build's mechanics that need
    no server) the image builds the same way but does not serve."""
    need_upstream()
    shutil.rmtree(directory, ignore_errors=True)
    tree = extract(directory.parent / f".{directory.name}.extract")
    tree.rename(directory)
    shutil.rmtree(directory.parent / f".{directory.name}.extract")
    subprocess.run(["git", "init", "-q", "-b", BRANCH, str(directory)], check=True)
    git(directory, "add", "-A")
    git(directory, *IDENTITY, "commit", "-q", "-m",
        "ROCm/triton-inference-server-server at rocm7.2_r25.12 (../shared/upstream snapshot)")
    for name in ("Dockerfile.ubuntu24.04_rocm7.2", "Dockerfile.debian12_rocm7.2"):
        (directory / name).write_text(BASE_DOCKERFILE.format(
            image=base_image, what="the real CPU tritonserver; no ROCm, no GPU code"
            if base_image == BASE_IMAGE else "a plain userland; this image does not serve"))
    build_py = directory / "build.py"
    text = build_py.read_text()
    if text.count(BUILD_PY_RUN) != 1:
        raise SystemExit("rocm_standin: build.py no longer runs its docker_build script as the "
                         "lab expects; look at its last lines and update BUILD_PY_RUN")
    build_py.write_text(text.replace(BUILD_PY_RUN, BUILD_PY_LAB_RUN))
    (directory / "lab").mkdir()
    shutil.copy2(Path(__file__).with_name("amd_dockerfile.py"), directory / "lab")
    git(directory, "add", "-A")
    git(directory, *IDENTITY, "commit", "-q", "-m",
        "inferops lab: the ROCm base images stand in (AMD's are not reachable), and build.py "
        "builds the final image with lab/amd_dockerfile.py instead of compiling")
    make_clones(directory / "github")
    return git(directory, "rev-parse", "HEAD")


def collection_clones() -> dict:
    """The collection's table of what build.py clones (``_triton_build.CLONES``)."""
    sys.path.insert(0, str(ROOT / "build" / "collections"))
    from ansible_collections.inferops.triton.plugins.module_utils.image._build import CLONES

    return CLONES


def clone_path(root: Path, url: str) -> Path:
    return root / url[len(GITHUB):]


def make_clones(root: Path) -> None:
    """A repository per URL build.py clones, with the branch it clones, one commit each."""
    for name, (url, ref, _ref_option, _url_option) in collection_clones().items():
        path = clone_path(root, url)
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "-b", ref, str(path)], check=True)
        (path / "STANDIN").write_text(f"inferops lab stand-in of {url} ({name}) at {ref}: "
                                      "branch resolution only, nothing is built from it\n")
        git(path, "add", "STANDIN")
        git(path, *IDENTITY, "commit", "-q", "-m", f"stand-in of {name}")


def move_clone(directory: Path, name: str) -> str:
    """A new commit on the branch build.py clones for ``name``; returns it."""
    url, ref = collection_clones()[name][:2]
    path = clone_path(directory / "github", url)
    git(path, *IDENTITY, "commit", "-q", "--allow-empty", "-m", f"{name} moves on ({ref})")
    return git(path, "rev-parse", "HEAD")


def git_config(directory: Path) -> dict:
    """The environment that makes git fetch ``https://github.com/...`` from the stand-ins."""
    return {"GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.file://{directory / 'github'}/.insteadOf",
            "GIT_CONFIG_VALUE_0": GITHUB}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("images").set_defaults(func=cmd_images)
    one = sub.add_parser("repo")
    one.add_argument("directory", type=Path)
    one.add_argument("--base-image", default=BASE_IMAGE)
    one.set_defaults(func=lambda a: print(repo(a.directory, a.base_image)))
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
