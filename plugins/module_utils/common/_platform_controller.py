# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platforms the collection installs on, and a host's platform read from its facts: the
one list the rocm role's repositories and the docker_engine role's packages check.

Controller-side: the rocm role's repository plan and the platform_unsupported filter read it.
"""

from __future__ import annotations

SUPPORTED = ("Ubuntu 24.04", "Debian 12")


def platform_of(distribution, version) -> str:
    """The platform a host's ``distribution`` and ``distribution_version`` facts name: Ubuntu
    by its release (``Ubuntu 24.04``), any other by its major version (``Debian 12`` for
    every Debian 12 point release)."""
    distribution, version = str(distribution), str(version)
    if distribution == "Ubuntu":
        return f"Ubuntu {version}"
    return f"{distribution} {version.split('.', 1)[0]}"


def unsupported(distribution, version, role: str) -> str | None:
    """Why ``role`` does not run on this host, naming the facts and what is supported; None
    on a supported platform."""
    if platform_of(distribution, version) in SUPPORTED:
        return None
    return (f"ansible_facts.distribution {distribution} {version} is not supported by the "
            f"{role} role; supported: {', '.join(SUPPORTED)}")
