"""The apt_keyring module on a key the real gpg made: the dearmored keyring is written once,
through AnsibleModule.atomic_move, with the asked mode; an unpinned key writes nothing."""

import io
import json
import os
import subprocess

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.inferops.triton.plugins.modules import apt_keyring

URL = "https://repo.example/rocm/rocm.gpg.key"


def gpg(home, *args):
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", *args],
                          capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    """(armored export, binary export, fingerprint) of a real key."""
    home = tmp_path_factory.mktemp("gnupg")
    os.chmod(home, 0o700)
    gpg(home, "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
        "inferops unit test <test@inferops.invalid>", "rsa2048", "sign", "never")
    colons = gpg(home, "--with-colons", "--fingerprint").decode()
    fingerprint = next(line.split(":")[9] for line in colons.splitlines()
                       if line.startswith("fpr:"))
    return gpg(home, "--armor", "--export"), gpg(home, "--export"), fingerprint


def run(monkeypatch, capsys, published, **params):
    monkeypatch.setattr(apt_keyring, "fetch_url",
                        lambda module, url, **kw: (io.BytesIO(published), {"status": 200}))
    with patch_module_args(dict(url=URL, **params)), pytest.raises(SystemExit):
        apt_keyring.main()
    return json.loads(capsys.readouterr().out)


def test_the_keyring_is_written_once_with_its_mode(monkeypatch, capsys, key, tmp_path):
    armored, binary, fingerprint = key
    dest = tmp_path / "rocm.gpg"
    first = run(monkeypatch, capsys, armored, dest=str(dest), fingerprints=[fingerprint])
    assert first["changed"] is True and first["fingerprints"] == [fingerprint]
    assert dest.read_bytes() == binary  # what gpg --dearmor makes of it
    assert dest.stat().st_mode & 0o777 == 0o644
    assert os.listdir(tmp_path) == ["rocm.gpg"]  # no temporary left
    again = run(monkeypatch, capsys, armored, dest=str(dest), fingerprints=[fingerprint])
    assert again["changed"] is False


def test_a_key_that_is_not_pinned_writes_nothing(monkeypatch, capsys, key, tmp_path):
    armored, _binary, fingerprint = key
    dest = tmp_path / "rocm.gpg"
    result = run(monkeypatch, capsys, armored, dest=str(dest), fingerprints=["0" * 40])
    assert result["failed"] is True and result["found"] == [fingerprint]
    assert "not among the pinned fingerprints" in result["msg"]
    assert not dest.exists()


def test_check_mode_writes_nothing(monkeypatch, capsys, key, tmp_path):
    armored, _binary, fingerprint = key
    dest = tmp_path / "rocm.gpg"
    result = run(monkeypatch, capsys, armored, dest=str(dest), fingerprints=[fingerprint],
                 _ansible_check_mode=True)
    assert result["changed"] is True and not dest.exists()
