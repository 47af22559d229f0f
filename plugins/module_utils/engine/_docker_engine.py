# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker Engine on a Debian-family host, read and converged in one module call.

Which of the wanted packages dpkg has installed, daemon.json merged as
:mod:`..common._jsonfile` merges it, and docker.service brought to the wanted enabled and
running state, restarted when daemon.json changed under a running daemon. The parsing and
deciding functions are pure; the ones that run commands take ``run``, a callable with
``AnsibleModule.run_command``'s signature, so captured outputs can stand in for a host.
"""

from __future__ import annotations

import shlex

from ansible_collections.inferops.triton.plugins.module_utils.common._jsonfile import merge_file

UNIT = "docker.service"
DPKG_QUERY = ["dpkg-query", "--show", "--showformat=${Package} ${db:Status-Abbrev}\n"]
SYSTEMCTL_SHOW = ["systemctl", "show", UNIT, "--property=UnitFileState", "--property=ActiveState"]
# db:Status-Abbrev is want, status and error flag: "ii " installed, "hi " installed and held.
INSTALLED = ("ii", "hi")
ENABLED_STATES = ("enabled", "enabled-runtime", "static")
# As ansible.builtin.systemd_service sees it: a unit starting (or in its restart delay)
# is running, and a stop is due unless it is inactive or failed.
RUNNING_STATES = ("active", "activating", "reloading")
STOPPED_STATES = ("inactive", "failed")
PAST = {"enable": "enabled", "disable": "disabled", "start": "started", "stop": "stopped",
        "restart": "restarted"}


class DockerEngineError(Exception):
    """A command that failed; ``details`` go to fail_json next to the message."""

    def __init__(self, msg: str, **details):
        super().__init__(msg)
        self.details = details


def shell_words(argv: list) -> str:
    """``argv`` as one would type it (a newline in an argument written ``\\n``)."""
    return " ".join(shlex.quote(word.replace("\n", "\\n")) for word in argv)


def command_error(argv: list, rc: int, stderr: str) -> DockerEngineError:
    """The error for a command that failed: the command, its rc and what it printed."""
    text = " ".join(stderr.split()) or "nothing on stderr"
    return DockerEngineError(f"{shell_words(argv)} failed (rc {rc}): {text}",
                             cmd=argv, rc=rc, stderr=stderr)


def parse_dpkg_status(text: str) -> dict:
    """``dpkg-query --showformat='${Package} ${db:Status-Abbrev}\\n'`` -> {package: abbrev}."""
    status = {}
    for line in text.splitlines():
        fields = line.split(None, 1)
        if fields:
            status[fields[0]] = fields[1].strip() if len(fields) > 1 else ""
    return status


def missing_packages(wanted: list, dpkg_output: str) -> list:
    """The packages of ``wanted`` (in its order) that dpkg does not list as installed."""
    status = parse_dpkg_status(dpkg_output)
    return [name for name in wanted if status.get(name) not in INSTALLED]


def parse_show(text: str) -> dict:
    """``systemctl show --property=...`` output (``Key=value`` lines) -> dict."""
    props = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props[key.strip()] = value.strip()
    return props


def unit_summary(props: dict) -> dict:
    """Whether the unit starts at boot and runs, from its UnitFileState and ActiveState."""
    unit_file_state = props.get("UnitFileState", "")
    active_state = props.get("ActiveState", "")
    return {"enabled": unit_file_state in ENABLED_STATES,
            "active": active_state in RUNNING_STATES,
            "unit_file_state": unit_file_state, "active_state": active_state}


def service_actions(props: dict, enabled: bool | None, state: str | None,
                    daemon_json_changed: bool) -> list:
    """The ``(verb, reason)`` pairs, in order, that take the unit to ``enabled`` and
    ``state`` (None leaves that side as it is); a running daemon that is to keep running
    restarts when daemon.json changed (a stopped one reads it when it starts)."""
    current = unit_summary(props)
    actions = []
    if enabled is not None and enabled != current["enabled"]:
        actions.append(("enable" if enabled else "disable", ""))
    if state == "stopped":
        if current["active_state"] not in STOPPED_STATES:
            actions.append(("stop", ""))
    elif state == "started" and not current["active"]:
        actions.append(("start", ""))
    elif daemon_json_changed and current["active"]:
        actions.append(("restart", "daemon.json changed"))
    return actions


def describe(verb: str, reason: str = "") -> str:
    """("restart", "daemon.json changed") -> "restarted docker.service: daemon.json changed"."""
    text = f"{PAST[verb]} {UNIT}"
    return f"{text}: {reason}" if reason else text


def run_checked(run, argv: list, ok_rcs: tuple = (0,)) -> str:
    """``argv``'s stdout; a DockerEngineError naming it when its rc is not in ``ok_rcs``."""
    rc, out, err = run(argv)
    if rc not in ok_rcs:
        raise command_error(argv, rc, err)
    return out


def read_missing(run, packages: list) -> list:
    """The packages dpkg does not have installed (dpkg-query exits 1 for unknown ones)."""
    return missing_packages(packages, run_checked(run, DPKG_QUERY + list(packages), (0, 1)))


def converge_service(run, enabled: bool | None, state: str | None, daemon_json_changed: bool,
                     check_mode: bool) -> tuple[dict, list]:
    """Read docker.service, run what :func:`service_actions` decides (nothing in check
    mode) and return the unit as it was and the actions' descriptions."""
    props = parse_show(run_checked(run, SYSTEMCTL_SHOW))
    actions = service_actions(props, enabled, state, daemon_json_changed)
    for verb, _reason in actions:
        if not check_mode:
            run_checked(run, ["systemctl", verb, UNIT])
    return unit_summary(props), [describe(verb, reason) for verb, reason in actions]


class DockerEngineHost:
    """The module's run: dpkg, daemon.json, then docker.service when it is installed."""

    def __init__(self, module):
        self.module = module
        self.params = module.params

    def merge_daemon_json(self, result: dict) -> bool:
        """Merge the options into the file (not in check mode); True if its content changed."""
        path = self.params["daemon_json_path"]
        try:
            merged = merge_file(self.module, path, self.params["daemon_options"],
                                self.params["mode"])
        except ValueError as exc:
            raise DockerEngineError(str(exc)) from exc
        result["content"] = merged["content"]
        if "diff" in merged:
            result["diff"] = merged["diff"]
        if merged["content_changed"]:
            result["actions"].append(f"merged options into {path}")
        if merged["mode_changed"]:
            result["actions"].append(f"set the mode of {path}")
            result["changed"] = True
        return merged["content_changed"]

    def run(self):
        module, params = self.module, self.params
        result = {"changed": False, "missing_packages": [], "daemon_json_changed": False,
                  "content": {}, "service": {}, "actions": []}
        try:
            module.get_bin_path("dpkg-query", required=True)
            result["missing_packages"] = read_missing(module.run_command, params["packages"])
            if params["daemon_options"] is not None:
                result["daemon_json_changed"] = self.merge_daemon_json(result)
            # Without the packages there is no docker.service yet; apt's install starts it.
            if not result["missing_packages"]:
                module.get_bin_path("systemctl", required=True)
                result["service"], actions = converge_service(
                    module.run_command, params["service_enabled"], params["service_state"],
                    result["daemon_json_changed"], module.check_mode)
                result["actions"].extend(actions)
        except DockerEngineError as exc:
            module.fail_json(msg=str(exc), **exc.details)
        result["changed"] = result["changed"] or bool(result["actions"])
        module.exit_json(**result)
