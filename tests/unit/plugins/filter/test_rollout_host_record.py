"""The rollout role's record of a host (rollout_result), made by the filter
rollout_host_record from module_utils/rollout/_rollout_controller.host_record.

The role's own tasks (roles/rollout/tasks/main.yml) are rendered by ansible-core's Templar
as a play renders them, and compared with the Jinja the role held before the record moved
to Python (OLD_* below, copied from the role at 74aec12): the same record for a host that
updated, one that was already current, one rolled back and one whose rollback failed, plus
``passed``, the verdict batch.yml and playbooks/rollout.yml now read instead of restating
the list of passing outcomes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter import rollout as plugin
from ansible_collections.inferops.triton.plugins.module_utils.rollout._rollout_controller import (
    PASSED,
    RolloutError,
    host_record,
)

ROOT = Path(__file__).resolve().parents[4]
COLLECTIONS = ROOT / "build" / "collections"
TASKS = ROOT / "roles" / "rollout" / "tasks" / "main.yml"

# The role's Jinja before the move (roles/rollout/tasks/main.yml at 74aec12).
OLD_SWITCH = """{{ 'updated' if (triton_image_changed | default(false) | bool)
   or (model_repository_changed | default(false) | bool)
   or (_triton_server_service is changed) else 'current' }}"""
OLD_RECORD = {
    "host": "{{ inventory_hostname }}",
    "outcome": "{{ _rollout_outcome }}",
    "before": {"image": "{{ _rollout_point.image_ref | default(none) }}",
               "image_id": "{{ _rollout_point.image_id | default(none) }}"},
    "after": {
        "image": "{{ triton_server_restored.image_ref | default(none) if _rollout_back "
                 "else triton_image_ref | default(none) }}",
        "image_id": "{{ triton_server_restored.image_id | default(none) if _rollout_back "
                    "else triton_image_id | default(none) }}"},
    "image_changed": "{{ triton_image_changed | default(false) | bool }}",
    "models_changed": "{{ model_repository_changed_models | default([]) }}",
    "models_removed": "{{ model_repository_removed_models | default([]) }}",
    "error": "{{ _rollout_error or none }}",
    "rollback_error": "{{ _rollout_rollback_error or none }}",
    "started": "{{ _rollout_started }}",
}
OLD_BACK = "{{ _rollout_outcome in ['rolled back', 'rollback failed'] }}"

RENDER = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

def trusted(value):
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    return trust_as_template(value) if isinstance(value, str) else value

tasks, old, cases = json.loads(sys.argv[2])
switch = next(t for t in tasks if t["name"] == "Switch to the new version and gate it")
note = next(t for t in switch["block"] if t["name"].startswith("Note the switch"))
record = next(t for t in tasks if t["name"] == "Record what the rollout did here")
answers = []
for case in cases:
    variables = dict(case["vars"])
    new = Templar(loader=DataLoader(), variables=variables)
    if case["stage"] == "switched":
        variables.update(new.template(trusted(note["ansible.builtin.set_fact"])))
    else:
        variables.update(_rollout_stage=case["stage"], _rollout_changed={})
    new = Templar(loader=DataLoader(), variables=variables)
    got = new.template(trusted(record["ansible.builtin.set_fact"]["rollout_result"]))
    before = dict(case["vars"])
    outcome = case["stage"]
    if outcome == "switched":
        outcome = Templar(loader=DataLoader(), variables=before).template(trusted(old["switch"]))
    before.update(_rollout_outcome=outcome)
    before.update(_rollout_back=Templar(loader=DataLoader(), variables=before).template(
        trusted(old["back"])))
    want = Templar(loader=DataLoader(), variables=before).template(trusted(old["record"]))
    answers.append({"new": got, "old": want})
print(json.dumps(answers))
"""

POINT = {"changed": True, "image_ref": "inferops/tritonserver:cpu",
         "image_id": "sha256:8494fb1a8a9be983e48730f55f0b5f6f076605b315e6deb46aed14a7f89cf0fd"}
NEW_ID = "sha256:7e273b6fdab5e4318a7c328b27d701d27cc7cf5adf80b4b782fb36fccffa2905"
BASE = {"inventory_hostname": "inferops-fleet-node1", "_rollout_point": POINT,
        "_rollout_started": "2026-12-02T13:43:46Z", "_rollout_error": "",
        "_rollout_rollback_error": ""}
CASES = {
    "updated": {"stage": "switched", "vars": dict(
        BASE, triton_image_ref="inferops/tritonserver:cpu-2", triton_image_id=NEW_ID,
        triton_image_changed=True, model_repository_changed=False,
        model_repository_changed_models=[], model_repository_removed_models=[],
        _triton_server_service={"changed": True})},
    "models only": {"stage": "switched", "vars": dict(
        BASE, triton_image_ref="inferops/tritonserver:cpu", triton_image_id=POINT["image_id"],
        triton_image_changed=False, model_repository_changed=True,
        model_repository_changed_models=["resnet50"], model_repository_removed_models=["old"],
        _triton_server_service={"changed": False})},
    "current": {"stage": "switched", "vars": dict(
        BASE, triton_image_ref="inferops/tritonserver:cpu", triton_image_id=POINT["image_id"],
        triton_image_changed=False, model_repository_changed=False,
        _triton_server_service={"changed": False})},
    "rolled back": {"stage": "rolled back", "vars": dict(
        BASE, triton_image_ref="inferops/tritonserver:cpu-2", triton_image_id=NEW_ID,
        triton_image_changed=True,
        triton_server_restored={"image_ref": POINT["image_ref"], "image_id": POINT["image_id"]},
        _rollout_error="Run the server on it and gate: model resnet50 is not READY")},
    # the switch failed before the image role set its facts, and so did the rollback
    "rollback failed": {"stage": "rollback failed", "vars": dict(
        BASE, _rollout_error="Make sure of the new image: pull refused",
        _rollout_rollback_error="Gate the old version: not ready")},
}


@pytest.fixture(scope="module")
def rendered():
    tasks = yaml.safe_load(TASKS.read_text())
    old = {"switch": OLD_SWITCH, "back": OLD_BACK, "record": OLD_RECORD}
    proc = subprocess.run(
        [sys.executable, "-c", RENDER, str(COLLECTIONS),
         json.dumps([tasks, old, list(CASES.values())])],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(zip(CASES, json.loads(proc.stdout)))


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_roles_record_is_the_one_its_jinja_made(rendered, case):
    new, old = dict(rendered[case]["new"]), rendered[case]["old"]
    assert new.pop("ended")  # a timestamp now(), taken a moment apart in the two renders
    assert new.pop("passed") is (new["outcome"] in PASSED)
    assert new == old


def test_the_outcomes_and_verdicts(rendered):
    assert {case: (rendered[case]["new"]["outcome"], rendered[case]["new"]["passed"])
            for case in CASES} == {
        "updated": ("updated", True), "models only": ("updated", True),
        "current": ("current", True), "rolled back": ("rolled back", False),
        "rollback failed": ("rollback failed", False)}
    assert rendered["rolled back"]["new"]["after"] == {"image": POINT["image_ref"],
                                                       "image_id": POINT["image_id"]}


def test_an_unknown_stage_is_refused_naming_the_host():
    with pytest.raises(RolloutError, match="node1: the rollout stage 'done' is not one of "
                                           "switched, rolled back, rollback failed"):
        host_record("done", "node1")
    with pytest.raises(AnsibleFilterError, match="rollout_host_record: .*'done'"):
        plugin.rollout_host_record("done", host="node1")


def test_changed_flags_are_read_as_ansible_reads_booleans():
    assert host_record("switched", "a", changed={"image": "no", "server": "false"})[
        "outcome"] == "current"
    assert host_record("switched", "a", changed={"models": "yes"})["outcome"] == "updated"


def test_a_record_summarizes():
    record = host_record("switched", "a", changed={"image": True}, before=POINT,
                         switched={"image_ref": "x:2", "image_id": NEW_ID})
    summary = plugin.rollout_summary(["a"], {"a": record})
    assert summary["hosts"][0]["passed"] is True
    assert summary["lines"][1] == ("a: updated; inferops/tritonserver:cpu (8494fb1a8a9b) -> "
                                   "x:2 (7e273b6fdab5)")
