"""The model_names filter: triton_models' names in order, each checked by the one rule for a
model's directory name; the lead's wiring of the server gate and the benchmark sweep uses it."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter.model_names import (
    FilterModule,
    model_names,
)
from ansible_collections.inferops.triton.plugins.module_utils.models._repository import (
    MODEL_NAME_RULE,
)


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"model_names": model_names}


def test_the_names_in_the_entries_order():
    models = [{"name": "resnet50-next", "config": {}, "versions": []},
              {"name": "resnet50", "accelerator": {"name": "migraphx"}},
              {"name": "densenet_onnx.v2"}]
    assert model_names(models) == ["resnet50-next", "resnet50", "densenet_onnx.v2"]


@pytest.mark.parametrize("nothing", [None, []])
def test_no_models_no_names(nothing):
    assert model_names(nothing) == []


def test_every_bad_name_is_one_error_with_its_index_and_the_rule():
    models = [{"name": "resnet50"}, {"name": "../etc"}, {"config": {}}, "resnet50",
              {"name": "a\nb"}]
    with pytest.raises(AnsibleFilterError) as err:
        model_names(models)
    assert str(err.value) == "invalid model names: " + "; ".join([
        "models[1] ('../etc'): name '../etc' is not a model directory name: it is a path, not "
        f"a single directory name; {MODEL_NAME_RULE}",
        "models[2] (None): name None is not a model directory name: it is not a string; "
        f"{MODEL_NAME_RULE}",
        "models[3] (None): name None is not a model directory name: it is not a string; "
        f"{MODEL_NAME_RULE}",
        "models[4] ('a\\nb'): name 'a\\nb' is not a model directory name: it contains '\\n'; "
        f"{MODEL_NAME_RULE}"])


def test_a_mapping_instead_of_a_list_is_named():
    with pytest.raises(AnsibleFilterError, match=r"models must be a list of entries with a "
                                                 r"name, got dict"):
        model_names({"name": "resnet50"})
