"""AMD's apt repository facts the rocm role uses, against AMD's own install documents in
../shared/upstream (the device metrics exporter's docs, which install from the same
repo.radeon.com with the same key): the base URL, the signing key's URL and keyring, the
suites per Ubuntu release, ``signed-by`` sources. The Release files' ``Origin`` the pin names
is not in these snapshots; rocm/_repo_controller.py's docstring cites where it was read."""

import re
import subprocess

import pytest
import yaml
from upstream import ROOT, UPSTREAM

from ansible_collections.inferops.triton.plugins.module_utils.rocm import (
    _repo_controller as _rocm_repo,
)

EXPORTER = UPSTREAM / "rocm-device-metrics-exporter-docs.tar.gz"
DOC = "device-metrics-exporter/docs/installation/deb-package.rst"


@pytest.fixture(scope="module")
def install_doc():
    if not EXPORTER.is_file():
        pytest.skip(f"{EXPORTER} is not here (shared/upstream sits beside the project's "
                    "checkouts only)")
    return subprocess.run(["tar", "-xzOf", str(EXPORTER), DOC], capture_output=True,
                          text=True, check=True).stdout


def test_the_key_and_its_keyring_are_amds(install_doc):
    key_url, keyring = re.search(r"wget (\S+rocm\.gpg\.key) -O - \| gpg --dearmor \| "
                                 r"sudo tee (\S+) ", install_doc).groups()
    defaults = yaml.safe_load((ROOT / "roles" / "rocm" / "defaults" / "main.yml").read_text())
    assert _rocm_repo.DEFAULT_BASE_URL == defaults["rocm_repo_base_url"]
    assert key_url == f"{_rocm_repo.DEFAULT_BASE_URL}/rocm/rocm.gpg.key"
    assert defaults["rocm_apt_key_url"].endswith("/rocm/rocm.gpg.key")
    assert keyring == defaults["rocm_apt_keyring"] == "/etc/apt/keyrings/rocm.gpg"


def test_the_suites_and_signed_sources_are_amds(install_doc):
    sources = re.findall(r"deb \[arch=amd64 signed-by=(\S+)\] (https://repo\.radeon\.com/\S+) "
                         r"(\w+) main", install_doc)
    suites = {suite for _keyring, _url, suite in sources}
    assert suites == {"jammy", "noble"}
    assert _rocm_repo.suite_for("Ubuntu", "24.04") == "noble"
    # AMD builds for Debian 12 are its jammy ones (rocm/_repo_controller.py's docstring)
    assert _rocm_repo.suite_for("Debian", "12") in suites
    plan = _rocm_repo.plan("7.2", "Ubuntu", "24.04")
    stanzas = _rocm_repo.parse_deb822(plan["files"]["/etc/apt/sources.list.d/rocm.sources"])
    assert {s["Signed-By"] for s in stanzas} == {keyring for keyring, _u, _s in sources}
    assert all(s["URIs"].startswith(_rocm_repo.DEFAULT_BASE_URL + "/") for s in stanzas)
