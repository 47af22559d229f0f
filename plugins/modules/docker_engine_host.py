#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: docker_engine_host
short_description: Docker Engine's packages, daemon.json and docker.service in one call
version_added: 0.1.0
description:
  - Reads which of O(packages) dpkg has installed (C(dpkg-query); a package is installed
    when its status is C(ii), or C(hi) when held) and returns the others in
    RV(missing_packages); it installs nothing, that is left to M(ansible.builtin.apt).
  - Lays O(daemon_options) over the JSON object in O(daemon_json_path); nested objects
    merge key by key, keys other tools wrote stay, and the file is rewritten (sorted keys,
    two-space indent) only when the merged object differs.
  - When no package is missing, reads C(docker.service) (C(systemctl show)) and enables,
    disables, starts or stops it as O(service_enabled) and O(service_state) ask; when
    daemon.json changed under a running daemon that is to keep running, restarts it. A
    unit that is C(activating) counts as running, C(inactive) and C(failed) as stopped;
    C(enabled), C(enabled-runtime) and C(static) count as enabled.
  - A host where nothing is to change costs this one call.
author: inferops.triton developers (@inferops)
options:
  packages:
    description: Packages that provide Docker Engine (and C(docker.service)).
    type: list
    elements: str
    required: true
  daemon_json_path:
    description: Docker's daemon.json; created, with its directory, when missing.
    type: path
    default: /etc/docker/daemon.json
  daemon_options:
    description: Keys to set in O(daemon_json_path); when omitted the file is not touched.
    type: dict
  mode:
    description: Mode of O(daemon_json_path).
    type: raw
    default: "0644"
  service_enabled:
    description: Whether C(docker.service) starts at boot; when omitted it is left as it is.
    type: bool
  service_state:
    description: Whether C(docker.service) runs; when omitted it is left as it is.
    type: str
    choices: [started, stopped]
extends_documentation_fragment:
  - inferops.triton.attributes
notes:
  - In check mode only C(dpkg-query) and C(systemctl show) run; RV(actions) says what
    would be done.
requirements:
  - dpkg and systemd on the host
"""

EXAMPLES = r"""
- name: Read the packages, merge daemon.json and keep docker.service running
  inferops.triton.docker_engine_host:
    packages: [docker.io]
    daemon_options:
      log-driver: json-file
      log-opts:
        max-size: 50m
        max-file: "3"
    service_enabled: true
    service_state: started
  register: docker_engine_host

- name: Install what is missing
  ansible.builtin.apt:
    name: docker.io
  when: docker_engine_host.missing_packages | length > 0
"""

RETURN = r"""
missing_packages:
  description: The packages of O(packages) that dpkg does not list as installed.
  type: list
  elements: str
  returned: always
  sample: []
daemon_json_changed:
  description: Whether the content of O(daemon_json_path) changed (or would, in check mode).
  type: bool
  returned: always
  sample: false
content:
  description:
    - The merged object now in the file (or that would be, in check mode).
    - Empty when O(daemon_options) is omitted.
  type: dict
  returned: always
  sample: {"log-driver": "json-file", "log-opts": {"max-file": "3", "max-size": "50m"}}
service:
  description: C(docker.service) as it was before this call; empty when a package is missing.
  type: dict
  returned: always
  contains:
    enabled:
      description: Whether it started at boot (C(enabled), C(enabled-runtime) or C(static)).
      type: bool
    active:
      description: Whether it was running (C(active), C(activating) or C(reloading)).
      type: bool
    unit_file_state:
      description: Its C(UnitFileState).
      type: str
    active_state:
      description: Its C(ActiveState).
      type: str
  sample: {"enabled": true, "active": true, "unit_file_state": "enabled", "active_state": "active"}
actions:
  description: What was done (or would be, in check mode), in order.
  type: list
  elements: str
  returned: always
  sample: ["merged options into /etc/docker/daemon.json",
           "restarted docker.service: daemon.json changed"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.engine._docker_engine import (
    DockerEngineHost,
)

SPEC = dict(
    packages=dict(type="list", elements="str", required=True),
    daemon_json_path=dict(type="path", default="/etc/docker/daemon.json"),
    daemon_options=dict(type="dict"),
    mode=dict(type="raw", default="0644"),
    service_enabled=dict(type="bool"),
    service_state=dict(type="str", choices=["started", "stopped"]),
)


def main():
    module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    DockerEngineHost(module).run()


if __name__ == "__main__":
    main()
