# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pre-flight on the controller: reads each role's argument spec and defaults from the
collection, takes the host's variables over the defaults, and hands them to
module_utils/preflight/_rules_controller.py, which holds every rule. Never contacts the host."""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.inferops.triton.plugins.module_utils.preflight import (
    _rules_controller as _preflight,
)

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "roles")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("playbook", "roles"))

    def _role_files(self, role):
        """The options of every entry point of the role's spec (``main`` first) and its
        defaults, as Ansible loads them (so the defaults' templates are trusted)."""
        base = os.path.join(ROLES_DIR, role)
        specs = self._loader.load_from_file(os.path.join(base, "meta", "argument_specs.yml"))
        options = dict(specs["argument_specs"]["main"]["options"])
        for entry in specs["argument_specs"].values():
            for name, option in (entry.get("options") or {}).items():
                options.setdefault(name, option)
        defaults_file = os.path.join(base, "defaults", "main.yml")
        defaults = {}
        if os.path.exists(defaults_file):
            defaults = self._loader.load_from_file(defaults_file, trusted_as_template=True)
        return base, options, defaults or {}

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = self._task.args
        if "roles" in args:
            roles = list(args["roles"])
        else:
            try:
                roles = _preflight.roles_for(args.get("playbook", "site"), task_vars)
            except ValueError as exc:
                raise AnsibleError(str(exc)) from None
        loaded = {role: self._role_files(role) for role in roles}

        # A role's defaults are the lowest precedence: the host's variables (inventory,
        # extra vars, a role in scope) win; the defaults of roles not in scope fill in.
        available = {}
        for _base, _options, defaults in loaded.values():
            available.update(defaults)
        available.update(task_vars)

        values, errors, tried = {}, [], set()
        for base, options, _defaults in loaded.values():
            templar = self._templar.copy_with_new_env(
                available_variables={**available, "role_path": base})
            for name in options:
                if name in tried or name not in available:
                    continue
                tried.add(name)
                try:
                    values[name] = templar.template(available[name])
                except AnsibleError as exc:
                    errors.append(f"{name}: cannot be worked out: {exc.message}")

        errors += _preflight.check({role: loaded[role][1] for role in roles}, values,
                                   (task_vars.get("ansible_facts") or {}).get("rocm"),
                                   {name: self._templar.template(task_vars[name])
                                    for name in _preflight.REMOVED if name in task_vars})
        result.update(roles=roles, errors=errors, changed=False)
        if errors:
            result["failed"] = True
            result["msg"] = (f"The pre-flight refused {len(errors)} setting(s) of "
                             f"{task_vars.get('inventory_hostname')}; no host was changed: "
                             + " | ".join(errors))
        else:
            result["msg"] = f"{', '.join(roles)}: every input checked"
        return result
