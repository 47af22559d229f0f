"""The gpu_exporter role's filters: Ansible's errors around module_utils/monitoring/
_exporter_controller, which tests/unit/plugins/module_utils/monitoring tests."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter.gpu_exporter import (
    FilterModule,
    gpu_exporter_plan,
    gpu_exporter_units,
)

FACTS = {"distribution": "Ubuntu", "distribution_version": "24.04"}
SETTINGS = {"method": "package", "port": 5000, "fields": [], "labels": [], "custom_labels": {},
            "common_config": {}, "gpu_config": {}, "version": "1.5.2",
            "repo_base_url": "http://127.0.0.1:18765", "keyring": "/etc/apt/keyrings/rocm.gpg"}


def test_the_filters_are_registered_under_their_names():
    assert FilterModule().filters() == {"gpu_exporter_plan": gpu_exporter_plan,
                                        "gpu_exporter_units": gpu_exporter_units}


def test_the_plan_of_the_role_s_defaults():
    plan = gpu_exporter_plan(SETTINGS, FACTS)
    assert plan["files"]["/etc/metrics/config.json"] == (
        '{\n  "ServerPort": 5000,\n  "GPUConfig": {\n    "Fields": [],\n    "Labels": []\n  }\n}\n')
    assert plan["repository"]["uri"] == \
        "http://127.0.0.1:18765/device-metrics-exporter/apt/1.5.2"


def test_a_bad_setting_is_the_play_s_error():
    with pytest.raises(AnsibleFilterError, match="gpu_exporter_labels: 'GPU'"):
        gpu_exporter_plan({**SETTINGS, "labels": ["GPU"]}, FACTS)
    with pytest.raises(AnsibleFilterError, match="expected the role's settings"):
        gpu_exporter_plan("package", FACTS)
    with pytest.raises(AnsibleFilterError, match="'snap' is not one of"):
        gpu_exporter_units("snap")


def test_the_units_for_the_rocm_role():
    assert gpu_exporter_units(["package", "container"])[0] == "amd-metrics-exporter.service"
