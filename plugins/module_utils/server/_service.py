# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Triton service on its host: which of its files differ from the rendered ones
(:func:`plan`, reading them), which are left from an earlier layout (:func:`stale_files`),
and what its journal says when a start fails (:func:`journal_errors`).

Travels to hosts; reads files, runs no command.
"""

from __future__ import annotations

import os
import re

from ansible_collections.inferops.triton.plugins.module_utils.common._files import read_text


def stale_files(names_on_host: list, settings: dict, wanted: dict) -> list:
    """Files of this service in the config and unit directories that ``wanted`` no longer
    has (an instance of a GPU that left the set, the template after a switch back to one
    server), given the paths that exist on the host."""
    name = settings["name"]
    pattern = re.compile(rf"^{re.escape(name)}(@[0-9]*)?\.(service|env|conf)$")
    return sorted(path for path in names_on_host
                  if pattern.match(os.path.basename(path)) and path not in wanted)


def file_mode(path: str) -> str | None:
    try:
        return "%04o" % (os.stat(path).st_mode & 0o7777)
    except FileNotFoundError:
        return None


def plan(rendered: dict, existing: list) -> dict:
    """What differs on the host: ``write`` (paths whose content or mode differ), ``remove``
    (stale files of this service), ``stop`` (units of stale files to stop and disable) and
    ``diff`` (before/after per changed file)."""
    write, diff = [], []
    for path, (content, mode) in sorted(rendered["files"].items()):
        before = read_text(path)
        if before != content or file_mode(path) != mode:
            write.append(path)
            # the container's environment may hold credentials: say that it changed only
            shown = (lambda text: None if text is None else "(content not shown)\n") \
                if mode == "0600" else (lambda text: text)
            diff.append({"before_header": path, "after_header": path,
                         "before": shown(before) or "", "after": shown(content)})
    remove = [path for path in existing if path not in rendered["files"]]
    stop = []
    for path in remove:
        base = os.path.basename(path)
        unit = re.sub(r"\.(env|conf)$", ".service", base)
        if unit.endswith(".service") and "@." not in unit and unit not in rendered["units"] \
                and unit not in stop:
            stop.append(unit)
        diff.append({"before_header": path, "after_header": path,
                     "before": "(present)\n", "after": ""})
    return {"write": write, "remove": remove, "stop": stop, "diff": diff}


# Triton's own words for a failure, and lines every CPU or ROCm start logs that are not one.
_TRITON_ERROR = re.compile(r"failed to load|error: creating server|UNAVAILABLE: |^E\d{4} ")
_ANY_ERROR = re.compile(r"error|failed|unable|unavailable|invalid", re.I)
_NOISE = re.compile(r"NVML|DCGM|CUDA driver|CudaDriverHelper|pinned memory|telemetry|"
                    r"No such container", re.I)


def journal_errors(text: str, limit: int = 8) -> list:
    """The lines of a server's journal that say why it failed, oldest first, without
    repeats: Triton's load and start errors where there are any, else any error line that
    is not start-up noise. A Python traceback after the message (``\\n\\nAt:``) is cut."""
    lines = [line.split("\\n\\nAt:")[0].strip() for line in (text or "").splitlines()]
    found = [line for line in lines if _TRITON_ERROR.search(line) and not _NOISE.search(line)]
    if not found:
        found = [line for line in lines if _ANY_ERROR.search(line) and not _NOISE.search(line)]
    return list(dict.fromkeys(found))[:limit]
