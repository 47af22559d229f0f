"""docker_engine_host's readers and decisions, on dpkg-query and systemctl outputs captured
from Debian 12 lab nodes with docker.io and systemd (tests/fixtures/docker_engine/SOURCE.md
says how each was taken), and the module's whole call with those outputs standing in for
the host."""

import json
from pathlib import Path
from unittest import mock

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.inferops.triton.plugins.module_utils.engine._docker_engine import (
    DPKG_QUERY,
    SYSTEMCTL_SHOW,
    DockerEngineError,
    command_error,
    converge_service,
    describe,
    missing_packages,
    parse_dpkg_status,
    parse_show,
    read_missing,
    service_actions,
    unit_summary,
)
from ansible_collections.inferops.triton.plugins.modules import docker_engine_host

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "docker_engine"
ENGINE = ["containerd", "docker.io", "runc"]


def text(name):
    return (FIXTURES / name).read_text()


def show(name):
    return parse_show(text(f"show-{name}.txt"))


@pytest.mark.parametrize("fixture, wanted, missing", [
    ("dpkg-query-installed.stdout", ["docker.io"], []),
    ("dpkg-query-three-installed.stdout", ["runc", "docker.io", "containerd"], []),
    # dpkg-query prints nothing on stdout for names it does not know (exit 1)
    ("dpkg-query-unknown.stdout", ["docker.io", "docker-compose-v2", "nosuchpkg"],
     ["docker-compose-v2", "nosuchpkg"]),
    # removed, its conffiles kept: "rc" is not installed
    ("dpkg-query-removed.stdout", ENGINE, ["docker.io"]),
    # apt-mark hold: "hi" is installed
    ("dpkg-query-held.stdout", ENGINE, []),
])
def test_missing_packages_are_the_ones_dpkg_does_not_list_as_installed(fixture, wanted, missing):
    assert missing_packages(wanted, text(fixture)) == missing


def test_dpkg_status_keeps_the_two_letters_without_the_blank_error_flag():
    assert parse_dpkg_status(text("dpkg-query-removed.stdout")) == {
        "containerd": "ii", "docker.io": "rc", "runc": "ii"}
    assert parse_dpkg_status(text("dpkg-query-held.stdout"))["docker.io"] == "hi"
    assert parse_dpkg_status("") == {}


@pytest.mark.parametrize("fixture, enabled, active, active_state", [
    ("enabled-active", True, True, "active"),
    ("enabled-inactive", True, False, "inactive"),
    ("disabled-inactive", False, False, "inactive"),
    ("disabled-active", False, True, "active"),
    ("enabled-activating", True, True, "activating"),
    ("enabled-failed", True, False, "failed"),
    ("static-active", True, True, "active"),
    # the package removed: the unit file is gone, the failed state of its last run stays
    ("removed-package", False, False, "failed"),
    ("nosuch-service", False, False, "inactive"),
])
def test_unit_state_from_systemctl_show(fixture, enabled, active, active_state):
    summary = unit_summary(show(fixture))
    assert (summary["enabled"], summary["active"], summary["active_state"]) == (
        enabled, active, active_state)


def test_show_output_parses_to_its_properties():
    assert show("enabled-active") == {"ActiveState": "active", "UnitFileState": "enabled"}
    assert show("nosuch-service") == {"ActiveState": "inactive", "UnitFileState": ""}


@pytest.mark.parametrize("fixture, enabled, state, changed, actions", [
    # converged: nothing, and nothing on a running daemon that is to stop either
    ("enabled-active", True, "started", False, []),
    ("static-active", True, "started", False, []),
    ("disabled-inactive", False, "stopped", False, []),
    ("enabled-failed", True, "stopped", False, []),
    # daemon.json changed under a running daemon that is to keep running
    ("enabled-active", True, "started", True, [("restart", "daemon.json changed")]),
    ("enabled-activating", True, "started", True, [("restart", "daemon.json changed")]),
    # a stopped daemon reads the new daemon.json when it starts
    ("enabled-inactive", True, "started", True, [("start", "")]),
    ("enabled-failed", True, "started", False, [("start", "")]),
    ("disabled-inactive", True, "started", True, [("enable", ""), ("start", "")]),
    ("disabled-active", True, "started", False, [("enable", "")]),
    # a daemon that is to stop is not restarted for daemon.json
    ("enabled-active", False, "stopped", True, [("disable", ""), ("stop", "")]),
    ("enabled-activating", True, "stopped", False, [("stop", "")]),
    ("enabled-inactive", False, "stopped", True, [("disable", "")]),
    # left as it is when not asked, but a running daemon still restarts for daemon.json
    ("disabled-active", None, None, True, [("restart", "daemon.json changed")]),
    ("disabled-inactive", None, None, True, []),
    ("enabled-active", None, None, False, []),
])
def test_service_actions(fixture, enabled, state, changed, actions):
    assert service_actions(show(fixture), enabled, state, changed) == actions


def test_enabled_runtime_counts_as_enabled():
    # not captured (nothing in the lab enables docker.service with --runtime): the value
    # is systemctl's documented UnitFileState for `systemctl enable --runtime`
    props = {"UnitFileState": "enabled-runtime", "ActiveState": "active"}
    assert service_actions(props, True, "started", False) == []


def test_actions_read_as_what_was_done():
    assert describe("enable") == "enabled docker.service"
    assert describe("restart", "daemon.json changed") == (
        "restarted docker.service: daemon.json changed")


def test_a_failed_command_is_named_with_its_rc_and_stderr():
    stderr = text("restart-bad-daemon-json.stderr")
    error = command_error(["systemctl", "restart", "docker.service"], 1, stderr)
    assert str(error) == (
        "systemctl restart docker.service failed (rc 1): Job for docker.service failed because"
        " the control process exited with error code. See \"systemctl status docker.service\""
        " and \"journalctl -xeu docker.service\" for details.")
    assert error.details == {"cmd": ["systemctl", "restart", "docker.service"], "rc": 1,
                             "stderr": stderr}


class Host:
    """Answers run_command with captured outputs and records what was run."""

    def __init__(self, dpkg="dpkg-query-installed.stdout", dpkg_rc=0, dpkg_err="",
                 unit="enabled-active", fail=None):
        self.answers = {"dpkg-query": (dpkg_rc, text(dpkg), dpkg_err),
                        "show": (0, text(f"show-{unit}.txt"), "")}
        self.fail = fail or {}
        self.calls = []

    def __call__(self, argv, *args, **kwargs):
        argv = list(argv)
        self.calls.append(argv)
        if argv[0] == "dpkg-query":
            return self.answers["dpkg-query"]
        if argv == SYSTEMCTL_SHOW:
            return self.answers["show"]
        return self.fail.get(argv[1], (0, "", ""))

    def changes(self):
        return [call for call in self.calls if call[0] == "systemctl" and call != SYSTEMCTL_SHOW]


def test_dpkg_query_exits_1_for_unknown_packages_and_that_is_no_error():
    host = Host("dpkg-query-unknown.stdout", 1, text("dpkg-query-unknown.stderr"))
    assert read_missing(host, ["docker.io", "nosuchpkg"]) == ["nosuchpkg"]
    assert host.calls == [DPKG_QUERY + ["docker.io", "nosuchpkg"]]
    # a dpkg database it cannot parse: exit 2
    host.answers["dpkg-query"] = (2, "", text("dpkg-query-corrupt-status.stderr"))
    with pytest.raises(DockerEngineError) as error:
        read_missing(host, ["docker.io"])
    assert str(error.value) == (
        "dpkg-query --show '--showformat=${Package} ${db:Status-Abbrev}\\n' docker.io failed"
        " (rc 2): dpkg-query: error: parsing file '/var/lib/dpkg/status' near line 4061:"
        " field name 'Package' must be followed by colon")


def test_check_mode_reads_the_unit_and_changes_nothing():
    host = Host(unit="disabled-inactive")
    unit, actions = converge_service(host, True, "started", True, check_mode=True)
    assert actions == ["enabled docker.service", "started docker.service"]
    assert unit["enabled"] is False and unit["active_state"] == "inactive"
    assert host.calls == [SYSTEMCTL_SHOW]


def test_the_actions_run_in_order():
    host = Host(unit="enabled-active")
    _unit, actions = converge_service(host, True, "started", True, check_mode=False)
    assert actions == ["restarted docker.service: daemon.json changed"]
    assert host.changes() == [["systemctl", "restart", "docker.service"]]


CONVERGED = {"log-driver": "json-file", "log-opts": {"max-file": "3", "max-size": "50m"}}


def call_module(monkeypatch, capsys, host, **params):
    """Run the module's main() with ``params`` (plus _ansible_* flags); its exit_json result."""
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, argv, **kw: host(argv))
    monkeypatch.setattr(AnsibleModule, "get_bin_path",
                        lambda self, name, required=False, opt_dirs=None: f"/usr/bin/{name}")
    with patch_module_args(params), pytest.raises(SystemExit):
        docker_engine_host.main()
    out = capsys.readouterr().out
    return json.loads(out) if out else None


@pytest.fixture
def daemon_json(tmp_path):
    path = tmp_path / "etc" / "docker" / "daemon.json"
    path.parent.mkdir(parents=True)
    # what the role wrote on the lab's nodes (docker exec inferops-fleet-node1 cat ...)
    path.write_text(json.dumps(CONVERGED, indent=2, sort_keys=True) + "\n")
    path.chmod(0o644)
    return path


def test_a_converged_host_is_one_call_with_nothing_changed(monkeypatch, capsys, daemon_json):
    host = Host()
    result = call_module(monkeypatch, capsys, host, packages=["docker.io"],
                         daemon_json_path=str(daemon_json), daemon_options=CONVERGED,
                         service_enabled=True, service_state="started")
    assert result["changed"] is False
    assert result["missing_packages"] == [] and result["actions"] == []
    assert result["content"] == CONVERGED
    assert result["service"] == {"enabled": True, "active": True,
                                 "unit_file_state": "enabled", "active_state": "active"}
    assert host.calls == [DPKG_QUERY + ["docker.io"], SYSTEMCTL_SHOW]


def test_check_mode_shows_the_diff_and_writes_nothing(monkeypatch, capsys, daemon_json):
    host = Host()
    wanted = {"log-opts": {"max-size": "100m"}}
    result = call_module(monkeypatch, capsys, host, packages=["docker.io"],
                         daemon_json_path=str(daemon_json), daemon_options=wanted,
                         service_enabled=True, service_state="started",
                         _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] is True and result["daemon_json_changed"] is True
    assert result["actions"] == [f"merged options into {daemon_json}",
                                 "restarted docker.service: daemon.json changed"]
    assert '"max-size": "50m"' in result["diff"]["before"]
    assert '"max-size": "100m"' in result["diff"]["after"]
    assert json.loads(daemon_json.read_text()) == CONVERGED
    assert host.changes() == []


def test_a_changed_daemon_json_is_written_and_docker_restarted(monkeypatch, capsys, daemon_json):
    host = Host()
    daemon_json.write_text('{"debug": false, "log-opts": {"labels": "team"}}')
    daemon_json.chmod(0o600)
    result = call_module(monkeypatch, capsys, host, packages=["docker.io"],
                         daemon_json_path=str(daemon_json), daemon_options=CONVERGED,
                         service_enabled=True, service_state="started")
    assert result["changed"] is True
    merged = {"debug": False, "log-driver": "json-file",
              "log-opts": {"labels": "team", "max-file": "3", "max-size": "50m"}}
    assert json.loads(daemon_json.read_text()) == result["content"] == merged
    assert daemon_json.stat().st_mode & 0o777 == 0o644
    assert host.changes() == [["systemctl", "restart", "docker.service"]]


def test_only_the_mode_differing_restarts_nothing(monkeypatch, capsys, daemon_json):
    host = Host()
    daemon_json.chmod(0o600)
    result = call_module(monkeypatch, capsys, host, packages=["docker.io"],
                         daemon_json_path=str(daemon_json), daemon_options=CONVERGED,
                         service_enabled=True, service_state="started")
    assert result["changed"] is True and result["daemon_json_changed"] is False
    assert result["actions"] == [f"set the mode of {daemon_json}"]
    assert daemon_json.stat().st_mode & 0o777 == 0o644
    assert host.changes() == []


def test_missing_packages_leave_the_service_alone(monkeypatch, capsys, tmp_path):
    # docker.io removed (conffiles kept): its unit is gone, the failed state stays
    host = Host("dpkg-query-removed.stdout", unit="removed-package")
    path = tmp_path / "etc" / "docker" / "daemon.json"
    result = call_module(monkeypatch, capsys, host, packages=ENGINE,
                         daemon_json_path=str(path), daemon_options=CONVERGED,
                         service_enabled=True, service_state="started")
    assert result["missing_packages"] == ["docker.io"]
    assert result["service"] == {}
    assert result["actions"] == [f"merged options into {path}"]
    assert json.loads(path.read_text()) == CONVERGED  # directory created
    assert path.stat().st_mode & 0o777 == 0o644
    assert not [call for call in host.calls if call[0] == "systemctl"]


def test_a_failed_restart_fails_the_task_with_systemctls_words(monkeypatch, capsys, daemon_json):
    stderr = text("restart-bad-daemon-json.stderr")
    host = Host(fail={"restart": (1, "", stderr)})
    with mock.patch.object(AnsibleModule, "fail_json", side_effect=SystemExit(1)) as fail:
        call_module(monkeypatch, capsys, host, packages=["docker.io"],
                    daemon_json_path=str(daemon_json), daemon_options={"debug": True},
                    service_enabled=True, service_state="started")
    kwargs = fail.call_args.kwargs
    assert kwargs["msg"].startswith("systemctl restart docker.service failed (rc 1): Job for")
    assert kwargs["rc"] == 1 and kwargs["stderr"] == stderr


def test_a_file_that_is_not_an_object_fails_before_any_change(monkeypatch, capsys, daemon_json):
    host = Host()
    daemon_json.write_text("[1, 2]\n")
    with mock.patch.object(AnsibleModule, "fail_json", side_effect=SystemExit(1)) as fail:
        call_module(monkeypatch, capsys, host, packages=["docker.io"],
                    daemon_json_path=str(daemon_json), daemon_options=CONVERGED,
                    service_state="started")
    assert "is not a JSON object" in fail.call_args.kwargs["msg"]
    assert daemon_json.read_text() == "[1, 2]\n" and host.changes() == []
