# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container images with provenance: a build context packed as a reproducible
tar, a hash over everything that makes the image, and a rebuild only when that
hash differs from the label on the image the host already has.

Plain Python; the Docker CLI is reached through a ``run(args, data=None)``
callable that returns ``(rc, stdout, stderr)`` (AnsibleModule.run_command fits).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile

from ansible_collections.inferops.triton.plugins.module_utils.common._files import (
    sha256_file,
    write_json,
)

PROVENANCE_LABEL = "org.inferops.triton.provenance"
LOG_TAIL_LINES = 40


class ImageError(RuntimeError):
    """A Docker step failed; the message carries what Docker said."""


def pack_context(src: str) -> bytes:
    """Return a tar of directory ``src`` that depends only on file names, modes
    (executable or not) and contents: sorted entries, zero times and owners."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, files in os.walk(src):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(root, name)
                arcname = os.path.relpath(path, src)
                info = tar.gettarinfo(path, arcname)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if info.isdir() or info.mode & 0o111:
                    info.mode = 0o755
                else:
                    info.mode = 0o644
                if info.isfile():
                    with open(path, "rb") as handle:
                        tar.addfile(info, handle)
                elif info.isdir():
                    tar.addfile(info)
                else:
                    raise ImageError(f"{path}: only files and directories may be in a "
                                     f"build context")
    return buf.getvalue()


def provenance_hash(context: bytes, build_args: dict, labels: dict) -> str:
    """The identity of an image: its context, build arguments and labels."""
    digest = hashlib.sha256()
    digest.update(hashlib.sha256(context).digest())
    digest.update(json.dumps({"build_args": build_args, "labels": labels},
                             sort_keys=True).encode())
    return "sha256:" + digest.hexdigest()


def inspect(run, ref: str) -> dict | None:
    """``docker image inspect`` of ``ref``, or None when the host has no such image."""
    rc, out, err = run(["image", "inspect", ref])
    if rc != 0:
        if "No such image" in err or "No such object" in err:
            return None
        raise ImageError(f"docker image inspect {ref} failed: {err.strip()}")
    return json.loads(out)[0]


def current_provenance(image: dict | None) -> str | None:
    if not image:
        return None
    labels = (image.get("Config") or {}).get("Labels") or {}
    return labels.get(PROVENANCE_LABEL)


def load(run, archive: str) -> None:
    rc, _out, err = run(["load", "-i", archive])
    if rc != 0:
        raise ImageError(f"docker load -i {archive} failed: {err.strip()}")


def build(run, ref: str, context: bytes, build_args: dict, labels: dict,
          provenance: str) -> str:
    """Build ``ref`` from the tar ``context`` (sent on stdin) and return the image id."""
    args = ["build", "--tag", ref, "--label", f"{PROVENANCE_LABEL}={provenance}"]
    for key, value in sorted(labels.items()):
        args += ["--label", f"{key}={value}"]
    for key, value in sorted(build_args.items()):
        args += ["--build-arg", f"{key}={value}"]
    rc, out, err = run(args + ["-"], data=context)
    if rc != 0:
        tail = "\n".join((out + err).strip().splitlines()[-LOG_TAIL_LINES:])
        raise ImageError(f"docker build of {ref} failed (exit {rc}); last lines:\n{tail}")
    image = inspect(run, ref)
    if current_provenance(image) != provenance:
        raise ImageError(f"docker build of {ref} succeeded but the image does not carry "
                         f"provenance {provenance}")
    return image["Id"]


def ensure_image(run, ref: str, context: bytes, build_args: dict, labels: dict,
                 check_mode: bool, base_image: str = "", base_archive: str = "",
                 force: bool = False) -> dict:
    """Make ``ref`` exist with the provenance of its inputs; build only when it differs."""
    provenance = provenance_hash(context, build_args, labels)
    image = inspect(run, ref)
    before = current_provenance(image)
    result = {"provenance": provenance, "previous_provenance": before,
              "image_id": image["Id"] if image else None, "base_loaded": False,
              "changed": force or before != provenance}
    if not result["changed"] or check_mode:
        return result
    if base_image and base_archive and inspect(run, base_image) is None:
        load(run, base_archive)
        if inspect(run, base_image) is None:
            raise ImageError(f"{base_archive} was loaded but holds no image {base_image}")
        result["base_loaded"] = True
    result["image_id"] = build(run, ref, context, build_args, labels, provenance)
    return result


def archive_images(path: str) -> list[dict]:
    """The images in a ``docker save`` archive (plain or compressed), from its manifest.json:
    ``[{"id": "sha256:...", "tags": [...]}]``. Both layouts: ``<hex>.json`` (Docker before 25)
    and OCI ``blobs/sha256/<hex>``."""
    try:
        with tarfile.open(path, "r:*") as tar:
            member = tar.extractfile("manifest.json")
            manifest = json.load(member) if member else None
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise ImageError(f"{path} is not a docker save archive ({exc})") from None
    if not isinstance(manifest, list) or not manifest:
        raise ImageError(f"{path} is not a docker save archive (no images in manifest.json)")
    images = []
    for entry in manifest:
        config = os.path.basename(str(entry.get("Config", "")))
        digest = config[:-5] if config.endswith(".json") else config
        images.append({"id": f"sha256:{digest}", "tags": list(entry.get("RepoTags") or [])})
    return images


def ensure_loaded(run, archive: str, ref: str, check_mode: bool, force: bool = False,
                  expected_id: str | None = None) -> dict:
    """Make ``ref`` the image in ``archive``; load only when the host's image id differs.
    With ``expected_id`` (the builder's image) a host that holds it reads no archive."""
    if expected_id and not force:
        image = inspect(run, ref)
        if image and image["Id"] == expected_id:
            return {"image_id": expected_id, "previous_image_id": expected_id,
                    "changed": False}
    images = archive_images(archive)
    if expected_id and expected_id not in [image["id"] for image in images]:
        raise ImageError(f"{archive} does not hold image {expected_id} (it holds "
                         f"{', '.join(image['id'] for image in images)})")
    wanted = [image for image in images if ref in image["tags"]]
    if not wanted and len(images) == 1:
        wanted = images
    if not wanted:
        tags = sorted(tag for image in images for tag in image["tags"])
        raise ImageError(f"{archive} holds no image tagged {ref} (it holds {', '.join(tags)}); "
                         "name one of those, or an archive with a single image")
    target = wanted[0]["id"]
    image = inspect(run, ref)
    before = image["Id"] if image else None
    result = {"image_id": target, "previous_image_id": before,
              "changed": force or before != target}
    if result["changed"] and not check_mode:
        load(run, archive)
        if ref not in wanted[0]["tags"]:
            rc, _out, err = run(["tag", target, ref])
            if rc != 0:
                raise ImageError(f"docker tag {target} {ref} failed: {err.strip()}")
        image = inspect(run, ref)
        if not image or image["Id"] != target:
            raise ImageError(f"{archive} was loaded but {ref} is not image {target}")
    return result


def summary(image: dict | None) -> dict | None:
    """What the roles need of ``docker image inspect``: id, tags, digests, labels, created."""
    if not image:
        return None
    return {"id": image["Id"], "repo_tags": list(image.get("RepoTags") or []),
            "repo_digests": list(image.get("RepoDigests") or []),
            "labels": dict((image.get("Config") or {}).get("Labels") or {}),
            "created": image.get("Created")}


def all_hold(results: list, ref: str, provenance: str | None) -> bool:
    """Whether every ``image_info`` result (one a host) holds ``ref`` labelled with
    ``provenance``: what lets a converged fleet skip building, pushing and copying. A result
    without ``images`` (a host that did not read them) does not hold it; nor does any host
    when there is no ``provenance`` to compare with."""
    if not provenance:
        return False
    for result in results:
        images = result.get("images") if isinstance(result, dict) else None
        image = (images or {}).get(ref)
        if not image or (image.get("labels") or {}).get(PROVENANCE_LABEL) != provenance:
            return False
    return True


def split_ref(ref: str) -> tuple[str, str, str]:
    """``[registry/]path[:tag][@digest]`` -> (registry, repository, tag-or-digest). The
    registry is the first component when it has a dot or a port or is ``localhost``
    (Docker's rule); otherwise Docker Hub."""
    name, _at, digest = ref.partition("@")
    tag = ""
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    first, _slash, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry = first
    else:
        registry = "docker.io"
    return registry, name, (f"@{digest}" if digest else tag or "latest")


def ref_tag(ref: str) -> str:
    """The tag ``ref`` names, ``latest`` when it names none (a digest is not a tag)."""
    return split_ref(ref.partition("@")[0])[2]


def flavour_of(source) -> str:
    """The server's flavour for a ``triton_image_source``: ``cpu`` for the CPU image (also
    when no source is set, the role's default), ``rocm`` for every other (built, pulled or
    loaded: AMD's ROCm image)."""
    return "cpu" if (source or "cpu") == "cpu" else "rocm"


ARCHIVE_NAME_RE = re.compile(r"[/:@]")


def archive_name(ref: str) -> str:
    """The file name of ``ref``'s gzipped ``docker save`` archive, one path component
    whatever registry, port, tag or digest ``ref`` names: the whole reference with each
    ``/``, ``:`` and ``@`` made ``_``, then ``.tar.gz``."""
    return ARCHIVE_NAME_RE.sub("_", ref) + ".tar.gz"


def repo_digest(image: dict | None, ref: str) -> str | None:
    """The ``repository@sha256:...`` the host's image has for the repository of ``ref``."""
    if not image:
        return None
    repository = split_ref(ref)[1]
    hub = repository if "/" in repository else f"library/{repository}"
    for entry in image.get("RepoDigests") or []:
        repo, _at, _digest = entry.partition("@")
        if repo in (repository, f"docker.io/{hub}"):
            return entry
    return None


def tag(run, source: str, ref: str) -> None:
    rc, _out, err = run(["tag", source, ref])
    if rc != 0:
        raise ImageError(f"docker tag {source} {ref} failed: {err.strip()}")


def ensure_pulled(run, name: str, pull_ref: str, policy: str, expected_id: str | None,
                  check_mode: bool, force: bool = False) -> dict:
    """Make ``name`` the registry image ``pull_ref``.

    With ``expected_id`` (fleet distribution) a host that already holds it under ``name``
    never contacts the registry, and a pull that brings another image fails. Otherwise the
    policy decides: ``missing`` pulls only when the host has no ``name``; ``always`` asks the
    registry each run and reports a change only when the image id moved."""
    image = inspect(run, name)
    before = image["Id"] if image else None
    if expected_id:
        needed = before != expected_id
    else:
        needed = image is None or policy == "always"
    result = {"image_id": before, "previous_image_id": before, "pull_ref": pull_ref,
              "digest": repo_digest(image, pull_ref), "changed": False}
    if not (needed or force):
        return result
    if check_mode:
        # Without pulling, only a missing or mismatched image is known to change.
        result["changed"] = force or image is None or bool(expected_id)
        return result
    rc, out, err = run(["pull", pull_ref])
    if rc != 0:
        raise ImageError(f"docker pull {pull_ref} failed: {(out + err).strip()}")
    pulled = inspect(run, pull_ref)
    if pulled is None:
        raise ImageError(f"docker pull {pull_ref} succeeded but the host has no such image")
    if expected_id and pulled["Id"] != expected_id:
        raise ImageError(f"{pull_ref} in the registry is image {pulled['Id']}, not the builder's "
                         f"{expected_id}: the registry tag moved since it was pushed")
    if pull_ref != name:
        tag(run, pull_ref, name)
    result.update(image_id=pulled["Id"], digest=repo_digest(pulled, pull_ref),
                  changed=force or pulled["Id"] != before)
    return result


def registry_config_digest(run, ref: str) -> str | None:
    """The image id (config digest) the registry holds under ``ref``, or None when it holds
    nothing there. ``docker manifest inspect`` reads the registry; it pulls no layers."""
    rc, out, err = run(["manifest", "inspect", ref])
    if rc != 0:
        text = (out + err).lower()
        if "no such manifest" in text or "manifest unknown" in text or "not found" in text:
            return None
        raise ImageError(f"docker manifest inspect {ref} failed: {(out + err).strip()}")
    manifest = json.loads(out)
    config = manifest.get("config") or {}
    return config.get("digest")


PUSH_DIGEST_RE = re.compile(r"digest: (sha256:[0-9a-f]{64})")


def ensure_pushed(run, name: str, push_ref: str, check_mode: bool, force: bool = False) -> dict:
    """Make the registry's ``push_ref`` the host's image ``name``; push only when the registry
    holds another image (or none) there."""
    image = inspect(run, name)
    if image is None:
        raise ImageError(f"{name} is not on the host, so there is nothing to push")
    remote = registry_config_digest(run, push_ref)
    result = {"image_id": image["Id"], "previous_remote_id": remote, "push_ref": push_ref,
              "digest": None, "changed": force or remote != image["Id"]}
    if not result["changed"] or check_mode:
        return result
    if push_ref != name:
        tag(run, name, push_ref)
    rc, out, err = run(["push", push_ref])
    if rc != 0:
        raise ImageError(f"docker push {push_ref} failed: {(out + err).strip()}")
    found = PUSH_DIGEST_RE.findall(out)
    result["digest"] = f"{split_ref(push_ref)[1]}@{found[-1]}" if found else None
    return result


def ensure_saved(run, name: str, archive: str, check_mode: bool, force: bool = False) -> dict:
    """Write ``docker save name``, gzipped, to ``archive`` (and ``<archive>.json`` with the
    image id, size and sha256), unless the archive already holds that image."""
    image = inspect(run, name)
    if image is None:
        raise ImageError(f"{name} is not on the host, so there is nothing to save")
    meta_path = archive + ".json"
    meta = None
    if os.path.exists(archive) and os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as handle:
            meta = json.load(handle)
        if meta.get("size") != os.path.getsize(archive):
            meta = None  # the archive was changed behind our back: do not trust the record
    result = {"image_id": image["Id"], "archive": archive,
              "previous_image_id": meta.get("image_id") if meta else None,
              "changed": force or not meta or meta.get("image_id") != image["Id"]}
    if not result["changed"]:
        result.update(sha256=meta["sha256"], size=meta["size"])
        return result
    if check_mode:
        result.update(sha256=None, size=None)
        return result
    directory = os.path.dirname(os.path.abspath(archive))
    os.makedirs(directory, exist_ok=True)
    plain = tempfile.NamedTemporaryFile(dir=directory, prefix=".save-", suffix=".tar",
                                        delete=False)
    plain.close()
    packed = archive + ".part"
    try:
        rc, out, err = run(["save", "-o", plain.name, name])
        if rc != 0:
            raise ImageError(f"docker save {name} failed: {(out + err).strip()}")
        with open(plain.name, "rb") as src, open(packed, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1,
                               mtime=0) as dst:
                for block in iter(lambda: src.read(1 << 20), b""):
                    dst.write(block)
        digest = sha256_file(packed)  # just written: never None
        os.replace(packed, archive)
    finally:
        for path in (plain.name, packed):
            if os.path.exists(path):
                os.unlink(path)
    meta = {"image_id": image["Id"], "name": name, "sha256": digest,
            "size": os.path.getsize(archive)}
    write_json(meta_path, meta, mode=0o644)
    result.update(sha256=digest, size=meta["size"])
    return result


@contextlib.contextmanager
def registry_session(run, registry: str, username: str | None, password: str | None):
    """``run`` logged in to ``registry`` through a private, temporary Docker client
    configuration, removed afterwards: the credentials are never left on the host."""
    if not username:
        yield run
        return
    config = tempfile.mkdtemp(prefix="inferops-docker-config-")
    try:
        def authed(args, data=None):
            return run(["--config", config, *args], data=data)

        rc, _out, err = authed(["login", registry, "--username", username,
                                "--password-stdin"], data=password or "")
        if rc != 0:
            raise ImageError(f"docker login {registry} as {username} failed: {err.strip()}")
        yield authed
    finally:
        shutil.rmtree(config, ignore_errors=True)
