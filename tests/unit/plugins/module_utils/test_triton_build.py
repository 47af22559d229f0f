"""The from-source build, compared with the steps of AMD's guide (shared/DESIGN.md) and the
naming of the ROCm server repository's own scripts (scripts/build_ubuntu24.04_rocm_723_base.sh,
scripts/build_debian12_rocm_723_base.sh at ROCm/triton-inference-server-server)."""

import shlex

import pytest

from ansible_collections.inferops.triton.plugins.module_utils._triton_build import (
    BuildPlanError,
    base_script,
    build_py_args,
    check_ref,
    commands,
    missing_targets,
    provenance,
)

GUIDE = {
    "ubuntu": ["bash scripts/build_ubuntu24.04_rocm_72_base.sh",
               "python3 build.py --no-container-pull --enable-logging --enable-stats "
               "--enable-tracing --enable-rocm --enable-metrics --verbose --endpoint=grpc "
               "--endpoint=http --backend=onnxruntime --linux-distro=ubuntu"],
    "debian": ["bash scripts/build_debian12_rocm_72_base.sh",
               "python3 build.py --no-container-pull --enable-logging --enable-stats "
               "--enable-tracing --enable-rocm --enable-metrics --verbose --endpoint=grpc "
               "--endpoint=http --backend=onnxruntime --linux-distro=debian"],
}
COMMIT = "0123456789abcdef0123456789abcdef01234567"
SOURCE = "https://example.invalid/server.git"


@pytest.mark.parametrize("distro", sorted(GUIDE))
@pytest.mark.parametrize("rocm_version", ["7.2", "7.2.0"])
def test_commands_are_the_guides(distro, rocm_version):
    steps = commands("/srv/src", distro, rocm_version)
    assert [shlex.join(step) for step in steps] == GUIDE[distro]


@pytest.mark.parametrize("distro, version, script", [
    ("ubuntu", "7.2.3", "scripts/build_ubuntu24.04_rocm_723_base.sh"),
    ("debian", "7.2.3", "scripts/build_debian12_rocm_723_base.sh"),
    ("debian", "7.1.4", "scripts/build_debian12_rocm_714_base.sh"),
])
def test_point_release_scripts_are_named_as_in_the_repository(distro, version, script):
    assert base_script(distro, version) == script


def test_extra_backends_and_pinned_refs_follow_the_guides_flags():
    args = build_py_args("ubuntu", ["onnxruntime", "python"],
                         ["--repo-tag=onnxruntime:rocm7.2_r25.12"])
    assert args[-4:] == ["--backend=onnxruntime", "--backend=python",
                         "--repo-tag=onnxruntime:rocm7.2_r25.12", "--linux-distro=ubuntu"]


@pytest.mark.parametrize("call, match", [
    (lambda: build_py_args("rhel"), r"^triton_image_linux_distro: 'rhel' is not one of"),
    (lambda: build_py_args("ubuntu", ["python"]), r"must include onnxruntime"),
    (lambda: build_py_args("ubuntu", ["onnxruntime", "py thon"]), r"are not backend names"),
    (lambda: build_py_args("ubuntu", extra_args=["--linux-distro=debian"]),
     r"^triton_image_build_extra_args: '--linux-distro=debian'"),
    (lambda: base_script("ubuntu", "7.x"), r"^triton_image_rocm_version: '7.x'"),
    (lambda: check_ref("main; rm -rf /"), r"^triton_image_source_ref: "),
    (lambda: check_ref("../etc"), r"^triton_image_source_ref: "),
    (lambda: provenance("u", "rocm7.2_r25.12", [], "7.2", [], "ubuntu"), r"not a 40-digit"),
    (lambda: provenance("u", COMMIT, [], "7.2", ["mi300x"], "ubuntu"), r"not gfx targets"),
])
def test_bad_settings_name_the_variable(call, match):
    with pytest.raises(BuildPlanError, match=match):
        call()


def test_provenance_changes_with_any_input_and_only_then():
    args = build_py_args("ubuntu")
    base = provenance(SOURCE, COMMIT, args, "7.2", ["gfx942"], "ubuntu")
    assert provenance(SOURCE, COMMIT, args, "7.2", ["gfx942", "gfx942"], "ubuntu") == base
    variants = [
        provenance(SOURCE, COMMIT.replace("0", "1"), args, "7.2", ["gfx942"], "ubuntu"),
        provenance(SOURCE, COMMIT, build_py_args("ubuntu", ["onnxruntime", "python"]), "7.2",
                   ["gfx942"], "ubuntu"),
        provenance(SOURCE, COMMIT, args, "7.2.1", ["gfx942"], "ubuntu"),
        provenance(SOURCE, COMMIT, args, "7.2", ["gfx942", "gfx950"], "ubuntu"),
        provenance("https://mirror.invalid/server.git", COMMIT, args, "7.2", ["gfx942"], "ubuntu"),
    ]
    assert len({v[0] for v in variants} | {base[0]}) == len(variants) + 1
    digest, labels = base
    assert labels["org.inferops.triton.provenance"] == digest
    assert labels["org.inferops.triton.commit"] == COMMIT
    assert labels["org.inferops.triton.build-args"] == " ".join(args)
    assert labels["org.inferops.triton.gpu-targets"] == "gfx942"


def test_host_targets_missing_from_the_build():
    assert missing_targets(["gfx942", "gfx950"], ["gfx942"]) == ["gfx950"]
    assert missing_targets(["gfx942"], ["gfx90a", "gfx942"]) == []
