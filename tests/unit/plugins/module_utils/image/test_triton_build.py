"""The from-source build, compared with the steps of AMD's guide
(amd-docs/install/triton-inference-server-install.rst of ROCm/triton-inference-server-server at
rocm7.2_r25.12) plus the two flags an unattended build on Debian 12 needs. tests/conformance
checks the same facts against the upstream files themselves and runs build.py --dryrun."""

import json
import shlex

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.image._build import (
    CLONES,
    BuildError,
    BuildPlanError,
    base_script,
    build_py_args,
    check_ref,
    clones,
    commands,
    ensure_built,
    provenance,
)

GUIDE_FLAGS = ("--no-container-pull --enable-logging --enable-stats --enable-tracing "
               "--enable-rocm --enable-metrics --verbose --endpoint=grpc --endpoint=http "
               "--backend=onnxruntime")
UNATTENDED = "--target-platform=linux --no-container-interactive"
GUIDE = {
    "ubuntu": ["bash scripts/build_ubuntu24.04_rocm_72_base.sh",
               f"python3 build.py {GUIDE_FLAGS} {UNATTENDED} --linux-distro=ubuntu"],
    "debian": ["bash scripts/build_debian12_rocm_72_base.sh",
               f"python3 build.py {GUIDE_FLAGS} {UNATTENDED} --linux-distro=debian"],
}
COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER = "89abcdef0123456789abcdef0123456789abcdef"
SOURCE = "https://example.invalid/server.git"


@pytest.mark.parametrize("distro", sorted(GUIDE))
@pytest.mark.parametrize("rocm_version", ["7.2", "7.2.0", "7.2.3"])
def test_commands_are_the_guides_with_the_unattended_flags(distro, rocm_version):
    steps = commands("/srv/src", distro, rocm_version)
    assert [shlex.join(step) for step in steps] == GUIDE[distro]


def test_a_point_release_runs_the_script_that_exists():
    # Every 7.2 branch, rocm7.2.3_r25.12 included, has only ..._rocm_72_base.sh; the old
    # naming (..._rocm_723_base.sh) ran a script that does not exist.
    assert base_script("ubuntu", "7.2.3") == "scripts/build_ubuntu24.04_rocm_72_base.sh"
    assert base_script("debian", "7.2.3") == "scripts/build_debian12_rocm_72_base.sh"


def test_extra_backends_and_pinned_refs_follow_the_guides_flags():
    args = build_py_args("ubuntu", ["onnxruntime", "python"], ["--repo-tag=core:abc123"])
    assert args[-6:] == ["--backend=onnxruntime", "--backend=python", "--target-platform=linux",
                         "--no-container-interactive", "--repo-tag=core:abc123",
                         "--linux-distro=ubuntu"]


@pytest.mark.parametrize("call, match", [
    (lambda: build_py_args("ubuntu", extra_args=["--repo-tag", "core:x"]),
     r"^triton_image_build_extra_args: 'core:x' must be a build.py option"),
    (lambda: build_py_args("rhel"), r"^triton_image_linux_distro: 'rhel' is not one of"),
    (lambda: build_py_args("ubuntu", ["python"]), r"must include onnxruntime"),
    (lambda: build_py_args("ubuntu", ["onnxruntime", "py thon"]), r"are not backend names"),
    (lambda: build_py_args("ubuntu", extra_args=["--linux-distro=debian"]),
     r"^triton_image_build_extra_args: '--linux-distro=debian'"),
    (lambda: build_py_args("ubuntu", extra_args=["--target-platform=rhel"]),
     r"^triton_image_build_extra_args: '--target-platform=rhel'"),
    (lambda: build_py_args("ubuntu", extra_args=["--dryrun"]),
     r"^triton_image_build_extra_args: '--dryrun'"),
    (lambda: base_script("ubuntu", "7.x"), r"^triton_image_rocm_version: '7.x'"),
    (lambda: check_ref("main; rm -rf /"), r"^triton_image_source_ref: "),
    (lambda: check_ref("../etc"), r"^triton_image_source_ref: "),
    (lambda: clones(extra_args=["--ort-branch=../x"]), r"^build.py's onnxruntime ref: '../x'"),
    (lambda: provenance("u", "rocm7.2_r25.12", [], "7.2", "ubuntu"), r"not a 40-digit"),
])
def test_bad_settings_name_the_variable(call, match):
    with pytest.raises(BuildPlanError, match=match):
        call()


def test_clones_follow_build_pys_defaults_and_options():
    default = clones()
    assert "python_backend" not in default
    assert default["onnxruntime"] == {"url": "https://github.com/ROCm/onnxruntime",
                                      "ref": "rocm7.2_internal_testing"}
    assert default["migraphx"]["ref"] == "develop"
    assert default["core"]["ref"] == "rocm7.2_r25.12"
    pinned = clones(["onnxruntime", "python"], [
        "--ort-branch=rocm7.2.1", "--migraphx-repo=https://mirror.invalid/migraphx.git",
        "--repo-tag=core:" + COMMIT, "--repo-tag=thirdparty:r1", "--repo-tag=thirdparty:r2"])
    assert pinned["python_backend"]["ref"] == "rocm7.2_r25.12"
    assert pinned["onnxruntime"]["ref"] == "rocm7.2.1"
    assert pinned["migraphx"]["url"] == "https://mirror.invalid/migraphx.git"
    assert pinned["core"]["ref"] == COMMIT
    assert pinned["third_party"]["ref"] == "r2"  # the last one, as build.py takes it
    assert pinned["backend"]["ref"] == "rocm7.2_r25.12"


def resolved(commit=COMMIT):
    return {name: {"url": url, "ref": ref, "commit": commit}
            for name, (url, ref, _r, _u) in CLONES.items()}


def test_provenance_changes_with_any_input_and_only_then():
    args = build_py_args("ubuntu")
    base = provenance(SOURCE, COMMIT, args, "7.2", "ubuntu", resolved())
    assert provenance(SOURCE, COMMIT, args, "7.2", "ubuntu", resolved()) == base
    moved = resolved()
    moved["onnxruntime"]["commit"] = OTHER
    variants = [
        provenance(SOURCE, OTHER, args, "7.2", "ubuntu", resolved()),
        provenance(SOURCE, COMMIT, build_py_args("ubuntu", ["onnxruntime", "python"]), "7.2",
                   "ubuntu", resolved()),
        provenance(SOURCE, COMMIT, args, "7.2.1", "ubuntu", resolved()),
        provenance("https://mirror.invalid/server.git", COMMIT, args, "7.2", "ubuntu",
                   resolved()),
        # a branch build.py clones moved: the same arguments now build something else
        provenance(SOURCE, COMMIT, args, "7.2", "ubuntu", moved),
    ]
    assert len({v[0] for v in variants} | {base[0]}) == len(variants) + 1
    digest, labels = base
    assert labels["org.inferops.triton.provenance"] == digest
    assert labels["org.inferops.triton.commit"] == COMMIT
    assert labels["org.inferops.triton.build-args"] == " ".join(args)
    assert f"onnxruntime={COMMIT}" in labels["org.inferops.triton.clones"].split()
    assert "org.inferops.triton.gpu-targets" not in labels


class FakeHost:
    """git and docker as a host answers them: ls-remote from a table of branch heads that a
    test can move, one image, and a log of what ran."""

    def __init__(self, heads, checkout):
        self.heads, self.checkout, self.ran, self.image = dict(heads), checkout, [], None

    def __call__(self, args, data=None, cwd=None):
        self.ran.append(args)
        if args[:2] == ["git", "ls-remote"]:
            head = self.heads.get((args[2], args[3]))
            return (0, f"{head}\trefs/heads/{args[3]}\n", "") if head else (0, "", "")
        if args[:2] == ["docker", "image"]:
            return (0, self.image, "") if self.image else (1, "", "No such image")
        if args[:2] == ["docker", "build"]:
            labels = dict(a.split("=", 1) for a in args if a.startswith("org.inferops."))
            self.image = json.dumps([{"Id": "sha256:" + "1" * 64,
                                      "Config": {"Labels": labels}}])
            return 0, "sha256:" + "1" * 64, ""
        if args[:1] == ["python3"]:
            self.during_build()
        return 0, "", ""

    def during_build(self):
        pass


@pytest.fixture
def host(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "build_ubuntu24.04_rocm_72_base.sh").write_text("#!/bin/bash\n")
    heads = {(item["url"], item["ref"]): COMMIT for item in clones().values()}
    heads[(SOURCE, "rocm7.2_r25.12")] = COMMIT
    return FakeHost(heads, tmp_path)


def build(host, **options):
    return ensure_built(host, "inferops/tritonserver:rocm", SOURCE, "rocm7.2_r25.12",
                        str(host.checkout), "ubuntu", "7.2", **options)


def test_a_moved_clone_branch_rebuilds(host):
    first = build(host)
    assert first["changed"] and first["clones"]["onnxruntime"]["commit"] == COMMIT
    assert not build(host)["changed"]
    host.heads[("https://github.com/ROCm/onnxruntime", "rocm7.2_internal_testing")] = OTHER
    again = build(host, check_mode=True)
    assert again["changed"] and again["clones"]["onnxruntime"]["commit"] == OTHER


def test_a_branch_that_moves_during_the_build_leaves_the_image_unlabelled(host):
    def move():
        host.heads[("https://github.com/ROCm/AMDMIGraphX.git", "develop")] = OTHER
    host.during_build = move
    with pytest.raises(BuildError, match=r"moved during the build.*migraphx develop"):
        build(host)
    assert host.image is None


def test_a_missing_base_script_names_the_ones_there(host):
    with pytest.raises(BuildError, match=r"build_debian12_rocm_72_base.sh is not in the "
                       r"checkout.*it has: scripts/build_ubuntu24.04_rocm_72_base.sh"):
        ensure_built(host, "x:y", SOURCE, "rocm7.2_r25.12", str(host.checkout), "debian", "7.2")
