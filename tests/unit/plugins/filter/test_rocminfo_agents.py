"""The rocminfo_agents filter on captured rocminfo output (tests/fixtures/rocminfo/SOURCE.md):
what roles/rocm/tasks/verify.yml reads the host's GPU agents with."""

from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.filter.rocminfo_agents import (
    FilterModule,
    rocminfo_agents,
)
from ansible_collections.inferops.triton.plugins.module_utils.rocm._facts import parse_rocminfo

ROCMINFO = Path(__file__).resolve().parents[3] / "fixtures" / "rocminfo"


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"rocminfo_agents": rocminfo_agents}


def test_the_gpu_agents_of_a_captured_mi300x_host():
    agents = rocminfo_agents((ROCMINFO / "mi300x-4gpu.txt").read_text())
    gpus = [agent for agent in agents if agent["device_type"] == "GPU"]
    assert [gpu["name"] for gpu in gpus] == ["gfx942"] * 4
    assert {gpu["marketing_name"] for gpu in gpus} == {"AMD Instinct MI300X"}
    assert {gpu["compute_units"] for gpu in gpus} == {304}


@pytest.mark.parametrize("fixture", ["not-loaded-oneline.txt", "container-no-dev-kfd.txt",
                                     "loaded-but-hsa-failure-rx560.txt"])
def test_a_host_whose_driver_did_not_answer_has_no_gpu_agent(fixture):
    agents = rocminfo_agents((ROCMINFO / fixture).read_text())
    assert [agent for agent in agents if agent["device_type"] == "GPU"] == []


@pytest.mark.parametrize("fixture", sorted(p.name for p in ROCMINFO.glob("*.txt")))
def test_the_filter_gives_the_parser_s_answer(fixture):
    text = (ROCMINFO / fixture).read_text()
    assert rocminfo_agents(text) == parse_rocminfo(text)


@pytest.mark.parametrize("nothing", [None, ""])
def test_no_output_is_no_agent(nothing):
    # verify.yml feeds it stdout, which a skipped or failed command may leave empty
    assert rocminfo_agents(nothing) == []
