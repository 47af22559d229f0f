"""A real OpenPGP key for the tests of _openpgp and apt_keyring, made once by the real gpg."""

import os
import subprocess

import pytest


def _gpg(home, *args, data=None):
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", *args], input=data,
                          capture_output=True, check=True).stdout


@pytest.fixture(scope="session")
def gpg_key(tmp_path_factory):
    """(armored export, what ``gpg --dearmor`` makes of it, primary fingerprint) of an RSA
    key with an encryption subkey."""
    home = tmp_path_factory.mktemp("gnupg")
    os.chmod(home, 0o700)
    _gpg(home, "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
         "inferops unit test <test@inferops.invalid>", "rsa2048", "sign,encrypt", "never")
    armored = _gpg(home, "--armor", "--export")
    colons = _gpg(home, "--with-colons", "--fingerprint").decode()
    fingerprint = next(line.split(":")[9] for line in colons.splitlines()
                       if line.startswith("fpr:"))
    return armored, _gpg(home, "--dearmor", data=armored), fingerprint
