"""AMD's apt layout for ROCm, compared with the lines AMD's install guides print.

The documented lines below are copied from AMD's guides (ROCm/rocm-install-on-linux
docs/install/install-methods/package-manager/package-manager-{ubuntu,debian}.rst with
``rocm_version`` substituted, and ROCm/amdgpu-docs
docs/install/detailed-install/package-manager/package-manager-{ubuntu,debian}.rst with
``amdgpu_url_version``), and from the 7.2.2 quick start quoted in ROCm/ROCm#6156. The pin is
the guides' ``Pin: release o=repo.radeon.com`` (package-manager-debian.rst), whose ``o=`` is
the ``Origin:`` of AMD's Release files, ``repo.radeon.com`` (rocm/apt/6.2.4/dists/noble/Release
quoted in ROCm/ROCm#4022). apt's list file names are compared with what apt 2.6.1 (Debian 12)
and 2.7.14 (Ubuntu 24.04) left in /var/lib/apt/lists on the lab's nodes
(tests/fixtures/apt/SOURCE.md).
"""

from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.rocm._repo_controller import (
    RocmRepoError,
    apt_list_name,
    parse_deb822,
    plan,
    repo_dir,
)

APT = Path(__file__).resolve().parents[4] / "fixtures" / "apt"
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


@pytest.mark.parametrize("base_url", [
    "http://mirror.corp.example:8080/radeon/",
    "http://127.0.0.1:18765",
    "https://repo.radeon.com",
])
def test_a_mirror_moves_every_source_and_the_pin_keeps_amds_origin(base_url):
    # A mirror that keeps AMD's signature keeps AMD's Release files, and they say
    # "Origin: repo.radeon.com": the mirror's host name matches nothing.
    result = plan("7.2.1", "Debian", "12", base_url=base_url)
    pin = result["files"][result["pin_path"]]
    assert pin.split("\n", 1)[1] == PIN
    assert result["pin_origin"] == "repo.radeon.com"
    sources = "".join(result["files"][p] for p in result["files"] if p.endswith(".sources"))
    assert f"URIs: {base_url.rstrip('/')}/rocm/apt/7.2.1\n" in sources
    if "repo.radeon.com" not in base_url:
        assert "repo.radeon.com" not in sources


def test_a_mirror_that_relabels_its_release_files_names_its_origin():
    result = plan("7.2.1", "Debian", "12", base_url="http://mirror.corp.example/radeon",
                  pin_origin="corp-rocm-mirror")
    assert "Pin: release o=corp-rocm-mirror\n" in result["files"][result["pin_path"]]
    assert result["pin_origin"] == "corp-rocm-mirror"


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
    ({"pin_origin": "a,b"}, r"^rocm_apt_pin_origin: 'a,b'"),
    ({"pin_origin": "x\nPin-Priority: 1001"}, r"^rocm_apt_pin_origin: "),
])
def test_bad_overrides_name_the_variable(options, match):
    with pytest.raises(RocmRepoError, match=match):
        plan("7.2", "Ubuntu", "24.04", **options)


def _captured(name):
    return (APT / name).read_text().split()


@pytest.mark.parametrize("node, distribution, version", [
    ("debian12", "Debian", "12"),
    ("ubuntu2404", "Ubuntu", "24.04"),
])
def test_list_names_are_the_ones_apt_wrote(node, distribution, version):
    """Each source's InRelease name is in the listing apt left after a converge in the lab."""
    result = plan("7.2", distribution, version, base_url="http://127.0.0.1:18765")
    # `cat rocm.sources amdgpu.sources`: each file starts with the role's header line.
    header = "# Managed by inferops.triton (role rocm)\n"
    captured = (APT / f"sources-{node}.txt").read_text()
    stanzas = [stanza for part in captured.split(header) for stanza in parse_deb822(part)]
    # The captured sources are the ones this plan writes.
    assert [(s["URIs"], s["Suites"]) for s in stanzas] == [
        (s["URIs"], s["Suites"])
        for path in ("/etc/apt/sources.list.d/rocm.sources",
                     "/etc/apt/sources.list.d/amdgpu.sources")
        for s in parse_deb822(result["files"][path])]
    listing = _captured(f"lists-{node}.txt")
    names = [apt_list_name(s["URIs"], s["Suites"]) for s in stanzas]
    assert names == [f"127.0.0.1:18765_rocm_apt_7.2_dists_{result['suite']}_InRelease",
                     f"127.0.0.1:18765_graphics_7.2_ubuntu_dists_{result['suite']}_InRelease",
                     f"127.0.0.1:18765_amdgpu_30.30_ubuntu_dists_{result['suite']}_InRelease"]
    assert set(names) <= set(listing)
    # Every InRelease apt holds is named the same way, the lab's and the distribution's.
    for name in listing:
        if name.endswith("_InRelease"):
            site, suite = name.removesuffix("_InRelease").rsplit("_dists_", 1)
            assert apt_list_name("http://" + site.replace("_", "/"), suite) == name
    # The plan lists them, with the Release of a repository without InRelease, by source.
    assert result["apt_lists"]["dir"] == "/var/lib/apt/lists"
    files = result["apt_lists"]["files"]
    assert set(names) <= set(files)
    assert {files[name] for name in names} == {f"{s['URIs']} {s['Suites']}" for s in stanzas}
    assert sorted(files) == sorted(names + [n.removesuffix("InRelease") + "Release"
                                            for n in names])


def test_list_names_quote_as_apt_does():
    """User and password dropped, '_' and '~' quoted (apt 2.7.14, the captured probe)."""
    (stanza,) = parse_deb822((APT / "sources-ubuntu2404-quoting-probe.txt").read_text())
    name = apt_list_name(stanza["URIs"], stanza["Suites"])
    assert name == "127.0.0.1:18765_mirror%5fa%7eb_rocm_apt_7.2_dists_noble_InRelease"
    assert name in _captured("lists-ubuntu2404-quoting-probe.txt")


@pytest.mark.parametrize("uri, name", [
    ("https://repo.radeon.com/rocm/apt/7.2", "repo.radeon.com_rocm_apt_7.2_dists_noble_InRelease"),
    ("https://repo.radeon.com/rocm/apt/7.2/", "repo.radeon.com_rocm_apt_7.2_dists_noble_InRelease"),
    ("http://mirror:8080/a b", "mirror:8080_a%20b_dists_noble_InRelease"),
    ("http://[fd00::1]:8080/r", "fd00::1:8080_r_dists_noble_InRelease"),
    ("http://mirror/r=1&x", "mirror_r%3d1%26x_dists_noble_InRelease"),
])
def test_list_names_of_other_uris(uri, name):
    assert apt_list_name(uri, "noble") == name


def test_a_source_without_inrelease_is_indexed_by_its_release():
    files = plan("7.2", "Ubuntu", "24.04", driver=False)["apt_lists"]["files"]
    assert files == {
        "repo.radeon.com_rocm_apt_7.2_dists_noble_InRelease":
            "https://repo.radeon.com/rocm/apt/7.2 noble",
        "repo.radeon.com_rocm_apt_7.2_dists_noble_Release":
            "https://repo.radeon.com/rocm/apt/7.2 noble",
        "repo.radeon.com_graphics_7.2_ubuntu_dists_noble_InRelease":
            "https://repo.radeon.com/graphics/7.2/ubuntu noble",
        "repo.radeon.com_graphics_7.2_ubuntu_dists_noble_Release":
            "https://repo.radeon.com/graphics/7.2/ubuntu noble",
    }
