"""AMD's apt layout for ROCm, compared with the lines AMD's install guides print.

The documented lines below are copied from AMD's guides (ROCm/rocm-install-on-linux
docs/install/install-methods/package-manager/package-manager-{ubuntu,debian}.rst with
``rocm_version`` substituted, and ROCm/amdgpu-docs
docs/install/detailed-install/package-manager/package-manager-{ubuntu,debian}.rst with
``amdgpu_url_version``), and from the 7.2.2 quick start quoted in ROCm/ROCm#6156.
"""

import pytest

from ansible_collections.inferops.triton.plugins.module_utils._rocm_repo import (
    RocmRepoError,
    parse_deb822,
    plan,
    repo_dir,
)

KEYRING = "/etc/apt/keyrings/rocm.gpg"
PIN = "Package: *\nPin: release o=repo.radeon.com\nPin-Priority: 600\n"


def one_line(stanza):
    """A deb822 stanza written the way AMD's guides write a one-line source."""
    return (f"deb [arch={stanza['Architectures'].replace(' ', ',')} "
            f"signed-by={stanza['Signed-By']}] {stanza['URIs']} {stanza['Suites']} "
            f"{stanza['Components']}")


def documented(version, suite, amdgpu, graphics=None):
    graphics = graphics or version
    opts = f"[arch=amd64 signed-by={KEYRING}]"
    return {
        "rocm": [f"deb {opts} https://repo.radeon.com/rocm/apt/{version} {suite} main",
                 f"deb {opts} https://repo.radeon.com/graphics/{graphics}/ubuntu {suite} main"],
        "amdgpu": [f"deb {opts} https://repo.radeon.com/amdgpu/{amdgpu}/ubuntu {suite} main"],
    }


@pytest.mark.parametrize("distribution, dist_version, suite", [
    ("Ubuntu", "24.04", "noble"),
    ("Debian", "12", "jammy"),
    ("Debian", "12.11", "jammy"),
])
@pytest.mark.parametrize("version, directory, amdgpu, graphics", [
    ("7.2", "7.2", "30.30", None),
    ("7.2.0", "7.2", "30.30", None),
    ("7.2.1", "7.2.1", "30.30.1", None),
    ("7.2.2", "7.2.2", "30.30.1", "7.2.1"),
])
def test_sources_are_amds_documented_lines(distribution, dist_version, suite, version,
                                           directory, amdgpu, graphics):
    result = plan(version, distribution, dist_version)
    files = result["files"]
    expected = documented(directory, suite, amdgpu, graphics)
    rocm = parse_deb822(files["/etc/apt/sources.list.d/rocm.sources"])
    driver = parse_deb822(files["/etc/apt/sources.list.d/amdgpu.sources"])
    assert [one_line(s) for s in rocm] == expected["rocm"]
    assert [one_line(s) for s in driver] == expected["amdgpu"]
    assert all(s["Types"] == "deb" for s in rocm + driver)
    pin = files["/etc/apt/preferences.d/rocm-pin-600"]
    assert pin.split("\n", 1)[1] == PIN
    assert result["keyring"] == KEYRING
    assert set(files) == {"/etc/apt/sources.list.d/rocm.sources",
                          "/etc/apt/sources.list.d/amdgpu.sources",
                          "/etc/apt/preferences.d/rocm-pin-600"}


@pytest.mark.parametrize("version, directory", [
    ("7.2", "7.2"), ("7.2.0", "7.2"), ("7.2.1", "7.2.1"), ("7.10.0", "7.10"), ("6.4.3", "6.4.3"),
])
def test_repo_dir_is_derived_as_amd_does(version, directory):
    assert repo_dir(version) == directory


@pytest.mark.parametrize("version", ["7", "7.2.x", "v7.2", "7.2.1.1", "07.2", "", None, "latest"])
def test_bad_versions_name_the_variable(version):
    with pytest.raises(RocmRepoError, match=r"^rocm_version: .* use MAJOR.MINOR"):
        plan(version, "Ubuntu", "24.04")


@pytest.mark.parametrize("distribution, dist_version", [
    ("Debian", "13"), ("Ubuntu", "22.04"), ("Ubuntu", "24.10"), ("RedHat", "9.4"),
])
def test_unsupported_distributions_name_the_fact(distribution, dist_version):
    with pytest.raises(RocmRepoError, match=r"^ansible_facts.distribution .* supported: "
                                            r"Ubuntu 24.04, Debian 12"):
        plan("7.2", distribution, dist_version)


def test_a_release_outside_the_table_needs_the_driver_version():
    with pytest.raises(RocmRepoError, match=r"^rocm_amdgpu_version: not set, and ROCm 7.9"):
        plan("7.9", "Ubuntu", "24.04")
    files = plan("7.9", "Ubuntu", "24.04", amdgpu_version="30.90")["files"]
    assert "amdgpu/30.90/ubuntu" in files["/etc/apt/sources.list.d/amdgpu.sources"]
    assert "graphics/7.9/ubuntu" in files["/etc/apt/sources.list.d/rocm.sources"]
    # A container host needs no driver repository, so no table entry either.
    assert "/etc/apt/sources.list.d/amdgpu.sources" not in plan(
        "7.9", "Ubuntu", "24.04", driver=False)["files"]


def test_a_mirror_moves_every_source_and_the_pin_follows_its_origin():
    result = plan("7.2.1", "Debian", "12", base_url="http://mirror.corp.example:8080/radeon/")
    sources = "".join(result["files"][p] for p in result["files"] if p.endswith(".sources"))
    assert "repo.radeon.com" not in sources
    assert "URIs: http://mirror.corp.example:8080/radeon/rocm/apt/7.2.1\n" in sources
    assert "Pin: release o=mirror.corp.example\n" in result["files"][result["pin_path"]]
    verbatim = plan("7.2.1", "Debian", "12", base_url="http://mirror.corp.example/radeon",
                    pin_origin="repo.radeon.com")
    assert "Pin: release o=repo.radeon.com\n" in verbatim["files"][verbatim["pin_path"]]


def test_driver_only_and_userspace_only():
    driver_only = plan("7.2", "Ubuntu", "24.04", userspace=False)["files"]
    assert sorted(driver_only) == ["/etc/apt/preferences.d/rocm-pin-600",
                                   "/etc/apt/sources.list.d/amdgpu.sources"]
    userspace_only = plan("7.2", "Ubuntu", "24.04", driver=False)["files"]
    assert "/etc/apt/sources.list.d/amdgpu.sources" not in userspace_only


@pytest.mark.parametrize("options, match", [
    ({"base_url": "repo.radeon.com"}, r"^rocm_repo_base_url: 'repo.radeon.com'"),
    ({"amdgpu_version": "latest"}, r"^rocm_amdgpu_version: 'latest'"),
    ({"graphics_version": "7.x"}, r"^rocm_graphics_version: '7.x'"),
    ({"pin_priority": 0}, r"^rocm_apt_pin_priority: 0"),
])
def test_bad_overrides_name_the_variable(options, match):
    with pytest.raises(RocmRepoError, match=match):
        plan("7.2", "Ubuntu", "24.04", **options)
