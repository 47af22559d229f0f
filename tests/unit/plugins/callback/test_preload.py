"""The preload callback loads, in the process it runs in, what forked workers would
otherwise load again: plugin settings (parsed from each plugin's documentation) and the
collection's filter modules. Run in a fresh Python with ansible-core's plugin loader set up
as ansible-playbook sets it up (init_plugin_loader), so nothing is loaded beforehand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[4] / "build" / "collections"

SCRIPT = """
import json, sys
from ansible import constants as C
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible_collections.inferops.triton.plugins.callback import preload
import yaml

def known(kind, name):
    # by the short name a task may use, and by the FQCN
    return (C.config.has_configuration_definition(kind, name)
            and C.config.has_configuration_definition(
                kind, "ansible_collections.ansible.builtin.plugins.%s.%s" % (kind, name)))

def state():
    return {
        "ssh": known("connection", "ssh"),
        "sudo": known("become", "sudo"),
        "env": known("lookup", "env"),
        "filters": sorted(n.rsplit(".", 1)[1] for n in sys.modules
                          if n.startswith(preload._FILTERS + ".")),
    }

callback = preload.CallbackModule()
warnings = []
callback._display.warning = warnings.append
options = {"plugins": json.loads(sys.argv[2])}
callback.get_option = options.get
before = state()
callback.v2_playbook_on_start(None)
defaults = yaml.safe_load(preload.DOCUMENTATION)["options"]["plugins"]["default"]
unresolved = [entry for entry in defaults
              if preload._LOADERS[entry.split(":")[0]].get(entry.split(":", 1)[1],
                                                          class_only=True) is None]
print(json.dumps({"before": before, "after": state(), "warnings": warnings,
                  "unresolved_defaults": unresolved}))
"""


def run(plugins):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(COLLECTIONS), json.dumps(plugins)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_it_loads_plugin_settings_and_the_collections_filters():
    out = run(["connection:ansible.builtin.ssh", "become:ansible.builtin.sudo",
               "lookup:ansible.builtin.env", "lookup:no.such.plugin", "nonsense"])
    assert out["before"] == {"ssh": False, "sudo": False, "env": False, "filters": []}
    assert out["after"]["ssh"] and out["after"]["sudo"] and out["after"]["env"]
    assert {"model_configs", "model_signatures", "triton_server"} <= set(
        out["after"]["filters"])
    # a malformed entry is named in a warning; a name that does not resolve is skipped
    assert len(out["warnings"]) == 1
    assert "'nonsense' is not <type>:<name>" in out["warnings"][0]


def test_its_defaults_name_plugins_that_exist():
    assert run([])["unresolved_defaults"] == []
