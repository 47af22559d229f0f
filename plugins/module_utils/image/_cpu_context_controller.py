# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CPU flavour's build context, seen from the controller before it is assembled: the
identity of everything it is made from (the lock file, the backend adapters, the rendered
Dockerfile, the Python version, the pip platforms, the labels). roles/triton_image keeps
it in a stamp beside the packed context; while it matches, no wheel is downloaded and
nothing is copied or packed again.

The value is the one the role computed in Jinja before it moved here, byte for byte: the
stamps on users' controllers hold it, and another value would rebuild every image. Hence
two inherited details. A text is hashed as ``ansible.builtin.file`` reads it (UTF-8, bytes
that are not escaped as Python's surrogateescape does, trailing whitespace stripped), and
the inputs are serialised as Ansible's ``to_json`` serialises them (``json.dumps``' defaults:
keys in the order given, ``", "`` and ``": "``, ASCII only)."""

from __future__ import annotations

import hashlib
import json
import os
import stat

# Bytecode an import of a backend leaves beside it is not part of the context.
SKIPPED = "__pycache__"


def text_sha256(text: str) -> str:
    """Hex sha256 of ``text`` in UTF-8 (what Jinja's ``hash('sha256')`` gives)."""
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def file_text(path: str) -> str:
    """The text of the file ``path`` as ``lookup('ansible.builtin.file', path)`` gives it."""
    with open(path, "rb") as handle:
        data = handle.read()
    return data.decode("utf-8", "surrogateescape").rstrip()


def backend_files(root: str) -> list[str]:
    """The regular files under ``root`` (symbolic links are not followed, nor counted),
    relative to it, less any path that has ``__pycache__`` in it; sorted as Jinja's
    ``sort`` sorts, ignoring case."""
    found = []
    for top, dirs, files in os.walk(root):
        dirs[:] = [name for name in dirs if SKIPPED not in name]
        for name in dirs + files:
            path = os.path.join(top, name)
            relative = os.path.relpath(path, root)
            if SKIPPED in relative:
                continue
            try:
                mode = os.lstat(path).st_mode
            except OSError:  # gone since it was listed
                continue
            if stat.S_ISREG(mode):
                found.append(relative)
    return sorted(found, key=str.lower)


def cpu_inputs(backends: str, requirements: str, dockerfile: str, python, platforms: list,
               labels: dict) -> str:
    """The hex sha256 identity of the CPU flavour's context: each file under the directory
    ``backends`` (by its path relative to it), the ``requirements`` lock file's text, the
    rendered ``dockerfile``, and ``python``, ``platforms`` and ``labels`` as they are.
    Reads the backend files; ``OSError`` when one cannot be read."""
    inputs = {
        "requirements": text_sha256(requirements),
        "backends": {relative: text_sha256(file_text(os.path.join(backends, relative)))
                     for relative in backend_files(backends)},
        "dockerfile": text_sha256(dockerfile),
        "python": python,
        "platforms": platforms,
        "labels": labels,
    }
    return text_sha256(json.dumps(inputs))
