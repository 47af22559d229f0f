# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container images with provenance: a build context packed as a reproducible
tar, a hash over everything that makes the image, and a rebuild only when that
hash differs from the label on the image the host already has.

Plain Python; the Docker CLI is reached through a ``run(args, data=None)``
callable that returns ``(rc, stdout, stderr)`` (AnsibleModule.run_command fits).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile

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


def ensure_loaded(run, archive: str, ref: str, check_mode: bool, force: bool = False) -> dict:
    """Make ``ref`` the image in ``archive``; load only when the host's image id differs."""
    images = archive_images(archive)
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
