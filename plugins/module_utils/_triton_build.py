# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ROCm Triton server image built from source, as AMD's guide does it, with provenance.

The guide, for ROCm 7.2 (shared/DESIGN.md; the repository's own scripts show the shape):

    git clone https://github.com/ROCm/triton-inference-server-server.git
    cd triton-inference-server-server && git checkout rocm7.2_r25.12
    bash scripts/build_ubuntu24.04_rocm_72_base.sh      # or build_debian12_rocm_72_base.sh
    python3 build.py --no-container-pull --enable-logging --enable-stats --enable-tracing \
        --enable-rocm --enable-metrics --verbose --endpoint=grpc --endpoint=http \
        --backend=onnxruntime --linux-distro=ubuntu      # or debian

``build.py`` leaves the image as ``tritonserver:latest``; the collection tags it with the
name the fleet uses and labels it with what made it. The base scripts name the ROCm
release without dots (7.2 -> ``72``, 7.2.3 -> ``723``), as ``build_ubuntu24.04_rocm_723_base.sh``
in the repository does.

The provenance of a build is the source URL, the *resolved* commit (a branch moves; a
commit does not), the exact build.py arguments, the ROCm release and the GPU targets. Its
hash decides whether a host's image is current: a changed argument rebuilds, an unchanged
one never does.
"""

from __future__ import annotations

import hashlib
import json
import re

from ansible_collections.inferops.triton.plugins.module_utils._image import (
    current_provenance,
    inspect,
)

DEFAULT_SOURCE = "https://github.com/ROCm/triton-inference-server-server.git"
DEFAULT_REF = "rocm7.2_r25.12"
BUILT_IMAGE = "tritonserver:latest"
DISTROS = {
    # linux_distro -> (the base script's distribution part, build.py's --linux-distro)
    "ubuntu": "ubuntu24.04",
    "debian": "debian12",
}
GUIDE_FLAGS = ("--no-container-pull", "--enable-logging", "--enable-stats", "--enable-tracing",
               "--enable-rocm", "--enable-metrics", "--verbose", "--endpoint=grpc",
               "--endpoint=http")
LABEL_PREFIX = "org.inferops.triton."
BACKEND_RE = re.compile(r"^[a-z][a-z0-9_]*(?::[\w./-]+)?$")
REF_RE = re.compile(r"^[A-Za-z0-9][\w./-]*$")
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
GFX_RE = re.compile(r"^gfx[0-9a-f]{3,4}$")


class BuildPlanError(ValueError):
    """A setting that cannot describe the guide's build; the message names it."""


def rocm_script_version(rocm_version):
    """'7.2' or '7.2.0' -> '72'; '7.2.3' -> '723' (the base scripts' naming)."""
    match = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?$", str(rocm_version or ""))
    if not match:
        raise BuildPlanError(f"triton_image_rocm_version: {rocm_version!r} is not a ROCm "
                             "release; use MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. '7.2'")
    major, minor, patch = match.groups()
    return f"{major}{minor}" + (patch if patch not in (None, "0") else "")


def base_script(linux_distro, rocm_version):
    if linux_distro not in DISTROS:
        raise BuildPlanError(f"triton_image_linux_distro: {linux_distro!r} is not one of "
                             f"{', '.join(sorted(DISTROS))}")
    return f"scripts/build_{DISTROS[linux_distro]}_rocm_{rocm_script_version(rocm_version)}_base.sh"


def build_py_args(linux_distro, backends=("onnxruntime",), extra_args=()):
    """build.py's arguments: the guide's flags, one --backend per backend, the distro."""
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
        if not str(arg).startswith("--") or str(arg).startswith("--linux-distro"):
            raise BuildPlanError(f"triton_image_build_extra_args: {arg!r} must be a build.py "
                                 "option starting with '--' (the distro comes from "
                                 "triton_image_linux_distro)")
    return [*GUIDE_FLAGS, *(f"--backend={b}" for b in backends), *map(str, extra_args),
            f"--linux-distro={linux_distro}"]


def check_ref(ref):
    if not REF_RE.match(str(ref or "")) or ".." in str(ref):
        raise BuildPlanError(f"triton_image_source_ref: {ref!r} is not a branch, tag or "
                             "commit name")
    return str(ref)


def check_gpu_targets(targets):
    targets = list(targets or [])
    bad = [t for t in targets if not GFX_RE.match(str(t))]
    if bad:
        raise BuildPlanError(f"triton_image_gpu_targets: {bad!r} are not gfx targets "
                             "(e.g. gfx942, gfx90a, gfx950)")
    return sorted(set(targets))


def provenance(source_url, commit, args, rocm_version, gpu_targets, linux_distro):
    """The labels an image built this way carries, and their hash (also a label)."""
    if not COMMIT_RE.match(str(commit or "")):
        raise BuildPlanError(f"resolved commit {commit!r} is not a 40-digit git commit id")
    facts = {
        "source": str(source_url),
        "commit": str(commit),
        "build_args": list(args),
        "rocm_version": str(rocm_version),
        "gpu_targets": check_gpu_targets(gpu_targets),
        "linux_distro": linux_distro,
    }
    digest = "sha256:" + hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
    labels = {
        LABEL_PREFIX + "source": facts["source"],
        LABEL_PREFIX + "commit": facts["commit"],
        LABEL_PREFIX + "build-args": " ".join(facts["build_args"]),
        LABEL_PREFIX + "rocm-version": facts["rocm_version"],
        LABEL_PREFIX + "gpu-targets": ",".join(facts["gpu_targets"]),
        LABEL_PREFIX + "linux-distro": linux_distro,
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


def missing_targets(host_targets, build_targets):
    """The host's gfx targets a build does not carry (the warning the role gives)."""
    return sorted(set(host_targets or []) - set(build_targets or []))


class BuildError(RuntimeError):
    """A git or Docker step failed; the message carries the tail of what it printed."""


def _tail(text, lines=40):
    return "\n".join(text.strip().splitlines()[-lines:])


def resolve_ref(run, source_url, ref):
    """The commit ``ref`` names at ``source_url`` (``git ls-remote``: changes nothing)."""
    ref = check_ref(ref)
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
    raise BuildError(f"triton_image_source_ref: {ref!r} is neither a branch nor a tag of "
                     f"{source_url}")


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
                 backends=("onnxruntime",), extra_args=(), gpu_targets=(), log_path=None,
                 python="python3", check_mode=False, force=False):
    """Build ``name`` the guide's way when its provenance differs from the host's image."""
    def docker(args, data=None):
        return run(["docker", *args], data=data)

    steps = commands(directory, linux_distro, rocm_version, backends, extra_args, python)
    commit = resolve_ref(run, source_url, ref)
    digest, labels = provenance(source_url, commit, steps[1][2:], rocm_version, gpu_targets,
                                linux_distro)
    image = inspect(docker, name)
    before = current_provenance(image)
    result = {"changed": force or before != digest, "commit": commit, "provenance": digest,
              "previous_provenance": before, "labels": labels,
              "commands": [" ".join(step) for step in steps], "image_id": None}
    if result["changed"] and not check_mode:
        checkout(run, source_url, commit, directory)
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
        label_image(run, BUILT_IMAGE, name, labels)
        image = inspect(docker, name)
        if current_provenance(image) != digest:
            raise BuildError(f"{name} was built but does not carry provenance {digest}")
    result["image_id"] = image["Id"] if image else None
    return result
