"""The triton_server role's filters wrap module_utils/server: the role's YAML calls them and
restates none of their rules; each filter has its documentation beside the plugin."""

from pathlib import Path

import pytest
import yaml

from ansible_collections.inferops.triton.plugins.filter import triton_server as plugin

FILTERS = plugin.FilterModule().filters()
DOCS = Path(plugin.__file__).parent


def test_the_header_goes_only_with_restricted_apis():
    headers = FILTERS["triton_api_headers"]
    assert headers(["model-repository"], "Triton-Admin-Key", "s3cret") == {
        "Triton-Admin-Key": "s3cret"}
    assert headers([], "Triton-Admin-Key", "s3cret") == {}
    assert headers(None, "Triton-Admin-Key", "s3cret") == {}
    # an unset value (the role's default, or none at all) is sent empty, never as "None"
    assert headers(["health"], "infer-key", None) == {"infer-key": ""}
    assert headers(["health"]) == {"Triton-Admin-Key": ""}


def test_the_plan_filter_reads_booleans_as_ansible_does():
    plan = FILTERS["triton_server_plan"]
    assert plan("none", image_changed="False", repository_changed="yes")["restart"] is True
    assert plan("explicit", repository_changed=True)["restart"] is False
    assert plan("explicit", repository_changed=True, changed_models=["m"]) == {
        "restart": False, "serves_changed": True, "loads": ["m"], "unloads": [],
        "gate_in_service": False}
    assert plan("none") == {"restart": False, "serves_changed": False, "loads": [],
                            "unloads": [], "gate_in_service": True}


def test_the_refusals_filter_takes_the_loops_results():
    refused = FILTERS["triton_api_refusals"]
    result = {"item": [{"unit": "triton-server"}, "bert"], "status": 400,
              "json": {"error": "no such model"}}
    assert refused([result]) == ["bert: no such model"]
    assert refused([result], "2") == ["bert on triton-server: no such model"]
    assert refused(None) == []


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_is_documented(name):
    doc = yaml.safe_load((DOCS / f"{name}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    assert doc["EXAMPLES"].strip() and doc["RETURN"]["_value"]["description"]


def test_the_journal_filter_is_the_module_s_rule():
    from ansible_collections.inferops.triton.plugins.module_utils.server._service import (
        journal_errors,
    )

    text = (Path(__file__).resolve().parents[3] / "fixtures" / "journal" /
            "wrong-output-name.txt").read_text()
    errors = FILTERS["triton_journal_errors"](text)
    assert errors == journal_errors(text) and "error: creating server: Internal - failed to " \
        "load all models" in errors
    assert FILTERS["triton_journal_errors"](text, 1) == errors[:1]
    assert FILTERS["triton_journal_errors"](None) == []


def test_the_instances_filter_places_the_servers_as_the_service_module_does():
    from ansible.errors import AnsibleFilterError

    from ansible_collections.inferops.triton.plugins.module_utils.rocm._facts import read_host

    place = FILTERS["triton_server_instances"]
    cpu = place("none", "triton-server", 8000, "8001", 8002, 10)
    assert [(s["unit"], s["gpus"], s["ports"]) for s in cpu] == [
        ("triton-server.service", [], {"http": 8000, "grpc": 8001, "metrics": 8002})]
    rocm = read_host(str(Path(__file__).parents[3] / "fixtures" / "kfd" / "mi210-8gpu-xgmi"))
    rocm.update(kfd_device=True, render_gid=992, video_gid=44)
    per_gpu = place("per_gpu", "triton-server", 8000, 8001, 8002, 10, [0, 3], rocm)
    assert [(s["unit"], s["gpus"], s["ports"]["metrics"]) for s in per_gpu] == [
        ("triton-server@0.service", [0], 8002), ("triton-server@3.service", [3], 8012)]
    with pytest.raises(AnsibleFilterError, match="triton_server_gpu_indices: .*valid indices"):
        place("per_gpu", "triton-server", 8000, 8001, 8002, 10, [9], rocm)


def test_the_instances_filter_is_documented():
    doc = yaml.safe_load((DOCS / "triton_server_instances.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == "triton_server_instances"
