# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where each model version's file comes from, resolved on the controller (filter
``model_sources``): the controller's download cache, a path on the controller, or a URL each
node downloads itself. Runs only on the controller."""

from __future__ import annotations

import hashlib
import os

from ansible_collections.inferops.triton.plugins.module_utils.common._files import sha256_file
from ansible_collections.inferops.triton.plugins.module_utils.models._repository import (
    RepositoryError,
    parse_checksum,
    source_key,
)

DOWNLOADS = ("controller", "node")


def cache_path(cache: str, url: str) -> str:
    """The controller cache file of ``url`` (keyed by the url: one download a fleet)."""
    return os.path.join(cache, hashlib.sha256(url.encode()).hexdigest() + ".onnx")


def downloads(versions: list[dict], cache: str) -> list[dict]:
    """What the controller downloads (``download: controller``): ``{url, checksum, dest}``
    once per distinct url, in the order first given, ``dest`` its ``cache_path``."""
    out, seen = [], set()
    for version in versions:
        url = version.get("url")
        if url and url not in seen:
            seen.add(url)
            out.append({"url": url, "checksum": version.get("checksum"),
                        "dest": cache_path(cache, url)})
    return out


def resolve_sources(versions: list[dict], cache: str, download: str = "controller",
                    digest=sha256_file) -> dict:
    """Every distinct version source -> ``{src, sha256, url, checksum}``.

    ``src`` is the file on the controller (the cache entry get_url made, or the version's
    ``path``), None when each node downloads for itself (``download: node``); ``sha256`` is
    the file's digest, None only when a node must read it from a checksum URL."""
    if download not in DOWNLOADS:
        raise RepositoryError(f"model_repository_download {download!r} is not one of "
                              f"{', '.join(DOWNLOADS)}")
    sources, errors = {}, []
    for version in versions:
        key = source_key(version)
        checksum = version.get("checksum")
        if key in sources:
            if checksum and sources[key]["checksum"] and checksum != sources[key]["checksum"]:
                errors.append(f"{key} is given two checksums, {sources[key]['checksum']} and "
                              f"{checksum}; one file has one sha256")
            continue
        if not key:
            continue
        try:
            kind, value = parse_checksum(checksum) if checksum else (None, None)
        except RepositoryError as exc:
            errors.append(f"{key}: {exc}")
            continue
        entry = {"url": version.get("url"), "checksum": checksum, "src": None,
                 "sha256": value if kind == "hex" else None}
        if version.get("url"):
            if download == "controller":
                entry["src"] = cache_path(cache, version["url"])
                if entry["sha256"] is None:  # get_url verified it against the checksum URL
                    entry["sha256"] = digest(entry["src"])
        else:
            path = os.path.expanduser(str(version["path"]))
            found = digest(path) if os.path.isfile(path) else None
            if found is None:
                errors.append(f"{key}: no such file on the controller")
                continue
            if entry["sha256"] is not None and entry["sha256"] != found:
                errors.append(f"{key}: the file has sha256 {found}, but its checksum says "
                              f"{entry['sha256']}")
                continue
            entry.update(src=path, sha256=found)
        sources[key] = entry
    if errors:
        raise RepositoryError("; ".join(errors))
    return sources
