# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A filter's argument in Python's own types.

Travels to hosts; standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping


def plain(value):
    """``value`` in Python's own types: a filter is handed Ansible's lazy containers and
    tagged strings. Numbers, booleans and null stay what they are (hashes and schemas see
    them)."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value
