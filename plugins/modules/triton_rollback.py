#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: triton_rollback
short_description: Save and restore a per-host rollback point of the Triton server service
version_added: 0.1.0
description:
  - For rolling upgrades. Before a host is switched to a new image or configuration,
    I(state=present) saves a rollback point - the service's files (C(<name>.service) or the
    template C(<name>@.service), the C(.env) and C(.conf) files, the wait helper) with
    their modes and sha256s, the image the unit runs and, with I(model_repository), a
    hard-link copy of the model repository. If the new version fails its health gate,
    I(state=restored) puts it back and restarts the units.
  - The image is read from the unit's second line, a comment C(# image:) with the image
    reference and id (the id from C(docker image inspect) when the line has none), and kept
    by a second tag, C(<repository of ref>:<image_tag>), so that it survives a new image
    taking over its tag.
  - The repository copy costs no space - M(inferops.triton.model_repository) replaces files
    by rename, so the saved inodes live on. It must be on the filesystem of I(path). A
    restore moves the failed repository aside to C(<model_repository>.failed-<UTC time>)
    (keeping the newest I(keep_failed) of those) and moves the copy into place, which uses
    it up; the files part of the point stays, so a second restore changes nothing.
  - Saving when the point already matches the host changes nothing; otherwise the point
    is written beside I(path) and renamed over it. On a host where the service was never
    deployed the point is empty, and restoring it stops, disables and removes the service.
  - A restore writes back the files that differ (by a temporary file renamed into place),
    removes the service's files the point does not have (stopping and disabling their
    units first), retags the image when its reference names another image, then runs
    C(systemctl daemon-reload), enables the point's units and restarts each. A restart
    returns once the server is ready; one that fails fails the task with systemd's error
    and the unit's last 20 journal lines. When nothing differs and the units are active,
    nothing restarts.
author: inferops.triton developers (@inferops)
options:
  name:
    description: Name of the systemd service, as M(inferops.triton.triton_service) has it.
    type: str
    default: triton-server
  path:
    description:
      - Directory of the rollback point; C(/var/lib/inferops-triton/rollback/<name>) when
        unset.
    type: path
  model_repository:
    description:
      - Host directory of the model repository, to save with the point (I(state=present)).
      - With I(state=restored), the point's own record is used; if given it must match.
    type: path
  state:
    description:
      - C(present) saves the rollback point, C(restored) puts the host back as the point has
        it, C(absent) removes the point and its image tag.
    type: str
    choices: [present, restored, absent]
    default: present
  image_tag:
    description: Tag that keeps the saved image, on the repository of the unit's image reference.
    type: str
    default: rollback
  keep_failed:
    description:
      - With I(state=restored), how many failed model repositories moved aside
        (C(<model_repository>.failed-<UTC time>)) to keep, newest first, this restore's
        among them; older ones are deleted, so that failed rollouts do not fill the disk.
      - V(0) keeps none, not even the one this restore moves aside.
    type: int
    default: 3
  config_dir:
    description: Directory of the service's C(.env) and C(.conf) files (for tests).
    type: path
    default: /etc/inferops-triton
  unit_dir:
    description: Directory of the service's unit files (for tests).
    type: path
    default: /etc/systemd/system
attributes:
  check_mode:
    support: full
    description: Reports what would be saved, restored or removed; changes nothing.
  diff_mode:
    support: partial
    description:
      - With I(state=restored), a before and after per file that would change; the content
        of files others cannot read (the C(0600) env files) is not shown.
requirements:
  - systemd and the Docker CLI on the host
"""

EXAMPLES = r"""
- name: Save a rollback point before the upgrade
  inferops.triton.triton_rollback:
    model_repository: /var/lib/inferops-triton/models

- name: Roll back after a failed health gate
  inferops.triton.triton_rollback:
    state: restored

- name: Drop the rollback point once the fleet is upgraded
  inferops.triton.triton_rollback:
    state: absent
"""

RETURN = r"""
path:
  description: Directory of the rollback point.
  type: str
  returned: always
  sample: /var/lib/inferops-triton/rollback/triton-server
image_ref:
  description: Image reference the point's unit runs; null for an empty point.
  type: str
  returned: when state is present or restored
  sample: inferops/tritonserver:rocm7.2
image_id:
  description: Id of that image.
  type: str
  returned: when state is present or restored
  sample: sha256:2f1b5c0e6d0a4c8b9f7e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a
units:
  description: The units of the saved service.
  type: list
  elements: str
  returned: when state is present
  sample: [triton-server@0.service, triton-server@1.service]
files:
  description: The service's files in the point.
  type: list
  elements: str
  returned: when state is present
  sample: [/etc/inferops-triton/triton-server.env, /etc/systemd/system/triton-server.service]
model_repository:
  description: The model repository saved with the point, or null.
  type: str
  returned: when state is present
  sample: /var/lib/inferops-triton/models
tag:
  description: The tag that keeps the saved image, or null for an empty point.
  type: str
  returned: when state is present
  sample: inferops/tritonserver:rollback
empty:
  description: Whether the point is empty (no unit file on the host; C(msg) says so).
  type: bool
  returned: when state is present
  sample: false
restored_files:
  description: Files written back (or that would be).
  type: list
  elements: str
  returned: when state is restored
  sample: [/etc/systemd/system/triton-server.service]
removed_files:
  description: Files of the service the point does not have, removed (or that would be).
  type: list
  elements: str
  returned: when state is restored
  sample: [/etc/inferops-triton/triton-server@1.conf]
stopped:
  description: Units the point does not have, stopped and disabled (or that would be).
  type: list
  elements: str
  returned: when state is restored
  sample: [triton-server@1.service]
retagged:
  description: Whether I(image_ref) was tagged back onto I(image_id) (or would be).
  type: bool
  returned: when state is restored
  sample: true
restarted:
  description: Units restarted (or that would be).
  type: list
  elements: str
  returned: when state is restored
  sample: [triton-server.service]
failed_repository:
  description: Where the failed model repository was moved (or would be), or null.
  type: str
  returned: when state is restored
  sample: /var/lib/inferops-triton/models.failed-20260301T120000Z
instances:
  description:
    - Each unit of the point with the URL it answers on once restored (its wait helper's),
      for gating the old version; C(url) is null when the saved files do not say.
  type: list
  elements: dict
  returned: when state is restored
  sample: [{unit: triton-server.service, url: "http://127.0.0.1:8000"}]
models:
  description:
    - The models (directories) of the model repository the restore puts back (or would),
      or null when it puts none back.
  type: list
  elements: str
  returned: when state is restored
  sample: [resnet50]
pruned_repositories:
  description: Older failed repositories deleted past I(keep_failed) (or that would be).
  type: list
  elements: str
  returned: when state is restored
  sample: [/var/lib/inferops-triton/models.failed-20260201T090000Z]
removed_tag:
  description: The image tag removed (or that would be), or null.
  type: str
  returned: when state is absent
  sample: inferops/tritonserver:rollback
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.server._rollback import (
    KEEP_FAILED,
    RollbackError,
    rollback,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._unit import (
    CONFIG_DIR,
    UNIT_DIR,
)

SPEC = dict(
    name=dict(type="str", default="triton-server"),
    path=dict(type="path"),
    model_repository=dict(type="path"),
    state=dict(type="str", default="present", choices=["present", "restored", "absent"]),
    image_tag=dict(type="str", default="rollback"),
    keep_failed=dict(type="int", default=KEEP_FAILED),
    config_dir=dict(type="path", default=CONFIG_DIR),
    unit_dir=dict(type="path", default=UNIT_DIR),
)


def main():
    module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    try:
        result = rollback(module.params, module.run_command, check_mode=module.check_mode,
                          diff=module._diff)
    except (RollbackError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
