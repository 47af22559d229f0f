# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files on a host, the one way: read (None when absent), hash, and replace atomically.

Travels to hosts: standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os

CHUNK = 1 << 20


def read_text(path: str, errors: str = "strict") -> str | None:
    """The file's text (UTF-8), None when there is no file. ``errors="replace"`` for files
    other programs write (journals, units edited by hand)."""
    try:
        with open(path, encoding="utf-8", errors=errors) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def sha256_file(path: str) -> str | None:
    """The file's sha256 (hex), read in 1 MiB chunks; None when there is no file."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def write_atomic(path: str, data: bytes | str, mode: int = 0o600, move=os.replace) -> None:
    """``data`` at ``path`` with ``mode``: written to a temporary file beside it that no one
    else can read before its mode is set, then renamed over ``path`` (a reader sees the old
    file or the new one, never half of one). Its directory is made (0755) when missing.
    A module passes ``move=module.atomic_move`` to keep SELinux contexts and ownership."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o755, exist_ok=True)
    tmp = f"{path}.inferops-tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, mode)
        move(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: str, data, mode: int = 0o600) -> None:
    """``data`` as JSON (sorted keys) at ``path``, replaced atomically."""
    write_atomic(path, json.dumps(data, sort_keys=True), mode)
