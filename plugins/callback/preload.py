# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: preload
type: aggregate
short_description: Load once the plugins every task's worker would otherwise load again
version_added: 0.1.0
description:
  - C(ansible-playbook) runs each task on each host in a worker process forked from its own.
    A plugin that the parent process has not loaded is loaded in every worker anew - for
    connection, become, shell and lookup plugins that means parsing the plugin's
    documentation to learn its settings; for filters and tests (ansible-core's and this
    collection's), importing them and what they import. On a fleet that is paid per task
    and per host.
  - This callback loads those plugins once, in the parent, when the playbook starts, so every
    worker inherits them already loaded. It prints nothing and changes nothing else.
  - On the lab's four-node SSH fleet it took about a quarter off a no-op C(site.yml); see
    C(benchmarks/fleet_convergence.py).
  - Enable it with C(callbacks_enabled = inferops.triton.preload) in C(ansible.cfg).
requirements:
  - enabled in C(callbacks_enabled)
options:
  plugins:
    description:
      - The plugins to load, each as C(<type>:<fully qualified name>) with type one of
        C(connection), C(become), C(shell), C(lookup), C(filter), C(test) or C(action).
      - A Jinja filter or test loads the whole file it lives in, so
        C(filter:ansible.builtin.to_json) stands for ansible-core's core filters,
        C(filter:ansible.builtin.unique) for its set and math filters, and
        C(test:ansible.builtin.search) and C(test:ansible.builtin.file) for its core and
        file tests.
      - The filters of inferops.triton are loaded as well, always.
      - A name that does not resolve is skipped (shown at C(-vvv)).
    type: list
    elements: str
    default:
      - connection:ansible.builtin.ssh
      - connection:ansible.builtin.local
      - become:ansible.builtin.sudo
      - shell:ansible.builtin.sh
      - lookup:ansible.builtin.env
      - lookup:ansible.builtin.file
      - filter:ansible.builtin.to_json
      - filter:ansible.builtin.unique
      - test:ansible.builtin.search
      - test:ansible.builtin.file
    ini:
      - section: callback_preload
        key: plugins
    env:
      - name: ANSIBLE_CALLBACK_PRELOAD_PLUGINS
"""

import importlib
import os

from ansible.plugins import loader
from ansible.plugins.callback import CallbackBase

_LOADERS = {
    "connection": loader.connection_loader,
    "become": loader.become_loader,
    "shell": loader.shell_loader,
    "lookup": loader.lookup_loader,
    "filter": loader.filter_loader,
    "test": loader.test_loader,
    "action": loader.action_loader,
}
_FILTERS = "ansible_collections.inferops.triton.plugins.filter"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "inferops.triton.preload"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook):
        for entry in self.get_option("plugins") or []:
            kind, _sep, name = str(entry).partition(":")
            if kind not in _LOADERS or not name:
                self._display.warning(
                    f"inferops.triton.preload: {entry!r} is not <type>:<name> with type one "
                    f"of {', '.join(_LOADERS)}; skipped")
                continue
            # A plugin's settings are kept under the name it was asked for: a task asks for
            # ansible-core's own plugins by short name (become_method: sudo) or by FQCN.
            names = [name]
            if name.startswith("ansible.builtin.") and kind not in ("filter", "test"):
                names.append(name[len("ansible.builtin."):])
            for each in names:
                try:
                    found = _LOADERS[kind].get(each, class_only=True)
                except Exception as exc:  # a plugin that fails to load fails again in the task
                    found, why = None, exc
                else:
                    why = "not found"
                if found is None:
                    self._display.vvv(f"inferops.triton.preload: {kind}:{each}: {why}; skipped")
        for stem in self._collection_filters():
            try:
                importlib.import_module(f"{_FILTERS}.{stem}")
            except Exception as exc:  # the task that uses it reports the error
                self._display.vvv(f"inferops.triton.preload: filter {stem}: {exc}; skipped")

    @staticmethod
    def _collection_filters():
        try:
            package = importlib.import_module(_FILTERS)
        except ImportError:
            return []
        names = []
        for directory in getattr(package, "__path__", []):
            names.extend(name[:-3] for name in sorted(os.listdir(directory))
                         if name.endswith(".py") and not name.startswith("_"))
        return names
