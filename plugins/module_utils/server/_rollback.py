# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A per-host rollback point for the Triton server service, for rolling upgrades: the
service's files (units, env and conf files, the wait helper), the image the unit runs
(kept by an extra tag) and, optionally, a hard-link copy of the model repository.

Plain Python, testable without Ansible. Commands go through ``run(argv)``, a callable that
returns ``(rc, stdout, stderr)`` (AnsibleModule.run_command fits).
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import re
import shutil

from ansible_collections.inferops.triton.plugins.module_utils.common._files import (
    read_text,
    sha256_file,
    write_atomic,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._service import stale_files
from ansible_collections.inferops.triton.plugins.module_utils.server._wait_ready import WAIT_READY

DEFAULT_ROOT = "/var/lib/inferops-triton/rollback"
# Failed model repositories a restore leaves moved aside (keep_failed's default).
KEEP_FAILED = 3
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_IMAGE_LINE = re.compile(r"^# image: (\S+)(?: (\S+))?\s*$")


class RollbackError(RuntimeError):
    """What is wrong and what to do; the module fails with the message."""


def service_files(name: str, config_dir: str, unit_dir: str, wait_ready: str) -> list:
    """The service's files on the host: what ``_service.stale_files`` counts as stale when
    nothing is wanted, plus the wait helper."""
    found = [os.path.join(d, entry) for d in (config_dir, unit_dir) if os.path.isdir(d)
             for entry in os.listdir(d) if os.path.isfile(os.path.join(d, entry))]
    files = stale_files(found, {"name": name}, {})
    return sorted(files + [wait_ready]) if os.path.isfile(wait_ready) else files


def units_of(files: list, name: str) -> list:
    """``<name>.service``, and for the template one ``<name>@N.service`` per ``@N.conf``."""
    names = {os.path.basename(path) for path in files}
    units = [f"{name}.service"] if f"{name}.service" in names else []
    if f"{name}@.service" in names:
        instance = re.compile(rf"^{re.escape(name)}@([0-9]+)\.conf$")
        found = sorted(int(m.group(1)) for m in map(instance.match, names) if m)
        units += [f"{name}@{index}.service" for index in found]
    return units


def unit_image(files: list, name: str) -> tuple:
    """``(ref, id or None)`` from the unit's second line, ``# image: <ref> <id>``."""
    for path in files:
        if os.path.basename(path) in (f"{name}.service", f"{name}@.service"):
            lines = (read_text(path, errors="replace") or "").splitlines()
            match = _IMAGE_LINE.match(lines[1]) if len(lines) > 1 else None
            if not match:
                raise RollbackError(f"{path}: the second line is not '# image: <ref> <id>'; "
                                    "was the unit written by inferops.triton.triton_service?")
            return match.group(1), match.group(2)
    return None, None


def repository(ref: str) -> str:
    """``registry:5000/inferops/tritonserver:rocm`` -> ``registry:5000/inferops/tritonserver``."""
    name, sep, tag = ref.split("@", 1)[0].rpartition(":")
    return name if sep and "/" not in tag else ref.split("@", 1)[0]


def image_id(run, ref: str) -> str | None:
    rc, out, _err = run(["docker", "image", "inspect", "--format", "{{.Id}}", ref])
    return (out.strip() or None) if rc == 0 else None


def listing(root: str) -> list:
    """(relative path, inode) of every file under ``root`` (a directory's is None, a symlink's
    its target): a hard-link copy lists the same as its source until a file is replaced."""
    entries = []
    for top, dirs, files in os.walk(root):
        dirs.sort()
        for entry in dirs + files:
            path = os.path.join(top, entry)
            key = os.readlink(path) if os.path.islink(path) else (
                None if entry in dirs else os.lstat(path).st_ino)
            entries.append((os.path.relpath(path, root), key))
    return sorted(entries)


def link_tree(src: str, dest: str) -> None:
    """Copy ``src`` to ``dest`` with a hard link per file, directories made with their modes."""
    made = []
    for top, dirs, files in os.walk(src):
        target = os.path.join(dest, os.path.relpath(top, src))
        os.makedirs(target, exist_ok=True)
        made.append((top, target))
        for entry in dirs + files:
            path = os.path.join(top, entry)
            if os.path.islink(path):
                os.symlink(os.readlink(path), os.path.join(target, entry))
            elif entry in files:
                os.link(path, os.path.join(target, entry))
    for top, target in made:
        shutil.copymode(top, target)


def saved_copy(point: str, original: str) -> str:
    return os.path.join(point, "files", original.lstrip("/"))


def load_manifest(point: str) -> dict | None:
    text = read_text(os.path.join(point, "manifest.json"), errors="replace")
    return json.loads(text) if text is not None else None


def _mode(path: str) -> str:
    return "%04o" % (os.stat(path).st_mode & 0o7777)


def _inside(child: str, parent: str) -> bool:
    child, parent = os.path.realpath(child), os.path.realpath(parent)
    return os.path.commonpath([child, parent]) == parent


def _write(source: str, dest: str, mode: str) -> None:
    """Copy ``source`` (a unit, env or conf file: small) to ``dest`` with ``mode``, atomically
    (common/_files.write_atomic)."""
    with open(source, "rb") as src:
        write_atomic(dest, src.read(), int(mode, 8))


def _command(run, *argv) -> str:
    rc, out, err = run(list(argv))
    if rc != 0:
        raise RollbackError(f"{' '.join(argv)} failed (rc={rc}): {err.strip()}")
    return out


def save(params: dict, run, check: bool, files: list, now) -> dict:
    name, point, repo = params["name"], params["path"], params["model_repository"]
    ref, image = unit_image(files, name)
    if ref and not image:
        image = image_id(run, ref)
        if not image:
            raise RollbackError(f"the unit runs {ref}, but docker image inspect does not find "
                                "it on this host: there is no image to roll back to")
    manifest = {"name": name, "image_ref": ref, "image_id": image,
                "units": units_of(files, name),
                "files": {p: {"sha256": sha256_file(p), "mode": _mode(p)} for p in files},
                "model_repository": repo}
    old = load_manifest(point) or {}
    snapshot = os.path.join(point, "models")
    same = all(old.get(key) == value for key, value in manifest.items()) and (
        not repo or os.path.isdir(snapshot) and listing(repo) == listing(snapshot))
    tag = f"{repository(ref)}:{params['image_tag']}" if ref else None
    retag = bool(ref) and image_id(run, tag) != image
    result = {"changed": not same or retag, "path": point, "image_ref": ref,
              "image_id": image, "units": manifest["units"], "files": files,
              "model_repository": repo, "tag": tag, "empty": not ref}
    if not ref:
        result["msg"] = (f"no unit file of {name} on this host (never deployed): the rollback "
                         "point is empty; restoring it stops and removes the service")
    if check:
        return result
    if retag:
        _command(run, "docker", "tag", image, tag)
    if not same:
        new, old_point = f"{point}.new", f"{point}.old"
        for leftover in (new, old_point):
            shutil.rmtree(leftover, ignore_errors=True)
        os.makedirs(new, mode=0o700)
        for path, meta in manifest["files"].items():
            _write(path, saved_copy(new, path), meta["mode"])
        if repo:
            link_tree(repo, os.path.join(new, "models"))
            os.makedirs(os.path.join(new, "models"), exist_ok=True)  # none on the host yet
        manifest["saved_at"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        with open(os.path.join(new, "manifest.json"), "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True)
        if os.path.exists(point):
            os.rename(point, old_point)
        os.rename(new, point)
        shutil.rmtree(old_point, ignore_errors=True)
    return result


def _file_diff(path: str, saved: str | None = None, meta: dict | None = None) -> dict:
    """Before (the host's file) and after (the point's copy, or nothing): text, but not
    the content of a file others cannot read (an env file may hold credentials)."""
    def shown(text, mode):
        if text is None:
            return ""
        return f"(content hidden: {path} is mode {mode})\n" if int(mode, 8) & 0o004 == 0 \
            else text
    before = read_text(path, errors="replace")
    return {"before_header": path, "after_header": path,
            "before": shown(before, before is not None and _mode(path)),
            "after": shown(saved and read_text(saved, errors="replace"), meta and meta["mode"])}


def failed_repositories(repo: str) -> list:
    """The failed repositories earlier restores moved aside (``<repo>.failed-<UTC time>``,
    directories, not links)."""
    parent, base = os.path.split(repo.rstrip("/"))
    pattern = re.compile(re.escape(base) + r"\.failed-\d{8}T\d{6}Z")
    try:
        names = os.listdir(parent or ".")
    except FileNotFoundError:
        return []
    paths = [os.path.join(parent, n) for n in names if pattern.fullmatch(n)]
    return [p for p in paths if os.path.isdir(p) and not os.path.islink(p)]


def served_at(point: str, manifest: dict) -> list:
    """Each unit of the point with the URL its wait helper asks for readiness - where the
    restored version answers, whatever ports the failed one had: a single server's from the
    unit's ``ExecStartPost``, an instance's from ``TRITON_URL`` in its ``.conf``. The URL is
    None when the saved files do not say (they were not written by triton_service)."""
    saved = {os.path.basename(path): saved_copy(point, path) for path in manifest["files"]}
    out = []
    for unit in manifest["units"]:
        stem = unit[:-len(".service")]
        if "@" in stem:
            text = read_text(saved.get(f"{stem}.conf", ""), errors="replace")
            pattern = r"^TRITON_URL=(\S+)$"
        else:
            text = read_text(saved.get(unit, ""), errors="replace")
            pattern = r"^ExecStartPost=\S+ (\S+) \$MAINPID$"
        match = re.search(pattern, text or "", re.M)
        out.append({"unit": unit, "url": match.group(1) if match else None})
    return out


def restore(params: dict, run, check: bool, diff: bool, files: list, now) -> dict:
    name, point = params["name"], params["path"]
    manifest = load_manifest(point)
    if manifest is None:
        raise RollbackError(f"state=restored, but there is no rollback point at {point} "
                            "(manifest.json missing); save one with state=present first")
    repo = manifest["model_repository"]
    if manifest["name"] != name:
        raise RollbackError(f"name: {name!r}, but the rollback point at {point} is of "
                            f"{manifest['name']!r}")
    if params["model_repository"] and params["model_repository"] != repo:
        raise RollbackError(f"model_repository: {params['model_repository']!r}, but the "
                            f"rollback point at {point} saved {repo!r}")
    write = [path for path, meta in sorted(manifest["files"].items())
             if not os.path.isfile(path) or sha256_file(path) != meta["sha256"]
             or _mode(path) != meta["mode"]]
    for path in write:
        if sha256_file(saved_copy(point, path)) != manifest["files"][path]["sha256"]:
            raise RollbackError(f"the rollback point at {point} is damaged: its copy of {path} "
                                "does not match manifest.json; save a new one")
    remove = [path for path in files if path not in manifest["files"]]
    stop = [unit for unit in units_of(files, name) if unit not in manifest["units"]]
    ref, image = manifest["image_ref"], manifest["image_id"]
    retag = bool(ref) and image_id(run, ref) != image
    snapshot = os.path.join(point, "models")
    swap = bool(repo) and os.path.isdir(snapshot) and listing(repo) != listing(snapshot)
    failed = f"{repo}.failed-{now.strftime('%Y%m%dT%H%M%SZ')}" \
        if swap and os.path.lexists(repo) else None
    # The newest keep_failed of them stay (this restore's among them), for a look at what
    # failed; older ones go, or each failed rollout would leave a repository behind.
    aside = sorted({*failed_repositories(repo), failed} - {None}, reverse=True) if repo else []
    prune = aside[params["keep_failed"]:]
    changed = bool(write or remove or stop or retag or swap)
    restart = list(manifest["units"]) if changed else [
        unit for unit in manifest["units"]
        if run(["systemctl", "is-active", unit])[1].strip() != "active"]
    result = {"changed": changed or bool(restart or prune), "path": point, "image_ref": ref,
              "image_id": image, "restored_files": write, "removed_files": remove,
              "stopped": stop, "retagged": retag, "restarted": restart,
              "failed_repository": failed, "pruned_repositories": prune,
              "instances": served_at(point, manifest),
              # what the restored repository serves, when the restore puts one back
              "models": sorted(entry for entry in os.listdir(snapshot)
                               if os.path.isdir(os.path.join(snapshot, entry))) if swap else None}
    if diff:
        result["diff"] = [_file_diff(path, saved_copy(point, path), manifest["files"][path])
                          for path in write] + [_file_diff(path) for path in remove]
    if check:
        return result
    for unit in stop:  # units of a layout the point does not have; they hold the ports
        run(["systemctl", "disable", "--now", unit])
    for path in write:
        _write(saved_copy(point, path), path, manifest["files"][path]["mode"])
    for path in remove:
        os.unlink(path)
    if retag:
        _command(run, "docker", "tag", image, ref)
    if swap:
        if failed:
            os.rename(repo, failed)
        os.rename(snapshot, repo)
    for path in prune:
        shutil.rmtree(path)
    if changed:
        _command(run, "systemctl", "daemon-reload")
        if manifest["units"]:
            _command(run, "systemctl", "enable", *manifest["units"])
    for unit in restart:
        # ExecStartPost (the wait helper) holds the start until the server is ready
        rc, _out, err = run(["systemctl", "restart", unit])
        if rc != 0:
            journal = run(["journalctl", "-u", unit, "--no-pager", "-n", "20"])[1]
            tail = "\n".join(journal.splitlines()[-20:])
            raise RollbackError(f"systemctl restart {unit} failed (rc={rc}): {err.strip()}\n"
                                f"journalctl -u {unit}:\n{tail}")
    return result


def remove_point(params: dict, run, check: bool) -> dict:
    point = params["path"]
    ref = (load_manifest(point) or {}).get("image_ref")
    tag = f"{repository(ref)}:{params['image_tag']}" if ref else None
    untag = bool(tag) and image_id(run, tag) is not None
    present = [p for p in (point, f"{point}.new", f"{point}.old") if os.path.lexists(p)]
    if not check:
        if untag:
            _command(run, "docker", "rmi", tag)
        for path in present:
            shutil.rmtree(path)
    return {"changed": bool(present) or untag, "path": point,
            "removed_tag": tag if untag else None}


def rollback(params: dict, run, check_mode: bool = False, diff: bool = False,
             wait_ready: str = WAIT_READY, now=None) -> dict:
    """Do what ``params['state']`` asks; raises RollbackError naming the option."""
    name, repo = params["name"], params.get("model_repository")
    if not _NAME.match(name):
        raise RollbackError(f"name: {name!r} is not a service name (letters, digits, '_', "
                            "'.', '-'; no '@')")
    point = params.get("path") or os.path.join(DEFAULT_ROOT, name)
    params = dict(params, path=point, model_repository=repo,
                  keep_failed=params.get("keep_failed", KEEP_FAILED))
    if repo and _inside(point, repo):
        raise RollbackError(f"path: {point!r} is inside model_repository {repo!r}; keep the "
                            "rollback point outside the repository")
    if repo and _inside(repo, point):
        raise RollbackError(f"model_repository: {repo!r} is inside path {point!r}")
    if params["keep_failed"] < 0:
        raise RollbackError(f"keep_failed: {params['keep_failed']} is negative; give how many "
                            "failed repositories to keep (0 or more)")
    # A host with no repository yet saves an empty one: going back to it leaves none served.
    if repo and params["state"] == "present" and os.path.lexists(repo) \
            and not os.path.isdir(repo):
        raise RollbackError(f"model_repository: {repo!r} is not a directory")
    now = now or datetime.datetime.now(datetime.UTC)
    if params["state"] == "absent":
        return remove_point(params, run, check_mode)
    files = service_files(name, params["config_dir"], params["unit_dir"], wait_ready)
    try:
        if params["state"] == "present":
            return save(params, run, check_mode, files, now)
        return restore(params, run, check_mode, diff, files, now)
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            raise RollbackError(f"path: {point!r} and model_repository {repo!r} are on "
                                "different filesystems; a hard-link snapshot needs one") from exc
        raise
