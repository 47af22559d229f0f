"""dearmor and fingerprints, checked against the real gpg on a key gpg made."""


import pytest

from ansible_collections.inferops.triton.plugins.module_utils.common._openpgp import (
    OpenPgpError,
    dearmor,
    normalise_fingerprint,
    primary_fingerprints,
)


@pytest.fixture(name="key")
def key_fixture(gpg_key):
    """(armored, binary, fingerprint): the key tests/unit/plugins/conftest.py made."""
    return gpg_key


def test_dearmor_is_byte_for_byte_what_gpg_dearmor_writes(key):
    armored, binary, _fingerprint = key
    assert dearmor(armored) == binary
    assert dearmor(armored.decode()) == binary
    assert dearmor(binary) == binary  # an already binary key passes through


def test_primary_fingerprint_is_gpgs(key):
    armored, _binary, fingerprint = key
    assert primary_fingerprints(dearmor(armored)) == [fingerprint]


def test_damage_in_transit_is_caught_by_the_armor_checksum(key):
    armored = key[0].decode().splitlines()
    body = next(i for i, line in enumerate(armored) if len(line) > 60)
    line = armored[body]
    armored[body] = line[:10] + ("A" if line[10] != "A" else "B") + line[11:]
    with pytest.raises(OpenPgpError, match="checksum does not match"):
        dearmor("\n".join(armored))


@pytest.mark.parametrize("data, match", [
    (b"<html>404 Not Found</html>", "not an OpenPGP public key"),
    (b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n", "no END line"),
])
def test_things_that_are_not_keys(data, match):
    with pytest.raises(OpenPgpError, match=match):
        dearmor(data)


def test_fingerprints_are_normalised():
    assert normalise_fingerprint("ca8b b472 7a47 b4d0 9b4e  e896 9386 b48a 1a69 3c5c") == \
        "CA8BB4727A47B4D09B4EE8969386B48A1A693C5C"
