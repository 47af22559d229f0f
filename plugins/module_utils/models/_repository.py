# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Triton model repository on a host: compare the whole desired state with the files in
one pass, then place only what differs.

The layout is Triton's: ``<root>/<model>/config.pbtxt`` and
``<root>/<model>/<version>/model.onnx``. Every file is written under a temporary name in
its own directory, checked against its sha256 and renamed into place, so a server never
reads a half-written file; a model's files are placed before its ``config.pbtxt``.

Plain Python, testable without Ansible; the module passes in the download function.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile

from ansible_collections.inferops.triton.plugins.module_utils.common._files import (
    CHUNK,
    read_text,
    sha256_file,
    write_json,
)

CONFIG = "config.pbtxt"
MODEL_FILE = "model.onnx"
_HEX = re.compile(r"^[0-9a-f]{64}$")


class RepositoryError(RuntimeError):
    """Something on the host or at a source stops the repository from converging."""


# --- a model's name is a directory name: the one rule, for the controller and the host ----

# Triton takes a model's name from its directory in the repository and serves it at
# /v2/models/<name>/...; a recent Triton refuses a requested name only for '/' or '..' (core's
# ValidateModelName). The rule here is narrower on purpose, so that a name is safe everywhere
# it goes - one path component on the host, an HTTP path segment that needs no escaping, a
# command-line argument (perf_analyzer -m), a metrics label, a line of a message:
# - ASCII letters, digits, '_', '-' and '.': no '/' or '\', no whitespace, no control
#   character (a newline would forge lines in the messages that quote it, NUL ends a C path),
#   nothing a URL or a shell would need to quote ('+' is left out: form decoding reads it as
#   a space);
# - not starting with '.': '.' and '..' are not directories of their own, and a hidden
#   directory is one the repository's pruning leaves alone; nor with '-', which a command
#   would read as an option;
# - at most 128 characters. Linux's NAME_MAX is 255 bytes (each of these characters is one),
#   and neither Triton nor this collection adds to the name today; 128 keeps room for a
#   prefix or suffix a later name built from it may need (a backup or temporary beside it)
#   and keeps paths, URLs and messages readable, while real names are far shorter
#   (resnet50-next: 13).
MODEL_NAME_MAX = 128
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
MODEL_NAME_RULE = ("use letters, digits, '_', '-' and '.', not starting with '.' or '-', "
                   f"at most {MODEL_NAME_MAX} characters")


def check_model_name(name) -> str | None:
    """Why ``name`` cannot be a model's directory in a repository, or None when it can."""
    if not isinstance(name, str):
        return "it is not a string"
    if not name:
        return "it is empty"
    if len(name) > MODEL_NAME_MAX:
        return f"it has {len(name)} characters"
    if "/" in name or "\\" in name:
        return "it is a path, not a single directory name"
    if name.startswith("."):
        return "it starts with '.'"
    if name.startswith("-"):
        return "it starts with '-'"
    bad = next((char for char in name if char not in _NAME_CHARS), None)
    if bad is not None:
        return f"it contains {bad!r}"
    return None


def model_name_error(name) -> str | None:
    """The message part for a bad name: the value, the reason and what is allowed."""
    reason = check_model_name(name)
    if reason is None:
        return None
    shown = str.__repr__(name) if isinstance(name, str) else repr(name)
    return f"name {shown} is not a model directory name: {reason}; {MODEL_NAME_RULE}"


def model_names(models) -> list[str]:
    """The names of ``models`` (``triton_models`` entries, or anything with a ``name`` each), in
    their order: the models a server serves and a benchmark sweeps. Every name is checked by
    ``check_model_name``; all bad ones are refused at once."""
    if models is None:
        return []
    if not isinstance(models, (list, tuple)):
        raise RepositoryError(f"models must be a list of entries with a name, got "
                              f"{type(models).__name__}")
    names, errors = [], []
    for index, model in enumerate(models):
        name = model.get("name") if isinstance(model, dict) else None
        problem = model_name_error(name)
        if problem is None:
            names.append(name)
        else:
            errors.append(f"{_label(index, name)}: {problem}")
    if errors:
        raise RepositoryError("; ".join(errors))
    return names


def _label(index: int, name) -> str:
    """``models[0] ('../x')``: where a bad name is, quoted so that a newline in it shows."""
    return f"models[{index}] ({str.__repr__(name) if isinstance(name, str) else repr(name)})"


def _is_sha256(value) -> bool:
    return isinstance(value, str) and _HEX.fullmatch(value) is not None


def _resolves_inside(base: str, path: str) -> bool:
    """Whether ``path``, every symlink in it resolved, is ``base`` (resolved too) or under it."""
    base, path = os.path.realpath(base), os.path.realpath(path)
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def _outside(base: str, path: str, what: str) -> str | None:
    if _resolves_inside(base, path):
        return None
    return (f"{path} resolves to {os.path.realpath(path)}, outside {what} "
            f"{os.path.realpath(base)} (a symlink?); nothing was changed")


class DigestCache:
    """The sha256s of model files already read, so that a converged host does not read
    gigabytes on every run. An entry is trusted only while the file's device, inode, size,
    mtime and ctime are what they were when it was hashed (writing or renaming a file
    changes its ctime, which no one can set back); otherwise the file is read again. Kept
    as JSON at ``path`` (0600), written atomically; ``path`` None keeps it in memory."""

    def __init__(self, path: str | None = None):
        self.path, self.entries, self.dirty = path, {}, False
        if path:
            try:
                loaded = json.loads(read_text(path) or "{}")
            except (OSError, ValueError):
                loaded = {}
            self.entries = loaded if isinstance(loaded, dict) else {}

    @staticmethod
    def _stat(path: str) -> list | None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]

    def sha256(self, path: str) -> str | None:
        before = self._stat(path)
        if before is None:
            return None
        entry = self.entries.get(path)
        if isinstance(entry, dict) and entry.get("stat") == before:
            return entry.get("sha256")
        digest = sha256_file(path)
        if digest is not None and self._stat(path) == before:
            self.record(path, digest, before)
        return digest

    def record(self, path: str, digest: str, stat: list | None = None) -> None:
        stat = stat or self._stat(path)
        if stat is not None:
            self.entries[path] = {"stat": stat, "sha256": digest}
            self.dirty = True

    def save(self) -> None:
        if not self.path or not self.dirty:
            return
        write_json(self.path, {path: entry for path, entry in self.entries.items()
                               if os.path.exists(path)})
        self.dirty = False


def parse_checksum(checksum: str) -> tuple[str, str]:
    """``sha256:<hex>`` -> ("hex", hex); ``sha256:<url>`` -> ("url", url)."""
    algorithm, _sep, value = str(checksum).partition(":")
    if algorithm.lower() != "sha256" or not value:
        raise RepositoryError(f"checksum {checksum!r} is not sha256:<hex> or "
                              "sha256:<url of a sha256sum file>")
    if _HEX.match(value.lower()):
        return "hex", value.lower()
    if "://" in value:
        return "url", value
    raise RepositoryError(f"checksum {checksum!r}: {value!r} is neither 64 hex digits nor a URL")


def digest_from_sums(text: str, url: str) -> str:
    """The digest for ``url``'s file in a sha256sum listing (``<hex>  <name>`` lines, or a
    lone digest), as get_url reads it."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    lines = [line.split() for line in text.splitlines() if line.strip()]
    for fields in lines:
        if len(fields) >= 2 and fields[1].lstrip("*").rsplit("/", 1)[-1] == name \
                and _HEX.match(fields[0].lower()):
            return fields[0].lower()
    if len(lines) == 1 and _HEX.match(lines[0][0].lower()):
        return lines[0][0].lower()
    raise RepositoryError(f"the checksum file lists no sha256 for {name!r}")


def read_checksum_urls(models: list[dict], fetch) -> None:
    """Give each version of ``desired``'s ``models`` that has no sha256 yet (a node downloads
    it and its checksum is ``sha256:<url>``) the digest that sha256sum file lists for it;
    ``fetch(url)`` returns a binary stream."""
    for version in (v for m in models for v in m["versions"] if not v["sha256"]):
        _kind, url = parse_checksum(version["checksum"])
        with fetch(url) as response:
            version["sha256"] = digest_from_sums(response.read().decode(), version["url"])


def _is_version(entry: str) -> bool:
    return entry.isdigit() and not entry.startswith("0")


def plan(root: str, models: list[dict], prune: bool = False, digest=sha256_file) -> dict:
    """Compare ``models`` (``[{name, config: pbtxt text, versions: [{version, sha256, ...}]}]``)
    with ``root``. Returns what differs: ``configs`` (name, before, after), ``files`` (the
    version entries to place, with ``name``), ``remove`` (paths relative to ``root`` that
    ``prune`` takes away), ``unmanaged`` (what is there but not wanted, kept without
    ``prune``), ``changed_models`` and ``removed_models``."""
    check_models(root, models)
    configs, files, remove, unmanaged = [], [], [], []
    changed, removed = set(), []
    wanted = {model["name"]: model for model in models}
    for name, model in wanted.items():
        model_dir = os.path.join(root, name)
        before = read_text(os.path.join(model_dir, CONFIG))
        if before != model["config"]:
            configs.append({"name": name, "before": before, "after": model["config"]})
            changed.add(name)
        versions = {str(v["version"]) for v in model.get("versions") or []}
        for version in model.get("versions") or []:
            path = os.path.join(model_dir, str(version["version"]), MODEL_FILE)
            if digest(path) != version["sha256"]:
                files.append(dict(version, name=name))
                changed.add(name)
        extra = sorted((entry for entry in _listdir(model_dir)
                        if _is_version(entry) and entry not in versions
                        and os.path.isdir(os.path.join(model_dir, entry))), key=int)
        for entry in extra:
            (remove if prune else unmanaged).append(f"{name}/{entry}")
            if prune:
                changed.add(name)
    for entry in sorted(_listdir(root)):
        if entry not in wanted and os.path.isdir(os.path.join(root, entry)) \
                and not entry.startswith("."):
            (remove if prune else unmanaged).append(entry)
            if prune:
                removed.append(entry)
    errors = [problem for entry in remove
              if (problem := _outside(root, os.path.join(root, entry),
                                      "the repository")) is not None]
    if errors:
        raise RepositoryError("prune would remove a path outside the repository: "
                              + "; ".join(errors))
    return {"configs": configs, "files": files, "remove": remove, "unmanaged": unmanaged,
            "changed_models": sorted(changed), "removed_models": removed}


def check_models(root: str, models: list[dict]) -> None:
    """Refuse, before anything is read or written, every model whose name is not a directory
    name, whose version is not a positive integer or whose sha256 is not 64 hex digits, and
    every path of its tree (directory, config.pbtxt, version directories, model files) that
    resolves outside ``root``, as a symlink in the repository would make it. All problems at
    once."""
    errors = []
    for index, model in enumerate(models):
        name = model.get("name") if isinstance(model, dict) else None
        problem = model_name_error(name)
        if problem is not None:
            errors.append(f"{_label(index, name)}: {problem}")
            continue
        model_dir = os.path.join(root, name)
        paths = [model_dir, os.path.join(model_dir, CONFIG)]
        for version in model.get("versions") or []:
            number = version.get("version")
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                errors.append(f"model {name!r}: version {number!r} is not a positive "
                              "integer")
                continue
            if not _is_sha256(version.get("sha256")):
                errors.append(f"model {name!r} version {number}: sha256 "
                              f"{version.get('sha256')!r} is not 64 lowercase hex digits")
            paths += [os.path.join(model_dir, str(number)),
                      os.path.join(model_dir, str(number), MODEL_FILE)]
        problem = next((p for p in (_outside(root, path, "the repository") for path in paths)
                        if p is not None), None)
        if problem is not None:
            errors.append(f"model {name!r}: {problem}")
    if errors:
        raise RepositoryError("; ".join(errors))


def staged_path(staging: str, sha256: str) -> str:
    """Where a file the controller provides waits on the host before it is placed."""
    return os.path.join(staging, sha256)


def to_stage(files: list[dict], sources: dict, staging: str | None) -> list[dict]:
    """The copies the role makes before ``apply``: each of ``plan``'s ``files`` that the
    controller provides (``staged``), once per sha256, ``{key, sha256, src, dest}`` from its
    source's controller file to ``staged_path``, where ``apply`` reads it."""
    if not staging:
        return []
    out, seen = [], set()
    for item in files:
        if item.get("staged") and item["sha256"] not in seen:
            seen.add(item["sha256"])
            out.append({"key": item["key"], "sha256": item["sha256"],
                        "src": (sources.get(item["key"]) or {}).get("src"),
                        "dest": staged_path(staging, item["sha256"])})
    return out


def _check_apply(root: str, models: list[dict], result: dict, staging: str | None) -> None:
    """``apply``'s own check, before its first write, of every path it would write, read
    from staging or remove: a result not made by ``plan``, or a symlink put in since, changes
    nothing."""
    check_models(root, models)
    errors = []
    for item in result["files"]:
        name, sha256 = item["name"], item.get("sha256")
        path = os.path.join(root, name, str(item["version"]), MODEL_FILE)
        problem = model_name_error(name) or _outside(root, path, "the repository")
        if not _is_sha256(sha256):
            problem = problem or (f"version {item['version']}: sha256 {sha256!r} is not 64 "
                                  "lowercase hex digits")
        elif staging and os.path.lexists(staged_path(staging, sha256)):
            problem = problem or _outside(staging, staged_path(staging, sha256),
                                          "the staging directory")
        errors.append(problem and f"model {name!r}: {problem}")
    for item in result["configs"]:
        name = item["name"]
        problem = model_name_error(name) or _outside(root, os.path.join(root, name, CONFIG),
                                                     "the repository")
        errors.append(problem and f"model {name!r}: {problem}")
    for entry in result["remove"]:
        path = os.path.join(root, entry)
        if os.path.normpath(path) == os.path.normpath(root):
            errors.append(f"{entry!r} would remove the repository itself")
        else:
            errors.append(_outside(root, path, "the repository"))
    errors = [error for error in errors if error]
    if errors:
        raise RepositoryError("; ".join(errors))


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []


def is_empty(result: dict) -> bool:
    return not (result["configs"] or result["files"] or result["remove"])


def diff(result: dict, root: str, digest=sha256_file) -> list[dict]:
    """Ansible's diff list: each config.pbtxt as text, each model file by its sha256, each
    pruned path."""
    out = []
    for item in result["configs"]:
        path = os.path.join(root, item["name"], CONFIG)
        out.append({"before_header": path, "after_header": path,
                    "before": item["before"] or "", "after": item["after"]})
    for item in result["files"]:
        path = os.path.join(root, item["name"], str(item["version"]), MODEL_FILE)
        current = digest(path)
        out.append({"before_header": path, "after_header": path,
                    "before": f"sha256:{current}\n" if current else "",
                    "after": f"sha256:{item['sha256']}\n"})
    for entry in result["remove"]:
        path = os.path.join(root, entry)
        out.append({"before_header": path, "after_header": path,
                    "before": f"{entry}/ (pruned: not in triton_models)\n", "after": ""})
    return out


class _Placer:
    """Writes the repository in two phases: every file to a verified temporary beside its
    destination, then, when all of them are good, the renames. A failure in the first phase
    removes the temporaries and the directories it made, so the repository is as it was."""

    def __init__(self, uid: int = -1, gid: int = -1):
        self.uid, self.gid = uid, gid
        self.made: list[str] = []  # directories this run created, outermost first
        self.pending: list[tuple[str, str]] = []  # (temporary, destination)

    def own(self, path: str, mode: int) -> None:
        os.chmod(path, mode)
        if self.uid != -1 or self.gid != -1:
            os.chown(path, self.uid, self.gid)

    def directory(self, path: str) -> None:
        missing = []
        while path and not os.path.isdir(path):
            missing.append(path)
            path = os.path.dirname(path)
        for directory in reversed(missing):
            os.mkdir(directory)
            self.made.append(directory)
            self.own(directory, 0o755)

    def stage(self, path: str, fill, expect_sha256: str | None = None) -> None:
        """``fill(handle)`` writes the content to a temporary file beside ``path`` and
        returns its sha256, which must be ``expect_sha256``."""
        directory = os.path.dirname(path)
        self.directory(directory)
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                   dir=directory)
        self.pending.append((tmp, path))
        with os.fdopen(fd, "wb") as handle:
            digest = fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if expect_sha256 is not None and digest != expect_sha256:
            raise RepositoryError(f"{path}: the file has sha256 {digest}, expected "
                                  f"{expect_sha256}; nothing was placed")
        self.own(tmp, 0o644)

    def commit(self) -> None:
        for tmp, path in self.pending:
            os.replace(tmp, path)
        self.pending = []

    def undo(self) -> None:
        for tmp, _path in self.pending:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for directory in reversed(self.made):
            with contextlib.suppress(OSError):
                os.rmdir(directory)


def _copy_hashing(source) -> callable:
    def fill(handle):
        digest = hashlib.sha256()
        for chunk in iter(lambda: source.read(CHUNK), b""):
            digest.update(chunk)
            handle.write(chunk)
        return digest.hexdigest()
    return fill


def apply(root: str, models: list[dict], result: dict, staging: str | None = None,
          fetch=None, uid: int = -1, gid: int = -1) -> None:
    """Make ``root`` match the ``plan`` result. A version's file comes from
    ``<staging>/<sha256>`` when it is there (the role copied it from the controller),
    else from its ``url`` through ``fetch(url) -> binary stream``. Nothing changes unless
    every file arrived with its sha256."""
    _check_apply(root, models, result, staging)
    placer = _Placer(uid, gid)
    try:
        placer.directory(root)
        for name in (model["name"] for model in models):
            placer.directory(os.path.join(root, name))
        for item in result["files"]:
            path = os.path.join(root, item["name"], str(item["version"]), MODEL_FILE)
            staged = staged_path(staging, item["sha256"]) if staging else None
            if staged and os.path.exists(staged):
                with open(staged, "rb") as source:
                    placer.stage(path, _copy_hashing(source), item["sha256"])
            elif item.get("url") and fetch is not None:
                with fetch(item["url"]) as source:
                    placer.stage(path, _copy_hashing(source), item["sha256"])
            else:
                raise RepositoryError(f"{item['name']} version {item['version']}: no staged "
                                      f"file {staged} and no url to download it from")
        # Files are renamed before the configs that point at them; pruning last.
        placer.commit()
        for item in result["configs"]:
            text = item["after"].encode("utf-8")
            placer.stage(os.path.join(root, item["name"], CONFIG),
                         lambda handle, text=text: (handle.write(text),
                                                    hashlib.sha256(text).hexdigest())[1])
        placer.commit()
    except BaseException:
        placer.undo()
        raise
    for entry in result["remove"]:
        shutil.rmtree(os.path.join(root, entry))


def source_key(version: dict) -> str:
    """A version's source as one string: its url, else its controller path."""
    return str(version.get("url") or version.get("path") or "")


def desired(models: list[dict], sources: dict) -> list[dict]:
    """The rendered configs (``[{name, pbtxt, versions}]``) joined with their sources: the
    ``models`` that ``plan`` and ``apply`` take."""
    out = []
    for index, model in enumerate(models):
        if not isinstance(model.get("name"), str) or not isinstance(model.get("pbtxt"), str):
            raise RepositoryError(f"each model needs a name and its pbtxt text, got {model!r}")
        problem = model_name_error(model["name"])
        if problem is not None:  # before any checksum file is downloaded for it
            raise RepositoryError(f"{_label(index, model['name'])}: {problem}")
        versions = []
        for version in model.get("versions") or []:
            key = source_key(version)
            source = sources.get(key)
            if source is None:
                raise RepositoryError(f"{model['name']} version {version.get('version')}: "
                                      f"no source {key!r} among those resolved")
            versions.append({"version": int(version["version"]), "key": key,
                             "sha256": source.get("sha256"), "url": source.get("url"),
                             "checksum": source.get("checksum"),
                             "staged": bool(source.get("src"))})
        out.append({"name": model["name"], "config": model["pbtxt"], "versions": versions})
    return out
