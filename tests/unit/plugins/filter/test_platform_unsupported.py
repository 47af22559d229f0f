"""The platform_unsupported filter, and the docker_engine role's check that calls it: the
role's vars file rendered by ansible-core's Templar as a play renders it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter import platform_unsupported as plugin

ROOT = Path(__file__).resolve().parents[4]
COLLECTIONS = ROOT / "build" / "collections"

RENDER = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

loader = DataLoader()
variables = loader.load_from_file(sys.argv[2], trusted_as_template=True)
answers = []
for facts in json.loads(sys.argv[3]):
    templar = Templar(loader=loader, variables=dict(variables, ansible_facts=facts))
    answers.append(templar.template(trust_as_template("{{ _docker_engine_unsupported }}")))
print(json.dumps(answers))
"""


def test_the_filter_is_registered_and_documented():
    assert plugin.FilterModule().filters() == {
        "platform_unsupported": plugin.platform_unsupported}
    doc = yaml.safe_load((Path(plugin.__file__).with_suffix(".yml")).read_text())
    assert doc["DOCUMENTATION"]["name"] == "platform_unsupported"
    examples = yaml.safe_load(doc["EXAMPLES"])
    assert examples and all(task.get("name") for task in examples)
    assert "inferops.triton.platform_unsupported" in doc["EXAMPLES"]


def test_a_supported_host_gives_an_empty_reason():
    facts = {"distribution": "Debian", "distribution_version": "12.7",
             "distribution_major_version": "12"}
    assert plugin.platform_unsupported(facts, "docker_engine") == ""


def test_facts_that_were_not_gathered_are_named():
    with pytest.raises(AnsibleFilterError, match="expected a host's ansible_facts"):
        plugin.platform_unsupported({}, "docker_engine")


def test_the_docker_engine_roles_check_refuses_what_the_rocm_role_refuses():
    facts = [{"distribution": "Ubuntu", "distribution_version": "24.04"},
             {"distribution": "Debian", "distribution_version": "12.7"},
             {"distribution": "Ubuntu", "distribution_version": "22.04"},
             {"distribution": "Debian", "distribution_version": "13.1"}]
    proc = subprocess.run(
        [sys.executable, "-c", RENDER, str(COLLECTIONS),
         str(ROOT / "roles" / "docker_engine" / "vars" / "main.yml"), json.dumps(facts)],
        capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout) == [
        "", "",
        "ansible_facts.distribution Ubuntu 22.04 is not supported by the docker_engine role; "
        "supported: Ubuntu 24.04, Debian 12",
        "ansible_facts.distribution Debian 13.1 is not supported by the docker_engine role; "
        "supported: Ubuntu 24.04, Debian 12"]
