"""The model_configs filter, what roles/model_repository/tasks/validate.yml renders each host's
triton_models with: the pbtxt the schema walk makes, and every mistake of every model in one
Ansible error."""

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter.model_configs import (
    FilterModule,
    model_configs,
)
from ansible_collections.inferops.triton.plugins.module_utils.models._config_controller import (
    render_model_config,
)

# a text classifier's shape: one INT64 token input of variable length, one FP32 output
ENTRY = {
    "name": "classifier",
    "config": {"max_batch_size": 4,
               "input": [{"name": "ids", "data_type": "TYPE_INT64", "dims": [-1]}],
               "output": [{"name": "logits", "data_type": "TYPE_FP32", "dims": [2]}]},
    "instances_per_gpu": 1,
    "versions": [{"version": 1, "path": "/models/classifier.onnx"}],
}


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"model_configs": model_configs}


@pytest.mark.parametrize("flavour, backend, kind", [("rocm", "onnxruntime", "KIND_GPU"),
                                                    ("cpu", "onnxruntime_cpu", "KIND_CPU")])
def test_each_model_is_rendered_with_its_name_index_and_versions(flavour, backend, kind):
    other = dict(copy.deepcopy(ENTRY), name="classifier-next")
    rendered = model_configs([ENTRY, other], default_backend=backend, flavour=flavour,
                             gpus=[0], repository_paths=["/var/lib/inferops-triton/models"])
    assert [(m["name"], m["index"], m["versions"]) for m in rendered] == [
        ("classifier", 0, ENTRY["versions"]), ("classifier-next", 1, ENTRY["versions"])]
    assert rendered[0]["pbtxt"] == render_model_config(0, ENTRY, backend, flavour, [0])
    assert f'backend: "{backend}"\n' in rendered[0]["pbtxt"]
    assert f"kind: {kind}" in rendered[0]["pbtxt"]


def test_every_mistake_is_one_ansible_error_naming_each_model():
    typo = copy.deepcopy(ENTRY)
    typo["config"]["max_batch_sise"] = 8
    with pytest.raises(AnsibleFilterError) as err:
        model_configs([typo, dict(copy.deepcopy(ENTRY), name="../etc")], "onnxruntime", gpus=[0])
    message = str(err.value)
    assert message.startswith("invalid triton_models:\n")
    assert "triton_models[0] (classifier)" in message and "max_batch_sise" in message
    assert "triton_models[1]" in message and "'../etc'" in message


def test_triton_models_that_is_not_a_list_is_named():
    with pytest.raises(AnsibleFilterError, match=r"triton_models must be a list"):
        model_configs({"name": "classifier"})
