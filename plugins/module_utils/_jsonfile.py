# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON files that several owners share (Docker's daemon.json): merge, don't overwrite."""

from __future__ import annotations

import json


def deep_merge(current: dict, wanted: dict) -> dict:
    """Return ``current`` with ``wanted`` laid over it; nested mappings merge key by key."""
    merged = dict(current)
    for key, value in wanted.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def render(data: dict) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def plan(existing_text: str | None, wanted: dict) -> tuple[str, str]:
    """Return ``(before, after)`` texts; ``before`` is '' when there is no file."""
    if existing_text is None or not existing_text.strip():
        current = {}
    else:
        current = json.loads(existing_text)
        if not isinstance(current, dict):
            raise ValueError("the file holds JSON but not an object")
    return existing_text or "", render(deep_merge(current, wanted))
