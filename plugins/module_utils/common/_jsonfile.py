# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON files that several owners share (Docker's daemon.json): merge, don't overwrite."""

from __future__ import annotations

import json
import os

from ansible_collections.inferops.triton.plugins.module_utils.common._files import (
    read_text,
    write_atomic,
)


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


def merge_file(module, path: str, wanted: dict, mode) -> dict:
    """Merge ``wanted`` into the JSON object file at ``path`` for an AnsibleModule: written
    atomically (not in check mode) when its content changes, then its mode set. Returns
    ``content_changed``, ``mode_changed``, ``content`` (the merged object) and, in diff mode,
    ``diff``. Raises ValueError, naming the file, when it holds something else than an object."""
    try:
        before, after = plan(read_text(path), wanted)
    except ValueError as exc:
        raise ValueError(f"{path} is not a JSON object ({exc}); fix or remove it first") from exc
    result = {"content_changed": before != after, "mode_changed": False,
              "content": json.loads(after)}
    if module._diff:
        result["diff"] = {"before": before, "after": after,
                          "before_header": path, "after_header": path}
    if result["content_changed"] and not module.check_mode:
        write_atomic(path, after, move=module.atomic_move)
    file_args = module.load_file_common_arguments({"path": path, "mode": mode})
    if not module.check_mode or os.path.exists(path):
        result["mode_changed"] = module.set_fs_attributes_if_different(file_args, False)
    return result
