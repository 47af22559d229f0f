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
  /etc/apt/preferences.d/rocm-pin-600 (package-manager-{ubuntu,debian}.rst). ``o=`` matches the
  ``Origin:`` field of a repository's Release file, not the host it is fetched from, and AMD's
  Release files say ``Origin: repo.radeon.com`` and ``Label: repo.radeon.com`` (quoted from
  rocm/apt/6.2.4/dists/noble/Release in ROCm/ROCm#4022 and from
  amdgpu/latest/ubuntu/dists/noble/InRelease in ROCm/ROCm#5625). A mirror that keeps AMD's
  signature keeps those files, so the pin names ``repo.radeon.com`` whatever the URL; only a
  mirror that re-signs and re-labels needs ``rocm_apt_pin_origin``. A pin that matches nothing
  leaves AMD's packages at 500 against the distribution's own ROCm packages, whose version
  strings are higher (Ubuntu's rocminfo 5.7.1 vs AMD's 1.0.0.70200), and ``apt install rocm``
  fails on AMD's exact-version dependencies;
- apt keeps a source's signed Release file as /var/lib/apt/lists/<URI without scheme, '/' ->
  '_'>_dists_<suite>_InRelease (apt-pkg/contrib/strutl.cc ``URItoFileName``); a source without
  it (or a Release) there has no index, whatever the sources files say.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.inferops.triton.plugins.module_utils.common._platform_controller import (
    platform_of,
    unsupported,
)

DEFAULT_BASE_URL = "https://repo.radeon.com"
APT_LISTS_DIR = "/var/lib/apt/lists"
DEFAULT_KEY_FINGERPRINT = "CA8BB4727A47B4D09B4EE8969386B48A1A693C5C"
AMD_ORIGIN = "repo.radeon.com"

# The platform (common/_platform_controller.platform_of) -> the suite AMD builds for it.
SUITES = {
    "Ubuntu 24.04": "noble",
    "Debian 12": "jammy",
}

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
    reason = unsupported(distribution, distribution_version, "rocm")
    if reason:
        raise RocmRepoError(reason)
    return SUITES[platform_of(distribution, distribution_version)]


def pin_origin_for(base_url, pin_origin=None):
    """The Release ``Origin`` the pin names.

    AMD's (``repo.radeon.com``) whatever the URL: a mirror that keeps AMD's signature keeps AMD's
    Release files and their Origin, and the mirror's host name is in none of them. Only a mirror
    that re-signs and re-labels the repositories sets ``pin_origin`` (rocm_apt_pin_origin).
    """
    if not urlsplit(str(base_url or "")).hostname:
        raise RocmRepoError(f"rocm_repo_base_url: {base_url!r} is not an http(s) URL")
    if pin_origin not in (None, ""):
        origin = str(pin_origin).strip()
        if not origin or any(c in origin for c in ",\n"):
            raise RocmRepoError(f"rocm_apt_pin_origin: {pin_origin!r} is not a Release Origin")
        return origin
    return AMD_ORIGIN


# Characters apt's URItoFileName percent-quotes besides controls, space, '%' and non-ASCII.
_APT_QUOTED = frozenset('\\|{}[]<>"^~_=!@#$%^&*')


def apt_list_name(uri, suite, file="InRelease"):
    """The file under /var/lib/apt/lists where apt keeps ``<uri>/dists/<suite>/<file>``.

    As apt's ``URItoFileName`` (apt-pkg/contrib/strutl.cc): scheme, user and password dropped,
    the host kept as written and a port as its number, unsafe characters quoted as ``%xx``
    (lower-case hex; ``_`` and ``~`` among them), then every ``/`` replaced by ``_``.
    """
    parts = urlsplit(str(uri))
    netloc = parts.netloc.rsplit("@", 1)[-1]
    host, port = netloc, 0
    if netloc.startswith("["):  # [v6]:port; apt drops the brackets once the scheme is gone
        host, rest = netloc[1:].split("]", 1) if "]" in netloc else (netloc[1:], "")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif ":" in netloc:
        host, number = netloc.rsplit(":", 1)
        port = int(number) if number.isdigit() else 0
    path = parts.path or "/"
    if not path.endswith("/"):
        path += "/"
    text = host + (f":{port}" if port else "") + f"{path}dists/{suite}/{file}"
    quoted = "".join(
        f"%{byte:02x}" if byte <= 0x20 or byte >= 0x7F or chr(byte) in _APT_QUOTED
        else chr(byte)
        for byte in text.encode())
    return quoted.replace("/", "_")


def source_stanza(comment, uri, suite, keyring, architectures):
    """One deb822 source stanza (a comment line, then Types to Signed-By), as AMD's guides
    write them; the gpu_exporter role's source is one too."""
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
         architectures=("amd64",), kernel=None):
    """Everything the rocm role writes under /etc/apt, as {path: content}, plus what it derived
    (with ``kernel``, the running kernel's packages DKMS needs: ``kernel_packages``).

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
    pin_origin = pin_origin_for(base, pin_origin)
    try:
        priority = int(pin_priority)
    except (TypeError, ValueError):
        priority = -1
    if priority < 1:
        raise RocmRepoError(f"rocm_apt_pin_priority: {pin_priority!r} is not a positive integer")

    label = f"ROCm {version} for {distribution} {distribution_version}"
    files, uris = {}, []
    if userspace:
        uris += [f"{base}/rocm/apt/{directory}", f"{base}/graphics/{graphics_version}/ubuntu"]
        files["/etc/apt/sources.list.d/rocm.sources"] = (
            "# Managed by inferops.triton (role rocm)\n"
            + source_stanza(f"{label}: ROCm", uris[-2], suite, keyring, architectures)
            + "\n"
            + source_stanza(f"{label}: graphics libraries", uris[-1], suite, keyring,
                            architectures))
    if driver:
        uris.append(f"{base}/amdgpu/{amdgpu_version}/ubuntu")
        files["/etc/apt/sources.list.d/amdgpu.sources"] = (
            "# Managed by inferops.triton (role rocm)\n"
            + source_stanza(f"{label}: amdgpu driver {amdgpu_version}", uris[-1], suite,
                            keyring, architectures))
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
        "apt_lists": apt_lists(uris, suite),
        "kernel_packages": kernel_packages(distribution, kernel) if kernel else [],
    }


def kernel_packages(distribution, kernel):
    """The packages AMD's prerequisites install for the running ``kernel`` before amdgpu-dkms:
    its headers, and on Ubuntu its extra modules (``linux-modules-extra-$(uname -r)``)."""
    return [f"linux-headers-{kernel}"] + (
        [f"linux-modules-extra-{kernel}"] if distribution == "Ubuntu" else [])


def apt_lists(uris, suite):
    """Where apt keeps the sources' signed Release files: ``dir`` and {file name: source}.

    A source is indexed when apt holds its InRelease, or its Release for a repository that
    publishes only Release and Release.gpg. The role looks for these names under
    /var/lib/apt/lists and refreshes the index when a source has neither (an ``apt-get update``
    that failed after the sources were written, say).
    """
    return {"dir": APT_LISTS_DIR,
            "files": {apt_list_name(uri, suite, name): f"{uri} {suite}"
                      for uri in uris for name in ("InRelease", "Release")}}


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


# `apt-cache policy <package>`: a package a source offers has a "Candidate: <version>" line; a
# name apt knows but no source offers says "Candidate: (none)", and one it does not know
# prints nothing (tests/fixtures/apt/SOURCE.md).
_CANDIDATE = re.compile(r"Candidate: (?!\(none\))")


def without_candidate(results):
    """The items of an ``apt-cache policy <item>`` loop's results that apt cannot install:
    their output names no candidate version. Results without ``stdout`` (skipped) are left
    out."""
    return [result.get("item") for result in results or []
            if isinstance(result, dict) and "stdout" in result
            and not _CANDIDATE.search(str(result["stdout"]))]
