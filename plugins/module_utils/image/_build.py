# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ROCm Triton server image built from source, as AMD's guide does it, with provenance.

The guide (``amd-docs/install/triton-inference-server-install.rst`` of
ROCm/triton-inference-server-server at ``rocm7.2_r25.12``):

    git clone -b rocm7.2_r25.12 https://github.com/ROCm/triton-inference-server-server.git
    bash scripts/build_ubuntu24.04_rocm_72_base.sh      # or build_debian12_rocm_72_base.sh
    python3 build.py --no-container-pull --enable-logging --enable-stats --enable-tracing \
        --enable-rocm --enable-metrics --verbose --endpoint=grpc --endpoint=http \
        --backend=onnxruntime --linux-distro=ubuntu      # or debian

typed at a terminal on Ubuntu. Unattended, and on Debian 12, build.py needs two more flags
(UNATTENDED_FLAGS): it guesses the platform from ``/etc/os-release``'s ``ID_LIKE``, which
Debian does not have ("rhel", then "A base image must be specified when targeting RHEL"),
and it runs its build container with ``docker run -it``, which fails without a terminal.

``build.py`` leaves the image as ``tritonserver:latest``; the collection tags it with the
name the fleet uses and labels it with what made it. Every 7.2 branch has one base script
per distribution, named for ROCm's major and minor release only
(``scripts/build_{ubuntu24.04,debian12}_rocm_72_base.sh``; 7.2.3 too).

The provenance of a build is the source URL, the *resolved* commit (a branch moves; a
commit does not), the exact build.py arguments, the ROCm release, and the commits of what
build.py itself clones by branch while it builds (CLONES: the onnxruntime backend, ONNX
Runtime, MIGraphX, core, backend, common, third_party). Its hash decides whether a host's
image is current: a changed argument or a moved branch rebuilds, an unchanged one never
does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.inferops.triton.plugins.module_utils.image._image import (
    current_provenance,
    inspect,
)

DEFAULT_SOURCE = "https://github.com/ROCm/triton-inference-server-server.git"
DEFAULT_REF = "rocm7.2_r25.12"
BUILT_IMAGE = "tritonserver:latest"
DISTROS = {
    # linux_distro -> the base script's distribution part (build.py's --linux-distro is the key)
    "ubuntu": "ubuntu24.04",
    "debian": "debian12",
}
GUIDE_FLAGS = ("--no-container-pull", "--enable-logging", "--enable-stats", "--enable-tracing",
               "--enable-rocm", "--enable-metrics", "--verbose", "--endpoint=grpc",
               "--endpoint=http")
# Not in the guide, which is typed at a terminal on Ubuntu (see the module's docstring).
UNATTENDED_FLAGS = ("--target-platform=linux", "--no-container-interactive")
# build.py options the module sets itself, or that would build nothing.
RESERVED_OPTIONS = ("--linux-distro", "--target-platform", "--dryrun")
# What build.py (rocm7.2_r25.12) fetches by branch while it builds, beyond the checkout:
# name -> (repository, branch, the build.py option that changes the branch, the one that
# changes the repository). The onnxruntime backend clone and the ONNX Runtime and MIGraphX
# CMake arguments are in the cmake_build script build.py generates; core and third_party
# are the server CMakeLists.txt's FetchContent for ROCm builds, backend its tag's repository,
# common the TRITON_REPO_ORGANIZATION build.py passes. tests/conformance checks each against
# build.py --dryrun and CMakeLists.txt from ../shared/upstream.
_ROCM = "https://github.com/ROCm"
CLONES = {
    "onnxruntime_backend": (f"{_ROCM}/triton-inference-server-onnxruntime_backend.git",
                            "rocm7.2_r25.12", None, None),
    "python_backend": (f"{_ROCM}/triton-inference-server-python_backend.git",
                       "rocm7.2_r25.12", None, None),
    "core": (f"{_ROCM}/triton-inference-server-core.git", "rocm7.2_r25.12",
             "--repo-tag=core", None),
    "backend": (f"{_ROCM}/triton-inference-server-backend.git", "rocm7.2_r25.12",
                "--repo-tag=backend", None),
    "third_party": (f"{_ROCM}/triton-inference-server-third_party.git", "rocm7.2_r25.12",
                    "--repo-tag=thirdparty", None),
    "common": ("https://github.com/triton-inference-server/common.git", "r25.12",
               "--repo-tag=common", None),
    "onnxruntime": (f"{_ROCM}/onnxruntime", "rocm7.2_internal_testing", "--ort-branch",
                    "--ort-repo"),
    "migraphx": (f"{_ROCM}/AMDMIGraphX.git", "develop", "--migraphx-branch",
                 "--migraphx-repo"),
}
# Cloned only when the backend is built.
BACKEND_CLONES = {"python_backend": "python"}
LABEL_PREFIX = "org.inferops.triton."
BACKEND_RE = re.compile(r"^[a-z][a-z0-9_]*(?::[\w./-]+)?$")
REF_RE = re.compile(r"^[A-Za-z0-9][\w./-]*$")
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


class BuildPlanError(ValueError):
    """A setting that cannot describe the guide's build; the message names it."""


def rocm_script_version(rocm_version):
    """'7.2', '7.2.0' or '7.2.3' -> '72': the base scripts are named for ROCm's major and minor
    release only (every 7.2 branch, rocm7.2.3_r25.12 included, has ``..._rocm_72_base.sh``)."""
    match = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?$", str(rocm_version or ""))
    if not match:
        raise BuildPlanError(f"triton_image_rocm_version: {rocm_version!r} is not a ROCm "
                             "release; use MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. '7.2'")
    major, minor, _patch = match.groups()
    return f"{major}{minor}"


def base_script(linux_distro, rocm_version):
    if linux_distro not in DISTROS:
        raise BuildPlanError(f"triton_image_linux_distro: {linux_distro!r} is not one of "
                             f"{', '.join(sorted(DISTROS))}")
    return f"scripts/build_{DISTROS[linux_distro]}_rocm_{rocm_script_version(rocm_version)}_base.sh"


def build_py_args(linux_distro, backends=("onnxruntime",), extra_args=()):
    """build.py's arguments: the guide's flags, one --backend per backend, the flags an
    unattended build needs, then the user's, and the distro."""
    if linux_distro not in DISTROS:
        raise BuildPlanError(f"triton_image_linux_distro: {linux_distro!r} is not one of "
                             f"{', '.join(sorted(DISTROS))}")
    backends = list(backends)
    if "onnxruntime" not in [b.split(":", 1)[0] for b in backends]:
        raise BuildPlanError(f"triton_image_build_backends: {backends!r} must include "
                             "onnxruntime, the backend the ROCm image serves ONNX models with")
    bad = [b for b in backends if not BACKEND_RE.match(str(b))]
    if bad:
        raise BuildPlanError(f"triton_image_build_backends: {bad!r} are not backend names "
                             "(e.g. 'python', or 'onnxruntime:<ref>')")
    for arg in extra_args:
        arg = str(arg)
        if not arg.startswith("--") or arg.split("=", 1)[0] in RESERVED_OPTIONS:
            raise BuildPlanError(
                f"triton_image_build_extra_args: {arg!r} must be a build.py option starting "
                f"with '--' other than {', '.join(RESERVED_OPTIONS)} (the distro comes from "
                "triton_image_linux_distro; the platform is always linux)")
    return [*GUIDE_FLAGS, *(f"--backend={b}" for b in backends), *UNATTENDED_FLAGS,
            *map(str, extra_args), f"--linux-distro={linux_distro}"]


def _options(args):
    """``--name=value`` pairs of ``args``, in order (build_py_args takes options in that form
    only)."""
    return [tuple(str(arg).split("=", 1)) for arg in args if "=" in str(arg)]


def _override(pairs, option):
    """The last value given for ``option``: '--ort-branch', or '--repo-tag=core' for
    build.py's ``--repo-tag core:<ref>``; None when it is not given."""
    name, _eq, component = option.partition("=")
    found = None
    for given, value in pairs:
        if given == name and not component:
            found = value
        elif given == name and value.partition(":")[0] == component:
            found = value.partition(":")[2]
    return found


def clones(backends=("onnxruntime",), extra_args=()):
    """What build.py will clone by branch for these arguments: {name: {url, ref}}."""
    pairs = _options(extra_args)
    built = {str(b).split(":", 1)[0] for b in backends}
    wanted = {}
    for name, (url, ref, ref_option, url_option) in CLONES.items():
        if name in BACKEND_CLONES and BACKEND_CLONES[name] not in built:
            continue
        ref = (ref_option and _override(pairs, ref_option)) or ref
        url = (url_option and _override(pairs, url_option)) or url
        wanted[name] = {"url": url, "ref": check_ref(ref, f"build.py's {name} ref")}
    return wanted


def check_ref(ref, variable="triton_image_source_ref"):
    if not REF_RE.match(str(ref or "")) or ".." in str(ref):
        raise BuildPlanError(f"{variable}: {ref!r} is not a branch, tag or commit name")
    return str(ref)


def provenance(source_url, commit, args, rocm_version, linux_distro, cloned=None):
    """The labels an image built this way carries, and their hash (also a label).
    ``cloned``: {name: {url, ref, commit}} of what build.py clones while it builds."""
    if not COMMIT_RE.match(str(commit or "")):
        raise BuildPlanError(f"resolved commit {commit!r} is not a 40-digit git commit id")
    facts = {
        "source": str(source_url),
        "commit": str(commit),
        "build_args": list(args),
        "rocm_version": str(rocm_version),
        "linux_distro": linux_distro,
        "clones": {name: dict(item) for name, item in sorted((cloned or {}).items())},
    }
    digest = "sha256:" + hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
    labels = {
        LABEL_PREFIX + "source": facts["source"],
        LABEL_PREFIX + "commit": facts["commit"],
        LABEL_PREFIX + "build-args": " ".join(facts["build_args"]),
        LABEL_PREFIX + "rocm-version": facts["rocm_version"],
        LABEL_PREFIX + "linux-distro": linux_distro,
        LABEL_PREFIX + "clones": " ".join(
            f"{name}={item['commit']}" for name, item in facts["clones"].items()),
        LABEL_PREFIX + "provenance": digest,
    }
    return digest, labels


def commands(checkout, linux_distro, rocm_version, backends=("onnxruntime",), extra_args=(),
             python="python3"):
    """The guide's build steps, as argv lists run in ``checkout``."""
    return [
        ["bash", base_script(linux_distro, rocm_version)],
        [python, "build.py", *build_py_args(linux_distro, backends, extra_args)],
    ]


class BuildError(RuntimeError):
    """A git or Docker step failed; the message carries the tail of what it printed."""


def _tail(text, lines=40):
    return "\n".join(text.strip().splitlines()[-lines:])


def resolve_ref(run, source_url, ref, variable="triton_image_source_ref"):
    """The commit ``ref`` names at ``source_url`` (``git ls-remote``: changes nothing)."""
    ref = check_ref(ref, variable)
    if COMMIT_RE.match(ref):
        return ref
    rc, out, err = run(["git", "ls-remote", source_url, ref, f"{ref}^{{}}"])
    if rc != 0:
        raise BuildError(f"git ls-remote {source_url} {ref} failed: {_tail(err)}")
    found = {}
    for line in out.splitlines():
        commit, _tab, name = line.partition("\t")
        found[name] = commit
    # An annotated tag's commit is the peeled entry; otherwise the branch or tag itself.
    for name in (f"refs/tags/{ref}^{{}}", f"refs/heads/{ref}", f"refs/tags/{ref}"):
        if name in found:
            return found[name]
    raise BuildError(f"{variable}: {ref!r} is neither a branch nor a tag of {source_url}")


def resolve_clones(run, wanted):
    """{name: {url, ref, commit}}: each of ``clones()`` resolved, the ls-remotes in parallel."""
    with ThreadPoolExecutor(max_workers=len(wanted) or 1) as pool:
        commits = dict(zip(wanted, pool.map(
            lambda item: resolve_ref(run, item[1]["url"], item[1]["ref"],
                                     f"build.py's {item[0]} ref"), wanted.items())))
    return {name: {**item, "commit": commits[name]} for name, item in wanted.items()}


def checkout(run, source_url, commit, directory):
    """``directory`` holding ``commit`` of ``source_url``, clean, detached."""
    steps = []
    rc, _out, _err = run(["git", "-C", directory, "rev-parse", "--git-dir"])
    if rc != 0:
        steps.append(["git", "init", "-q", directory])
    steps += [
        ["git", "-C", directory, "fetch", "-q", "--depth", "1", source_url, commit],
        ["git", "-C", directory, "checkout", "-q", "--force", "--detach", commit],
        ["git", "-C", directory, "clean", "-q", "-ffdx"],
    ]
    for step in steps:
        rc, out, err = run(step)
        if rc != 0:
            raise BuildError(f"{' '.join(step)} failed (exit {rc}): {_tail(out + err)}")


def check_script(directory, script):
    """The base script exists in the checkout; otherwise say which ones do."""
    if os.path.isfile(os.path.join(directory, script)):
        return
    found = sorted(f"scripts/{name}" for name in os.listdir(os.path.join(directory, "scripts"))
                   if name.startswith("build_") and name.endswith("_base.sh")) \
        if os.path.isdir(os.path.join(directory, "scripts")) else []
    raise BuildError(f"{script} is not in the checkout (triton_image_linux_distro, "
                     f"triton_image_rocm_version); it has: {', '.join(found) or 'no base script'}")


def label_image(run, built, name, labels):
    """Tag ``built`` as ``name`` with ``labels`` (a one-line build: no context, no layers)."""
    dockerfile = f"FROM {built}\n"
    args = ["docker", "build", "--quiet", "--tag", name]
    for key, value in sorted(labels.items()):
        args += ["--label", f"{key}={value}"]
    rc, out, err = run(args + ["-"], data=dockerfile)
    if rc != 0:
        raise BuildError(f"labelling {built} as {name} failed: {_tail(out + err)}")
    return out.strip().splitlines()[-1] if out.strip() else None


def ensure_built(run, name, source_url, ref, directory, linux_distro, rocm_version,
                 backends=("onnxruntime",), extra_args=(), log_path=None, python="python3",
                 check_mode=False, force=False):
    """Build ``name`` the guide's way when its provenance differs from the host's image."""
    def docker(args, data=None):
        return run(["docker", *args], data=data)

    steps = commands(directory, linux_distro, rocm_version, backends, extra_args, python)
    wanted = clones(backends, extra_args)
    commit = resolve_ref(run, source_url, ref)
    cloned = resolve_clones(run, wanted)
    digest, labels = provenance(source_url, commit, steps[1][2:], rocm_version, linux_distro,
                                cloned)
    image = inspect(docker, name)
    before = current_provenance(image)
    result = {"changed": force or before != digest, "commit": commit, "provenance": digest,
              "previous_provenance": before, "labels": labels, "clones": cloned,
              "commands": [" ".join(step) for step in steps], "image_id": None}
    if result["changed"] and not check_mode:
        checkout(run, source_url, commit, directory)
        check_script(directory, steps[0][1])
        log = []
        for step in steps:
            rc, out, err = run(step, cwd=directory)
            log.append(f"$ {' '.join(step)}\n{out}{err}")
            if log_path:
                with open(log_path, "w", encoding="utf-8") as handle:
                    handle.write("\n".join(log))
            if rc != 0:
                raise BuildError(f"{' '.join(step)} failed (exit {rc}) in {directory}"
                                 f"{'; full log in ' + log_path if log_path else ''}; "
                                 f"last lines:\n{_tail(out + err)}")
        # build.py clones by branch: a branch that moved while it built may be in the image
        # at either commit, so the image is not labelled as the one resolved before.
        moved = {key: item["commit"] for key, item in resolve_clones(run, wanted).items()
                 if item["commit"] != cloned[key]["commit"]}
        if moved:
            raise BuildError(
                "branches that build.py clones moved during the build, so the image cannot be "
                "labelled with what it holds: " + ", ".join(
                    f"{key} {cloned[key]['ref']} {cloned[key]['commit'][:12]} -> {c[:12]}"
                    for key, c in sorted(moved.items()))
                + "; run again to build at the new commits, or pin them with "
                  "triton_image_build_extra_args (--repo-tag, --ort-branch, --migraphx-branch)")
        label_image(run, BUILT_IMAGE, name, labels)
        image = inspect(docker, name)
        if current_provenance(image) != digest:
            raise BuildError(f"{name} was built but does not carry provenance {digest}")
    result["image_id"] = image["Id"] if image else None
    return result
