"""common/_files.py: the one read, hash and atomic write that module_utils and modules use."""

import hashlib
import json
import os
import stat

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.common._files import (
    read_text,
    sha256_file,
    write_atomic,
    write_json,
)


def test_read_text_is_none_for_a_missing_file_and_replaces_bad_bytes_on_request(tmp_path):
    assert read_text(str(tmp_path / "absent")) is None
    path = tmp_path / "journal"
    path.write_bytes(b"ok \xff\n")
    with pytest.raises(UnicodeDecodeError):
        read_text(str(path))
    assert read_text(str(path), errors="replace") == "ok \ufffd\n"


def test_sha256_file_reads_in_chunks_and_is_none_when_absent(tmp_path):
    data = os.urandom((1 << 20) * 2 + 17)
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    assert sha256_file(str(path)) == hashlib.sha256(data).hexdigest()
    assert sha256_file(str(tmp_path / "absent")) is None


def test_write_atomic_makes_the_directory_sets_the_mode_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a" / "b" / "unit.service"
    write_atomic(str(path), "[Unit]\n", 0o644)
    assert path.read_text() == "[Unit]\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    write_atomic(str(path), b"\x00\x01", 0o600)
    assert path.read_bytes() == b"\x00\x01"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == ["unit.service"]


def test_write_atomic_keeps_the_old_file_when_the_move_fails(tmp_path):
    path = tmp_path / "conf"
    path.write_text("old")

    def refuse(src, dest):
        raise OSError("read-only")

    with pytest.raises(OSError):
        write_atomic(str(path), "new", move=refuse)
    assert path.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["conf"]


def test_write_json_sorts_keys_and_is_private(tmp_path):
    path = tmp_path / "cache" / "sha256.json"
    write_json(str(path), {"b": 1, "a": 2})
    assert path.read_text() == json.dumps({"a": 2, "b": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
