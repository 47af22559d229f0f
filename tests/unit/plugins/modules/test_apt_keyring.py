"""The apt_keyring module on a key the real gpg made: the dearmored keyring is written once,
through AnsibleModule.atomic_move, with the asked mode; an unpinned key writes nothing."""

import io
import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.inferops.triton.plugins.modules import apt_keyring

URL = "https://repo.example/rocm/rocm.gpg.key"


@pytest.fixture(name="key")
def key_fixture(gpg_key):
    """(armored, binary, fingerprint): the key tests/unit/plugins/conftest.py made."""
    return gpg_key


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
