# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Just enough OpenPGP (RFC 4880) to install an apt keyring without gpg on the host.

``dearmor`` does what ``gpg --dearmor`` does (the armor's base64 body, CRC checked), and
``primary_fingerprints`` lists the version 4 fingerprints of the primary keys in the packets,
so a downloaded key can be checked against the fingerprint the operator pinned.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
END = "-----END PGP PUBLIC KEY BLOCK-----"
TAG_PUBLIC_KEY = 6


class OpenPgpError(ValueError):
    pass


def _crc24(data):
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _bit in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def dearmor(data):
    """Binary key packets from armored (or already binary) key data."""
    if isinstance(data, str):
        data = data.encode("ascii", "replace")
    text = data.decode("ascii", "replace")
    if BEGIN not in text:
        if data[:1] and data[0] & 0x80:
            return bytes(data)
        raise OpenPgpError("not an OpenPGP public key (no armor header, no binary packet)")
    body = text.split(BEGIN, 1)[1]
    if END not in body:
        raise OpenPgpError("armored key has no END line")
    body = body.split(END, 1)[0]
    lines = [line.strip() for line in body.strip().splitlines()]
    if "" in lines:  # armor headers (Version:, Comment:) end at the first blank line
        lines = lines[lines.index("") + 1:]
    checksum = None
    if lines and lines[-1].startswith("="):
        checksum = lines.pop()[1:]
    try:
        packets = base64.b64decode("".join(lines), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OpenPgpError(f"armored key is not valid base64 ({exc})") from exc
    if checksum is not None:
        try:
            expected = int.from_bytes(base64.b64decode(checksum), "big")
        except (binascii.Error, ValueError) as exc:
            raise OpenPgpError("armor checksum line is not base64") from exc
        if _crc24(packets) != expected:
            raise OpenPgpError("armor checksum does not match: the key was damaged in transit")
    return packets


def packets(data):
    """(tag, body) for each packet of binary OpenPGP data."""
    pos, out = 0, []
    while pos < len(data):
        header = data[pos]
        if not header & 0x80:
            raise OpenPgpError(f"byte {pos} is not an OpenPGP packet header")
        if header & 0x40:  # new format
            tag = header & 0x3F
            first = data[pos + 1]
            if first < 192:
                length, pos = first, pos + 2
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 2] + 192, pos + 3
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 2:pos + 6], "big"), pos + 6
            else:
                raise OpenPgpError("partial-length packets do not occur in keys")
        else:  # old format
            tag = (header >> 2) & 0x0F
            kind = header & 0x03
            if kind == 3:
                raise OpenPgpError("indeterminate-length packets do not occur in keys")
            size = (1, 2, 4)[kind]
            length = int.from_bytes(data[pos + 1:pos + 1 + size], "big")
            pos += 1 + size
        if pos + length > len(data):
            raise OpenPgpError("key data ends inside a packet")
        out.append((tag, data[pos:pos + length]))
        pos += length
    return out


def primary_fingerprints(data):
    """Upper-case hex v4 fingerprints of the primary keys in binary key data."""
    found = []
    for tag, body in packets(data):
        if tag != TAG_PUBLIC_KEY:
            continue
        if not body or body[0] != 4:
            raise OpenPgpError(f"public key version {body[:1].hex() or '?'} is not supported "
                               "(only version 4 keys)")
        digest = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest()
        found.append(digest.upper())
    if not found:
        raise OpenPgpError("no public key packet in the key data")
    return found


def normalise_fingerprint(value):
    return "".join(str(value).split()).upper()
