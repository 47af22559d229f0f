# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AMD's apt repositories for a ROCm release, as AMD's install guides lay them out.

Facts, with where they come from:

- the signing key is https://repo.radeon.com/rocm/rocm.gpg.key, dearmored into
  /etc/apt/keyrings/rocm.gpg; its primary key is CA8B B472 7A47 B4D0 9B4E E896 9386 B48A
  1A69 3C5C ("ROCm Release Manager"), re-signed from time to time, so the role pins the
  fingerprint, not the file's hash (ROCm/rocm-install-on-linux package-manager-*.rst;
  ROCm/ROCm#2362);
- ROCm user space: ``https://repo.radeon.com/rocm/apt/<dir> <suite> main`` and the graphics
  libraries ``https://repo.radeon.com/graphics/<dir>/ubuntu <suite> main``; <dir> is the
  version with a trailing ``.0`` dropped (7.2.0 -> 7.2, 7.2.1 stays 7.2.1);
- the kernel driver: ``https://repo.radeon.com/amdgpu/<amdgpu>/ubuntu <suite> main``, where
  <amdgpu> is the driver release that shipped with that ROCm (ROCm 7.x -> 30.x; ROCm/amdgpu-docs
  package-manager-*.rst), not derivable from the ROCm version;
- Ubuntu 24.04 uses suite ``noble``; Debian 12 uses AMD's ``jammy`` builds (conf.py
  ``debian_version_numbers = [('12', 'jammy')]``);
- the pin ``Package: *`` / ``Pin: release o=repo.radeon.com`` / ``Pin-Priority: 600`` in
  /etc/apt/preferences.d/rocm-pin-600.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "https://repo.radeon.com"
DEFAULT_KEY_FINGERPRINT = "CA8BB4727A47B4D09B4EE8969386B48A1A693C5C"
AMD_ORIGIN = "repo.radeon.com"

# (distribution, major version) -> the suite AMD builds for it.
SUITES = {
    ("Ubuntu", "24"): "noble",
    ("Debian", "12"): "jammy",
}
SUPPORTED = ("Ubuntu 24.04", "Debian 12")

# ROCm release -> (amdgpu driver repository, graphics repository). Where AMD did not bump
# every repository in a release its install guide points at the older one, e.g. 7.2.2 at
# amdgpu 30.30.1 and graphics 7.2.1 (quick-start guide for 7.2.2, ROCm/ROCm#6156).
COMPATIBILITY = {
    "7.0": ("30.10", "7.0"),
    "7.0.1": ("30.10.1", "7.0.1"),
    "7.0.2": ("30.10.2", "7.0.2"),
    "7.1": ("30.20", "7.1"),
    "7.1.1": ("30.20.1", "7.1.1"),
    "7.2": ("30.30", "7.2"),
    "7.2.1": ("30.30.1", "7.2.1"),
    "7.2.2": ("30.30.1", "7.2.1"),
    "7.2.3": ("30.30.3", "7.2.3"),
}

VERSION_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?$")
DRIVER_VERSION_RE = re.compile(r"^\d+\.\d+(?:\.\d+)*$")


class RocmRepoError(ValueError):
    """A setting that cannot describe AMD's repositories; the message says which and why."""


def repo_dir(version, variable="rocm_version"):
    """The directory AMD names a release's repositories by: 7.2.0 -> 7.2, 7.2.1 -> 7.2.1."""
    match = VERSION_RE.match(str(version).strip()) if version is not None else None
    if not match:
        raise RocmRepoError(
            f"{variable}: {version!r} is not a ROCm release; use MAJOR.MINOR or "
            "MAJOR.MINOR.PATCH, e.g. '7.2' or '7.2.1'")
    major, minor, patch = match.groups()
    if patch in (None, "0"):
        return f"{major}.{minor}"
    return f"{major}.{minor}.{patch}"


def suite_for(distribution, distribution_version):
    major = str(distribution_version).split(".", maxsplit=1)[0]
    suite = SUITES.get((distribution, major))
    if suite is None or (distribution == "Ubuntu" and str(distribution_version) != "24.04"):
        raise RocmRepoError(
            f"ansible_facts.distribution {distribution} {distribution_version} is not supported "
            f"by the rocm role; supported: {', '.join(SUPPORTED)}")
    return suite


def pin_origin_for(base_url):
    """The Release Origin the pin names: AMD's own, or the mirror's host name."""
    host = urlsplit(base_url).hostname
    if not host:
        raise RocmRepoError(f"rocm_repo_base_url: {base_url!r} is not an http(s) URL")
    return AMD_ORIGIN if host == AMD_ORIGIN else host


def _source(comment, uri, suite, keyring, architectures):
    return (
        f"# {comment}\n"
        "Types: deb\n"
        f"URIs: {uri}\n"
        f"Suites: {suite}\n"
        "Components: main\n"
        f"Architectures: {' '.join(architectures)}\n"
        f"Signed-By: {keyring}\n"
    )


def plan(version, distribution, distribution_version, base_url=DEFAULT_BASE_URL,
         keyring="/etc/apt/keyrings/rocm.gpg", amdgpu_version=None, graphics_version=None,
         pin_origin=None, pin_priority=600, driver=True, userspace=True,
         architectures=("amd64",)):
    """Everything the rocm role writes under /etc/apt, as {path: content}, plus what it derived.

    Raises RocmRepoError naming the variable or host fact that is wrong.
    """
    directory = repo_dir(version)
    suite = suite_for(distribution, distribution_version)
    if not re.match(r"^https?://[^/\s]+", str(base_url or "")):
        raise RocmRepoError(f"rocm_repo_base_url: {base_url!r} is not an http(s) URL")
    base = str(base_url).rstrip("/")
    known = COMPATIBILITY.get(directory)
    if amdgpu_version in (None, ""):
        if known is None and driver:
            raise RocmRepoError(
                f"rocm_amdgpu_version: not set, and ROCm {version} is not in the compatibility "
                f"table ({', '.join(COMPATIBILITY)}); set it to the amdgpu driver release AMD "
                "ships with that ROCm (e.g. '30.30' for 7.2)")
        amdgpu_version = known[0] if known else None
    elif not DRIVER_VERSION_RE.match(str(amdgpu_version)):
        raise RocmRepoError(f"rocm_amdgpu_version: {amdgpu_version!r} is not a version like "
                            "'30.30' or '30.30.1'")
    if graphics_version in (None, ""):
        graphics_version = known[1] if known else directory
    else:
        graphics_version = repo_dir(graphics_version, "rocm_graphics_version")
    if pin_origin in (None, ""):
        pin_origin = pin_origin_for(base)
    try:
        priority = int(pin_priority)
    except (TypeError, ValueError):
        priority = -1
    if priority < 1:
        raise RocmRepoError(f"rocm_apt_pin_priority: {pin_priority!r} is not a positive integer")

    label = f"ROCm {version} for {distribution} {distribution_version}"
    files = {}
    if userspace:
        files["/etc/apt/sources.list.d/rocm.sources"] = (
            "# Managed by inferops.triton (role rocm)\n"
            + _source(f"{label}: ROCm", f"{base}/rocm/apt/{directory}", suite, keyring,
                      architectures)
            + "\n"
            + _source(f"{label}: graphics libraries", f"{base}/graphics/{graphics_version}/ubuntu",
                      suite, keyring, architectures))
    if driver:
        files["/etc/apt/sources.list.d/amdgpu.sources"] = (
            "# Managed by inferops.triton (role rocm)\n"
            + _source(f"{label}: amdgpu driver {amdgpu_version}",
                      f"{base}/amdgpu/{amdgpu_version}/ubuntu", suite, keyring, architectures))
    pin_path = f"/etc/apt/preferences.d/rocm-pin-{priority}"
    files[pin_path] = (
        "# Managed by inferops.triton (role rocm)\n"
        "Package: *\n"
        f"Pin: release o={pin_origin}\n"
        f"Pin-Priority: {priority}\n")
    return {
        "files": files,
        "suite": suite,
        "repo_dir": directory,
        "amdgpu_version": amdgpu_version,
        "graphics_version": graphics_version,
        "pin_origin": pin_origin,
        "pin_path": pin_path,
        "keyring": keyring,
    }


def parse_deb822(text):
    """Stanzas of a deb822 sources file as dicts (comments dropped); for tests and checks."""
    stanzas, current = [], {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                stanzas.append(current)
                current = {}
            continue
        key, value = line.split(":", 1)
        current[key.strip()] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas
