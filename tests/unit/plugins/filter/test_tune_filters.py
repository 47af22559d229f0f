"""The tune filters as plays call them: tuned_models reads the directory and says what it
applied, a bad tuned file is an AnsibleFilterError naming it; tune_target and
tune_canary_refusal give the module_utils' answers."""

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter.tune import FilterModule

FILTERS = FilterModule().filters()
ROOT = Path(__file__).resolve().parents[4]
IMAGE_ID = "sha256:" + "a" * 64
RECORD = {"format": 1, "model": "resnet50", "target": "cpu",
          "image": {"ref": "inferops/tritonserver:cpu", "id": IMAGE_ID},
          "values": {"instance_count": 2}}


def models():
    text = (ROOT / "inventory" / "demo" / "group_vars" / "triton_nodes.yml").read_text()
    return yaml.safe_load(text)["triton_models"]


def test_tuned_models_reads_the_directory_and_says_what_it_applied(tmp_path):
    (tmp_path / "resnet50").mkdir()
    (tmp_path / "resnet50" / "cpu.yml").write_text(yaml.safe_dump(RECORD))
    tuning = FILTERS["tuned_models"](models(), str(tmp_path), "cpu", image_id=IMAGE_ID)
    assert tuning["models"][0]["config"]["instance_group"][0]["count"] == 2
    assert tuning["messages"] == [f"resnet50: the tuned configuration {tmp_path}/resnet50/"
                                  "cpu.yml applies (instance_count=2)"]
    # no directory: the inventory's models, nothing said
    none = FILTERS["tuned_models"](models(), str(tmp_path / "absent"), "cpu")
    assert none["models"] == models() and none["messages"] == []


def test_a_bad_tuned_file_fails_the_filter_naming_it(tmp_path):
    (tmp_path / "resnet50").mkdir()
    (tmp_path / "resnet50" / "cpu.yml").write_text(yaml.safe_dump(dict(RECORD, format=9)))
    with pytest.raises(AnsibleFilterError, match=f"tuned_models: {tmp_path}/resnet50/cpu.yml: "
                                                 "not a tuned file of format 1"):
        FILTERS["tuned_models"](models(), str(tmp_path), "cpu", image_id=IMAGE_ID)
    # a tuned value the entry cannot take
    (tmp_path / "resnet50" / "cpu.yml").write_text(yaml.safe_dump(
        dict(RECORD, values={"instance_count": 0})))
    with pytest.raises(AnsibleFilterError, match="instance_count: 0 is not a positive integer"):
        FILTERS["tuned_models"](models(), str(tmp_path), "cpu", image_id=IMAGE_ID)


def test_target_and_canary_rule():
    assert FILTERS["tune_target"]("rocm", {"gfx_targets": ["gfx942"]}) == "gfx942"
    with pytest.raises(AnsibleFilterError, match="tune_target: the host reports no GPU"):
        FILTERS["tune_target"]("rocm", {})
    assert FILTERS["tune_canary_refusal"](["a"], ["a", "b"]) is None
    assert "every host of the fleet (2)" in FILTERS["tune_canary_refusal"](["a", "b"], ["a", "b"])
