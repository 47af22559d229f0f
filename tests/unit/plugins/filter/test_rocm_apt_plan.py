"""The rocm_apt_plan filter, what roles/rocm/tasks/validate.yml works AMD's repositories out
with: its files are the ones the role wrote on the lab's nodes, byte for byte, and apt's list
names the ones apt left there (tests/fixtures/apt/SOURCE.md); a bad input is the play's error."""

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter.rocm_apt_plan import (
    FilterModule,
    rocm_apt_plan,
)

APT = Path(__file__).resolve().parents[3] / "fixtures" / "apt"
SOURCES = ("/etc/apt/sources.list.d/rocm.sources", "/etc/apt/sources.list.d/amdgpu.sources")


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"rocm_apt_plan": rocm_apt_plan}


@pytest.mark.parametrize("node, distribution, version, suite", [
    ("debian12", "Debian", "12.15", "jammy"),  # the node's distribution_version
    ("ubuntu2404", "Ubuntu", "24.04", "noble"),
])
def test_the_sources_are_the_ones_the_role_wrote_on_the_lab_s_nodes(node, distribution,
                                                                    version, suite):
    plan = rocm_apt_plan("7.2", distribution, version, base_url="http://127.0.0.1:18765")
    assert plan["suite"] == suite
    assert "".join(plan["files"][path] for path in SOURCES) == \
        (APT / f"sources-{node}.txt").read_text()
    listing = set((APT / f"lists-{node}.txt").read_text().split())
    in_release = {name for name in plan["apt_lists"]["files"] if name.endswith("_InRelease")}
    assert len(in_release) == 3 and in_release <= listing


@pytest.mark.parametrize("distribution, version, kernel, packages", [
    ("Ubuntu", "24.04", "6.8.0-44-generic",
     ["linux-headers-6.8.0-44-generic", "linux-modules-extra-6.8.0-44-generic"]),
    ("Debian", "12.15", "6.1.0-44-amd64", ["linux-headers-6.1.0-44-amd64"]),
])
def test_the_running_kernel_s_packages_as_amd_s_prerequisites_name_them(distribution, version,
                                                                        kernel, packages):
    plan = rocm_apt_plan("7.2", distribution, version, kernel=kernel)
    assert plan["kernel_packages"] == packages
    assert rocm_apt_plan("7.2", distribution, version)["kernel_packages"] == []


@pytest.mark.parametrize("args, options, match", [
    (("7", "Ubuntu", "24.04"), {}, r"^rocm_version: '7' .* use MAJOR.MINOR"),
    (("7.2", "Fedora", "40"), {}, r"^ansible_facts.distribution .* supported: "),
    (("7.2", "Ubuntu", "24.04"), {"base_url": "ftp://mirror"},
     r"^rocm_repo_base_url: 'ftp://mirror' is not an http\(s\) URL"),
])
def test_a_bad_input_is_an_ansible_filter_error_naming_the_variable(args, options, match):
    with pytest.raises(AnsibleFilterError, match=match):
        rocm_apt_plan(*args, **options)
