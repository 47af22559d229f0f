"""The build_context module: packs a directory into the context tar on the host and replaces
the archive only when its bytes change, atomically, through AnsibleModule.atomic_move."""

import hashlib
import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.inferops.triton.plugins.module_utils.image._image import pack_context
from ansible_collections.inferops.triton.plugins.modules import build_context


def run(capsys, **params):
    with patch_module_args(params), pytest.raises(SystemExit):
        build_context.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def context(tmp_path):
    src = tmp_path / "context"
    (src / "backends").mkdir(parents=True)
    (src / "Dockerfile").write_text("FROM debian:12\nCOPY backends /opt/backends\n")
    (src / "backends" / "model.py").write_text("print('serving')\n")
    return src


def test_the_archive_is_written_once_then_left_alone(capsys, context, tmp_path):
    dest = tmp_path / "cache" / "contexts" / "triton-cpu.tar"
    first = run(capsys, src=str(context), dest=str(dest))
    data = pack_context(str(context))
    assert first["changed"] is True and dest.read_bytes() == data
    assert first["sha256"] == hashlib.sha256(data).hexdigest() and first["size"] == len(data)
    umask = os.umask(0)
    os.umask(umask)
    assert dest.stat().st_mode & 0o777 == 0o666 & ~umask  # a new file, as atomic_move makes it
    assert sorted(os.listdir(dest.parent)) == ["triton-cpu.tar"]  # no temporary left
    again = run(capsys, src=str(context), dest=str(dest))
    assert again == dict(first, changed=False)


def test_a_changed_file_replaces_the_archive_keeping_its_mode(capsys, context, tmp_path):
    dest = tmp_path / "triton-cpu.tar"
    run(capsys, src=str(context), dest=str(dest))
    dest.chmod(0o600)
    (context / "backends" / "model.py").write_text("print('serving v2')\n")
    result = run(capsys, src=str(context), dest=str(dest), _ansible_diff=True)
    assert result["changed"] is True and dest.read_bytes() == pack_context(str(context))
    assert result["diff"]["after"] == {"sha256": result["sha256"]}
    assert result["diff"]["before"]["sha256"] != result["sha256"]
    assert dest.stat().st_mode & 0o777 == 0o600


def test_check_mode_reports_and_writes_nothing(capsys, context, tmp_path):
    dest = tmp_path / "triton-cpu.tar"
    result = run(capsys, src=str(context), dest=str(dest), _ansible_check_mode=True)
    assert result["changed"] is True and not dest.exists()
    assert os.listdir(tmp_path) == ["context"]
