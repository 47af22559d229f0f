"""Image provenance: the context tar, the hash, and rebuild decisions against the real
Docker engine of the lab (make lab); the build is a real `docker build` of a tiny image."""

import hashlib
import os
import shutil
import subprocess
import uuid

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.image._image import (
    PROVENANCE_LABEL,
    ensure_image,
    pack_context,
    provenance_hash,
)

BASE = "inferops-lab/debian:12"


def write_context(path, greeting="hello"):
    (path / "sub").mkdir(parents=True, exist_ok=True)
    (path / "Dockerfile").write_text(f"FROM {BASE}\nCOPY sub/ /opt/sub/\n")
    (path / "sub" / "greeting").write_text(greeting + "\n")
    script = path / "sub" / "run.sh"
    script.write_text("#!/bin/sh\ncat /opt/sub/greeting\n")
    script.chmod(0o755)


def test_pack_context_depends_only_on_names_contents_and_exec_bits(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_context(a)
    write_context(b)
    os.utime(b / "Dockerfile", (0, 0))
    (b / "sub" / "greeting").chmod(0o600)
    assert pack_context(str(a)) == pack_context(str(b))
    (b / "sub" / "greeting").write_text("other\n")
    assert pack_context(str(a)) != pack_context(str(b))


def test_provenance_changes_with_any_input():
    ctx = b"tar bytes"
    base = provenance_hash(ctx, {"A": "1"}, {"l": "x"})
    assert base.startswith("sha256:")
    assert base == provenance_hash(ctx, {"A": "1"}, {"l": "x"})
    assert base != provenance_hash(ctx, {"A": "2"}, {"l": "x"})
    assert base != provenance_hash(ctx, {"A": "1"}, {"l": "y"})
    assert base != provenance_hash(b"other", {"A": "1"}, {"l": "x"})


def docker_run(args, data=None):
    proc = subprocess.run(["docker", *args], input=data, capture_output=True, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def have_lab():
    if not shutil.which("docker"):
        return False
    return docker_run(["image", "inspect", BASE])[0] == 0


@pytest.mark.skipif(not have_lab(), reason="needs the lab's Docker engine and base image: make lab")
def test_builds_once_rebuilds_on_a_changed_input_and_check_mode_builds_nothing(tmp_path):
    ref = f"inferops-test/provenance:{uuid.uuid4().hex[:8]}"
    write_context(tmp_path)
    ctx = pack_context(str(tmp_path))
    try:
        first = ensure_image(docker_run, ref, ctx, {}, {"t": "1"}, check_mode=False)
        assert first["changed"] and first["previous_provenance"] is None
        rc, out, _err = docker_run(["run", "--rm", "--entrypoint", "/opt/sub/run.sh", ref])
        assert rc == 0 and out == "hello\n"

        again = ensure_image(docker_run, ref, ctx, {}, {"t": "1"}, check_mode=False)
        assert not again["changed"] and again["image_id"] == first["image_id"]

        planned = ensure_image(docker_run, ref, ctx, {"X": "1"}, {"t": "1"}, check_mode=True)
        assert planned["changed"]
        label_format = "{{ index .Config.Labels \"" + PROVENANCE_LABEL + "\" }}"
        rc, out, _err = docker_run(["image", "inspect", "--format", label_format, ref])
        assert out.strip() == first["provenance"]  # check mode built nothing

        rebuilt = ensure_image(docker_run, ref, ctx, {"X": "1"}, {"t": "1"}, check_mode=False)
        assert rebuilt["changed"] and rebuilt["previous_provenance"] == first["provenance"]
        assert rebuilt["image_id"] != first["image_id"]
    finally:
        docker_run(["image", "rm", "-f", ref])


def test_context_digest_is_reproducible(tmp_path):
    write_context(tmp_path)
    digests = {hashlib.sha256(pack_context(str(tmp_path))).hexdigest() for _round in range(3)}
    assert len(digests) == 1
