"""common/_platform_controller.py: the platforms the rocm and docker_engine roles install
on, read from a host's facts as Ansible gathers them (distribution_version is Ubuntu's
release, Debian's point release)."""

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.common._platform_controller import (
    SUPPORTED,
    platform_of,
    unsupported,
)


@pytest.mark.parametrize("distribution, version, platform", [
    ("Ubuntu", "24.04", "Ubuntu 24.04"),
    ("Ubuntu", "24.10", "Ubuntu 24.10"),  # Ubuntu by its whole release
    ("Debian", "12.7", "Debian 12"),  # Debian by its major version
    ("Debian", "12", "Debian 12"),
    ("Debian", 12, "Debian 12"),
    ("RedHat", "9.4", "RedHat 9"),
])
def test_the_platform_a_hosts_facts_name(distribution, version, platform):
    assert platform_of(distribution, version) == platform


@pytest.mark.parametrize("distribution, version", [("Ubuntu", "24.04"), ("Debian", "12.7")])
def test_the_supported_platforms_have_no_reason(distribution, version):
    assert platform_of(distribution, version) in SUPPORTED
    assert unsupported(distribution, version, "docker_engine") is None


@pytest.mark.parametrize("distribution, version", [
    ("Ubuntu", "22.04"), ("Ubuntu", "24.10"), ("Debian", "13.1"), ("Debian", "11"),
    ("RedHat", "9.4"),
])
def test_another_platform_is_refused_naming_the_role_and_the_list(distribution, version):
    assert unsupported(distribution, version, "docker_engine") == (
        f"ansible_facts.distribution {distribution} {version} is not supported by the "
        "docker_engine role; supported: Ubuntu 24.04, Debian 12")
