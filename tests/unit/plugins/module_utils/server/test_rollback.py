"""Rollback points over real files: the service as triton_service renders it (its
directories moved under tmp_path), real hard links for the model repository. Only docker,
systemctl and journalctl are stood in for, by a runner that records each argv and answers
from a table."""

import datetime
import json
import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.server import _rollback as rb
from ansible_collections.inferops.triton.plugins.module_utils.server import _unit

IMAGE = "inferops/tritonserver:rocm"
OLD_ID = "sha256:" + "aa" * 32
NEW_ID = "sha256:" + "bb" * 32
INSPECT = "docker image inspect --format {{.Id}} "
NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)
ROCM = {"gpus": [{"index": i, "render_node": f"/dev/dri/renderD{128 + i}",
                  "uuid": f"GPU-{i:016x}"} for i in range(4)],
        "kfd_device": "/dev/kfd", "render_gid": 992, "video_gid": 44}


class Runner:
    """Records argv; answers ``(rc, stdout, stderr)`` by the joined argv, else success."""

    def __init__(self, answers):
        self.calls, self.answers = [], answers

    def __call__(self, argv):
        self.calls.append(" ".join(argv))
        return self.answers.get(" ".join(argv), (0, "", ""))


def runner(ref_id=None, tag_id=None, active="active", **more):
    """Docker holds ``IMAGE`` as ``ref_id`` and the rollback tag as ``tag_id`` (None: no
    such image); units are ``active``."""
    table = {INSPECT + IMAGE: (0, ref_id + "\n", "") if ref_id else (1, "", "No such image"),
             INSPECT + "inferops/tritonserver:rollback":
                 (0, tag_id + "\n", "") if tag_id else (1, "", "No such image")}
    for unit in ("triton-server.service", "triton-server@0.service", "triton-server@1.service"):
        table[f"systemctl is-active {unit}"] = (0 if active == "active" else 3, active + "\n", "")
    table.update(more)
    return Runner(table)


@pytest.fixture()
def host(tmp_path, monkeypatch):
    monkeypatch.setattr(_unit, "UNIT_DIR", str(tmp_path / "units"))
    monkeypatch.setattr(_unit, "CONFIG_DIR", str(tmp_path / "conf"))
    monkeypatch.setattr(_unit, "WAIT_READY", str(tmp_path / "lib" / "wait-ready"))
    models = tmp_path / "models"
    (models / "resnet50" / "1").mkdir(parents=True)
    (models / "resnet50" / "config.pbtxt").write_text('name: "resnet50"\n')
    (models / "resnet50" / "1" / "model.onnx").write_bytes(b"onnx v1")
    (models / "resnet50" / "1").chmod(0o750)
    return SimpleNamespace(root=tmp_path, point=tmp_path / "rollback" / "triton-server",
                           models=models, units=tmp_path / "units", conf=tmp_path / "conf")


def deploy(host, **change):
    """Lay the service out as triton_service would: its files written, others removed."""
    settings = dict(
        name="triton-server", container_name="triton-server", image=IMAGE, image_id=OLD_ID,
        model_repository=str(host.models), http_port=8000, grpc_port=8001, metrics_port=8002,
        port_step=10, bind_address="0.0.0.0", shm_size="1g", ipc_host=False,
        seccomp_unconfined=False, sys_ptrace=False, gpu_mode="all", gpu_indices=[],
        migraphx_cache_dir="/var/cache/inferops-triton/migraphx", models=[], env={},
        model_control_mode="none", load_models=["*"], strict_readiness=True,
        exit_on_error=True, log_verbose=0, extra_args=[], restricted_apis=[],
        restricted_key="Triton-Admin-Key", restricted_value=None, start_timeout=600,
        stop_timeout=60, restart_max_delay=120, systemd_version=252)
    settings.update(change)
    rendered = _unit.render(settings, ROCM)
    for path in on_host(host):
        if path not in rendered["files"]:
            os.unlink(path)
    for path, (content, mode) in rendered["files"].items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)
        Path(path).chmod(int(mode, 8))
    return rendered


def on_host(host):
    return rb.service_files("triton-server", str(host.conf), str(host.units),
                            _unit.WAIT_READY)


def go(host, run, check=False, diff=False, **options):
    params = dict(name="triton-server", path=str(host.point), model_repository=None,
                  state="present", image_tag="rollback", config_dir=str(host.conf),
                  unit_dir=str(host.units))
    params.update(options)
    return rb.rollback(params, run, check_mode=check, diff=diff, wait_ready=_unit.WAIT_READY,
                       now=NOW)


def manifest(host):
    return json.loads((host.point / "manifest.json").read_text())


def replace_by_rename(path, content):
    """As the model_repository module replaces a file: a new inode renamed over it."""
    tmp = Path(f"{path}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


# --- save ----------------------------------------------------------------------------------


def test_save_records_the_files_the_image_and_tags_it(host):
    rendered = deploy(host, env={"HF_TOKEN": "s3cr3t"})
    run = runner(ref_id=OLD_ID)
    result = go(host, run)
    assert result["changed"] and not result["empty"]
    assert run.calls == [INSPECT + "inferops/tritonserver:rollback",
                         f"docker tag {OLD_ID} inferops/tritonserver:rollback"]
    saved = manifest(host)
    assert saved["saved_at"] == "2026-03-01T12:00:00Z"
    assert (saved["image_ref"], saved["image_id"]) == (IMAGE, OLD_ID)
    assert saved["units"] == ["triton-server.service"] and saved["model_repository"] is None
    assert sorted(saved["files"]) == sorted(rendered["files"])
    env = str(host.conf / "triton-server.env")
    assert saved["files"][env]["mode"] == "0600"
    copy = Path(rb.saved_copy(str(host.point), env))
    assert "HF_TOKEN=s3cr3t" in copy.read_text() and stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(host.point.stat().st_mode) == 0o700


def test_a_host_without_a_repository_goes_back_to_none(host):
    """A first run on a fresh host saves an empty repository: when that run fails, the
    restore leaves no model served, as before the run (site.yml's rollback)."""
    deploy(host)
    missing = host.root / "fresh-models"
    go(host, runner(ref_id=OLD_ID), model_repository=str(missing))
    assert (host.point / "models").is_dir() and not any((host.point / "models").iterdir())
    assert go(host, runner(ref_id=OLD_ID, tag_id=OLD_ID),
              model_repository=str(missing))["changed"] is False
    (missing / "broken" / "1").mkdir(parents=True)  # what the failed run put there
    result = go(host, runner(ref_id=OLD_ID, tag_id=OLD_ID), state="restored")
    assert result["models"] == [] and result["failed_repository"]
    assert missing.is_dir() and not any(missing.iterdir())


def test_saving_again_changes_nothing(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID))
    run = runner(ref_id=OLD_ID, tag_id=OLD_ID)
    assert go(host, run)["changed"] is False
    assert run.calls == [INSPECT + "inferops/tritonserver:rollback"]
    assert manifest(host)["saved_at"] == "2026-03-01T12:00:00Z"


def test_a_lost_rollback_tag_is_made_again_without_rewriting_the_point(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID))
    inode = (host.point / "manifest.json").stat().st_ino
    run = runner(ref_id=OLD_ID, tag_id=None)
    assert go(host, run)["changed"]
    assert run.calls[-1] == f"docker tag {OLD_ID} inferops/tritonserver:rollback"
    assert (host.point / "manifest.json").stat().st_ino == inode


def test_saving_after_a_change_replaces_the_whole_point(host):
    deploy(host, gpu_mode="per_gpu", gpu_indices=[0, 1])
    go(host, runner(ref_id=OLD_ID))
    deploy(host, image_id=NEW_ID)
    result = go(host, runner(ref_id=NEW_ID, tag_id=OLD_ID))
    assert result["changed"] and result["units"] == ["triton-server.service"]
    assert manifest(host)["image_id"] == NEW_ID
    # nothing of the per-GPU layout is left in the point, nor the work directories
    assert not list(host.point.rglob("triton-server@*"))
    assert sorted(p.name for p in host.point.parent.iterdir()) == ["triton-server"]


def test_an_image_id_missing_from_the_unit_is_asked_of_docker(host):
    deploy(host, image_id=None)
    run = runner(ref_id=OLD_ID)
    result = go(host, run)
    assert result["image_id"] == OLD_ID
    assert run.calls == [INSPECT + IMAGE, INSPECT + "inferops/tritonserver:rollback",
                         f"docker tag {OLD_ID} inferops/tritonserver:rollback"]


def test_an_image_the_host_does_not_hold_cannot_be_saved(host):
    deploy(host, image_id=None)
    with pytest.raises(rb.RollbackError, match="the unit runs inferops/tritonserver:rocm, but "
                                               "docker image inspect does not find it"):
        go(host, runner(ref_id=None))
    assert not host.point.exists()


def test_template_units_are_the_instances_with_a_conf_file(host):
    deploy(host, gpu_mode="per_gpu", gpu_indices=[1, 3])
    result = go(host, runner(ref_id=OLD_ID))
    assert result["units"] == ["triton-server@1.service", "triton-server@3.service"]
    assert manifest(host)["units"] == result["units"]


@pytest.mark.parametrize("ref, repository", [
    ("inferops/tritonserver:rocm", "inferops/tritonserver"),
    ("registry:5000/inferops/tritonserver:rocm7.2", "registry:5000/inferops/tritonserver"),
    ("registry:5000/tritonserver", "registry:5000/tritonserver"),
    ("tritonserver@sha256:" + "cc" * 32, "tritonserver"),
])
def test_the_rollback_tag_goes_on_the_refs_repository(ref, repository):
    assert rb.repository(ref) == repository


def test_a_host_without_the_service_saves_an_empty_point(host):
    run = runner()
    result = go(host, run)
    assert result["changed"] and result["empty"] and result["image_ref"] is None
    assert "never deployed" in result["msg"]
    assert run.calls == []
    saved = manifest(host)
    assert (saved["image_ref"], saved["units"], saved["files"]) == (None, [], {})


def test_check_mode_save_reports_and_writes_nothing(host):
    deploy(host)
    run = runner(ref_id=OLD_ID)
    result = go(host, run, check=True)
    assert result["changed"] and result["tag"] == "inferops/tritonserver:rollback"
    assert run.calls == [INSPECT + "inferops/tritonserver:rollback"]
    assert not host.point.parent.exists()


# --- the model repository ------------------------------------------------------------------


def test_the_repository_copy_is_hard_links_that_survive_a_replacement(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID), model_repository=str(host.models))
    onnx, copy = host.models / "resnet50/1/model.onnx", host.point / "models/resnet50/1/model.onnx"
    assert onnx.stat().st_ino == copy.stat().st_ino
    assert stat.S_IMODE((host.point / "models/resnet50/1").stat().st_mode) == 0o750
    replace_by_rename(onnx, b"onnx v2")
    assert copy.read_bytes() == b"onnx v1" and onnx.read_bytes() == b"onnx v2"
    # the replaced file makes the point stale; the untouched one is still shared
    run = runner(ref_id=OLD_ID, tag_id=OLD_ID)
    assert go(host, run, model_repository=str(host.models))["changed"]
    assert copy.read_bytes() == b"onnx v2"
    assert go(host, run, model_repository=str(host.models))["changed"] is False


def test_restore_swaps_the_repository_back_and_uses_up_its_copy(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID), model_repository=str(host.models))
    replace_by_rename(host.models / "resnet50/1/model.onnx", b"onnx v2")
    run = runner(ref_id=OLD_ID)
    result = go(host, run, state="restored")
    failed = host.root / "models.failed-20260301T120000Z"
    assert result["failed_repository"] == str(failed)
    assert (host.models / "resnet50/1/model.onnx").read_bytes() == b"onnx v1"
    assert (failed / "resnet50/1/model.onnx").read_bytes() == b"onnx v2"
    assert not (host.point / "models").exists() and (host.point / "manifest.json").exists()
    assert run.calls[-3:] == ["systemctl daemon-reload", "systemctl enable triton-server.service",
                              "systemctl restart triton-server.service"]
    # the files part stays: a second restore changes nothing
    assert go(host, runner(ref_id=OLD_ID), state="restored")["changed"] is False


# --- restore -------------------------------------------------------------------------------


def test_restore_writes_back_removes_extras_retags_and_restarts_in_order(host):
    saved = deploy(host)
    go(host, runner(ref_id=OLD_ID))
    # the upgrade: a new image, one server per GPU
    deploy(host, image_id=NEW_ID, gpu_mode="per_gpu", gpu_indices=[0, 1])
    run = runner(ref_id=NEW_ID)
    result = go(host, run, state="restored")
    assert run.calls == [
        INSPECT + IMAGE,
        "systemctl disable --now triton-server@0.service",
        "systemctl disable --now triton-server@1.service",
        f"docker tag {OLD_ID} {IMAGE}",
        "systemctl daemon-reload",
        "systemctl enable triton-server.service",
        "systemctl restart triton-server.service"]
    assert result["retagged"] and result["restarted"] == ["triton-server.service"]
    assert (result["image_ref"], result["image_id"]) == (IMAGE, OLD_ID)
    assert sorted(Path(p).name for p in result["removed_files"]) == [
        "triton-server@.service", "triton-server@0.conf", "triton-server@0.env",
        "triton-server@1.conf", "triton-server@1.env"]
    assert sorted(on_host(host)) == sorted(saved["files"])
    for path, (content, mode) in saved["files"].items():
        assert Path(path).read_text() == content
        assert stat.S_IMODE(Path(path).stat().st_mode) == int(mode, 8)


def test_restore_replaces_a_file_by_rename_and_leaves_no_temporary(host):
    deploy(host, env={"LOG": "1"})
    go(host, runner(ref_id=OLD_ID))
    deploy(host, env={"LOG": "2"})
    env = host.conf / "triton-server.env"
    inode = env.stat().st_ino
    result = go(host, runner(ref_id=OLD_ID), state="restored")
    assert result["restored_files"] == [str(env)] and not result["retagged"]
    assert "LOG=1" in env.read_text() and env.stat().st_ino != inode
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert not list(host.conf.glob("*.inferops-tmp*"))


def test_restore_puts_back_a_mode(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID))
    env = host.conf / "triton-server.env"
    env.chmod(0o644)
    assert go(host, runner(ref_id=OLD_ID), state="restored")["restored_files"] == [str(env)]
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_restoring_what_is_there_changes_nothing(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID))
    run = runner(ref_id=OLD_ID)
    result = go(host, run, state="restored")
    assert result["changed"] is False and result["restarted"] == []
    assert run.calls == [INSPECT + IMAGE, "systemctl is-active triton-server.service"]


def test_a_unit_that_is_down_is_restarted_even_when_nothing_differs(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID))
    run = runner(ref_id=OLD_ID, active="failed")
    result = go(host, run, state="restored")
    assert result["changed"] and result["restarted"] == ["triton-server.service"]
    assert run.calls[1:] == ["systemctl is-active triton-server.service",
                             "systemctl restart triton-server.service"]


def test_a_failed_restart_fails_with_systemds_error_and_the_journal(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID))
    deploy(host, image_id=NEW_ID)
    journal = "\n".join(f"line {n}" for n in range(1, 31)) + "\n"
    run = runner(ref_id=NEW_ID, **{
        "systemctl restart triton-server.service":
            (1, "", "Job for triton-server.service failed.\n"),
        "journalctl -u triton-server.service --no-pager -n 20": (0, journal, "")})
    with pytest.raises(rb.RollbackError) as error:
        go(host, run, state="restored")
    message = str(error.value)
    assert "systemctl restart triton-server.service failed (rc=1): Job for" in message
    assert "line 11\n" in message and message.endswith("line 30") and "line 10\n" not in message
    assert run.calls[-2:] == ["systemctl restart triton-server.service",
                              "journalctl -u triton-server.service --no-pager -n 20"]


def test_check_mode_restore_reports_and_changes_nothing(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID))
    upgraded = deploy(host, image_id=NEW_ID, gpu_mode="per_gpu", gpu_indices=[0, 1])
    before = {path: Path(path).read_text() for path in on_host(host)}
    run = runner(ref_id=NEW_ID)
    result = go(host, run, check=True, state="restored")
    assert result["changed"] and result["retagged"]
    assert result["stopped"] == ["triton-server@0.service", "triton-server@1.service"]
    assert result["restarted"] == ["triton-server.service"]
    assert len(result["restored_files"]) == 2 and len(result["removed_files"]) == 5
    assert run.calls == [INSPECT + IMAGE]
    assert {path: Path(path).read_text() for path in on_host(host)} == before
    assert sorted(before) == sorted(upgraded["files"])


def test_diff_shows_text_and_hides_files_others_cannot_read(host):
    deploy(host, env={"HF_TOKEN": "old-secret"})
    go(host, runner(ref_id=OLD_ID))
    deploy(host, image_id=NEW_ID, env={"HF_TOKEN": "new-secret"})
    result = go(host, runner(ref_id=NEW_ID), check=True, diff=True, state="restored")
    diff = {Path(d["before_header"]).name: d for d in result["diff"]}
    assert sorted(diff) == ["triton-server.env", "triton-server.service"]
    unit = diff["triton-server.service"]
    assert f"# image: {IMAGE} {NEW_ID}" in unit["before"]
    assert f"# image: {IMAGE} {OLD_ID}" in unit["after"]
    env = host.conf / "triton-server.env"
    hidden = f"(content hidden: {env} is mode 0600)\n"
    assert diff["triton-server.env"]["before"] == diff["triton-server.env"]["after"] == hidden
    assert "secret" not in json.dumps(result)


def test_restoring_an_empty_point_stops_and_removes_the_service(host):
    go(host, runner())
    deploy(host)
    run = runner(ref_id=OLD_ID)
    result = go(host, run, state="restored")
    assert run.calls == ["systemctl disable --now triton-server.service",
                         "systemctl daemon-reload"]
    assert result["changed"] and result["restarted"] == [] and not result["retagged"]
    assert on_host(host) == [] and not Path(_unit.WAIT_READY).exists()


def test_a_damaged_point_is_refused_before_anything_changes(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID))
    deploy(host, image_id=NEW_ID)
    unit = str(host.units / "triton-server.service")
    Path(rb.saved_copy(str(host.point), unit)).write_text("tampered\n")
    with pytest.raises(rb.RollbackError, match="is damaged: its copy of .*triton-server.service"):
        go(host, runner(ref_id=NEW_ID), state="restored")
    assert NEW_ID in Path(unit).read_text()


# --- absent --------------------------------------------------------------------------------


def test_absent_removes_the_point_and_its_tag_by_name(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID))
    run = runner(tag_id=OLD_ID)
    result = go(host, run, state="absent")
    assert result == {"changed": True, "path": str(host.point),
                      "removed_tag": "inferops/tritonserver:rollback"}
    assert run.calls == [INSPECT + "inferops/tritonserver:rollback",
                         "docker rmi inferops/tritonserver:rollback"]
    assert not host.point.exists()


def test_absent_with_the_tag_gone_only_removes_the_point(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID))
    run = runner(tag_id=None)
    check = go(host, run, check=True, state="absent")
    assert check["changed"] and host.point.exists()
    assert go(host, run, state="absent")["removed_tag"] is None
    assert "docker rmi" not in " ".join(run.calls) and not host.point.exists()
    assert go(host, run, state="absent")["changed"] is False


# --- errors --------------------------------------------------------------------------------


def test_restoring_without_a_point_says_how_to_make_one(host):
    with pytest.raises(rb.RollbackError) as error:
        go(host, runner(), state="restored")
    assert str(error.value) == (
        f"state=restored, but there is no rollback point at {host.point} (manifest.json "
        "missing); save one with state=present first")


@pytest.mark.parametrize("options, message", [
    (dict(path="{models}/rollback", model_repository="{models}"),
     "path: '{models}/rollback' is inside model_repository '{models}'"),
    (dict(model_repository="{root}/units/triton-server.service"),
     "model_repository: '{root}/units/triton-server.service' is not a directory"),
    (dict(name="triton@0"), "name: 'triton@0' is not a service name"),
])
def test_bad_options_are_named_with_their_value(host, options, message):
    deploy(host)
    options = {key: value.format(models=host.models, root=host.root)
               for key, value in options.items()}
    with pytest.raises(rb.RollbackError) as error:
        go(host, runner(), **options)
    assert message.format(models=host.models, root=host.root) in str(error.value)


def test_restore_refuses_another_services_point_or_repository(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID), model_repository=str(host.models))
    with pytest.raises(rb.RollbackError, match="name: 'other', but the rollback point at"):
        go(host, runner(), state="restored", name="other")
    with pytest.raises(rb.RollbackError, match=f"model_repository: '{host.root}/elsewhere', "
                                               "but the rollback point"):
        go(host, runner(), state="restored", model_repository=f"{host.root}/elsewhere")


# --- failed repositories moved aside ------------------------------------------------------


def test_restores_keep_the_newest_failed_repositories_and_delete_older_ones(host):
    """Each failed rollout moves a repository aside; past keep_failed the oldest go (real
    directories under tmp_path; names that only look alike, and links, are left alone)."""
    deploy(host)
    go(host, runner(ref_id=OLD_ID), model_repository=str(host.models))
    older = [host.root / f"models.failed-2026020{day}T090000Z" for day in (1, 2, 3, 4)]
    for path in older:
        (path / "resnet50").mkdir(parents=True)
    strangers = [host.root / "models.failed-yesterday", host.root / "other.failed-20260101T000000Z"]
    for path in strangers:
        path.mkdir()
    (host.root / "models.failed-20250101T000000Z").symlink_to(strangers[0])
    replace_by_rename(host.models / "resnet50/1/model.onnx", b"onnx v2")
    before = sorted(p.name for p in host.root.iterdir())
    checked = go(host, runner(ref_id=OLD_ID), check=True, state="restored")
    # keep_failed 3: this restore's and the two newest before it stay
    assert checked["pruned_repositories"] == [str(older[1]), str(older[0])]
    assert sorted(p.name for p in host.root.iterdir()) == before  # check mode deletes nothing

    result = go(host, runner(ref_id=OLD_ID), state="restored")
    new = host.root / "models.failed-20260301T120000Z"
    assert result["failed_repository"] == str(new)
    assert result["pruned_repositories"] == [str(older[1]), str(older[0])]
    assert new.is_dir() and older[3].is_dir() and older[2].is_dir()
    assert not older[1].exists() and not older[0].exists()
    assert all(path.is_dir() for path in strangers)
    assert (host.root / "models.failed-20250101T000000Z").is_symlink()
    # the kept ones stay on the next restore, which changes nothing
    again = go(host, runner(ref_id=OLD_ID), state="restored")
    assert again["changed"] is False and again["pruned_repositories"] == []


def test_keep_failed_0_keeps_not_even_this_restores_repository(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID), model_repository=str(host.models))
    replace_by_rename(host.models / "resnet50/1/model.onnx", b"onnx v2")
    result = go(host, runner(ref_id=OLD_ID), state="restored", keep_failed=0)
    new = host.root / "models.failed-20260301T120000Z"
    assert result["pruned_repositories"] == [str(new)] and not new.exists()
    assert (host.models / "resnet50/1/model.onnx").read_bytes() == b"onnx v1"


def test_a_negative_keep_failed_is_refused_before_anything_changes(host):
    deploy(host)
    go(host, runner(ref_id=OLD_ID), model_repository=str(host.models))
    replace_by_rename(host.models / "resnet50/1/model.onnx", b"onnx v2")
    with pytest.raises(rb.RollbackError, match=r"keep_failed: -1 is negative"):
        go(host, runner(ref_id=OLD_ID), state="restored", keep_failed=-1)
    assert (host.models / "resnet50/1/model.onnx").read_bytes() == b"onnx v2"


# --- what the old version is gated on ------------------------------------------------------


def test_restore_says_where_the_old_version_answers_not_the_new_ones_ports(host):
    """A new version on other ports (one server on 9000 instead of one per GPU from 8000):
    the rollback gate must ask the restored instances where their wait helper asks."""
    deploy(host, gpu_mode="per_gpu", gpu_indices=[0, 1], bind_address="10.0.0.5")
    go(host, runner(ref_id=OLD_ID))
    deploy(host, http_port=9000, image_id=NEW_ID)
    for check in (True, False):
        result = go(host, runner(ref_id=OLD_ID), check=check, state="restored")
        assert result["instances"] == [
            {"unit": "triton-server@0.service", "url": "http://10.0.0.5:8000"},
            {"unit": "triton-server@1.service", "url": "http://10.0.0.5:8010"}]
    deploy(host)  # one server on 8000, saved, then moved to 9000
    go(host, runner(ref_id=OLD_ID, tag_id=OLD_ID))
    deploy(host, http_port=9000)
    result = go(host, runner(ref_id=OLD_ID), state="restored")
    assert result["instances"] == [{"unit": "triton-server.service",
                                    "url": "http://127.0.0.1:8000"}]


def test_restore_says_which_models_the_put_back_repository_serves(host):
    """A rollout that adds a model: the old version serves the old repository's models, so
    its gate must not wait for the new one."""
    deploy(host)
    go(host, runner(ref_id=OLD_ID), model_repository=str(host.models))
    (host.models / "densenet" / "1").mkdir(parents=True)
    (host.models / "densenet" / "config.pbtxt").write_text('name: "densenet"\n')
    result = go(host, runner(ref_id=OLD_ID), state="restored")
    assert result["models"] == ["resnet50"]
    assert sorted(p.name for p in host.models.iterdir()) == ["resnet50"]
    # nothing put back (the repository is the point's): the caller's own list stands
    assert go(host, runner(ref_id=OLD_ID), state="restored")["models"] is None
