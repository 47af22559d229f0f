"""The dkms_status filter on captured `dkms status` output (tests/fixtures/dkms/SOURCE.md):
what roles/rocm/tasks/verify.yml reads the amdgpu module's build state with."""

from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.filter.dkms_status import (
    FilterModule,
    dkms_status,
)
from ansible_collections.inferops.triton.plugins.module_utils.rocm._facts import (
    parse_dkms_status,
)

DKMS = Path(__file__).resolve().parents[3] / "fixtures" / "dkms"


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"dkms_status": dkms_status}


def test_an_installed_module_and_a_stale_added_one():
    entries = dkms_status((DKMS / "slash-installed-plus-added-amd64.txt").read_text())
    assert [(e["module"], e["version"], e["kernel"], e["arch"], e["status"])
            for e in entries] == [
        ("amdgpu", "6.10.5-2109964.24.04", "6.8.0-52-generic", "amd64", "installed"),
        ("amdgpu", "6.2.4-1664922.22.04", None, None, "added")]


def test_an_error_instead_of_a_status_lists_no_module():
    assert dkms_status((DKMS / "error-missing-dkms-conf.txt").read_text()) == []


@pytest.mark.parametrize("fixture", sorted(p.name for p in DKMS.glob("*.txt")))
def test_the_filter_gives_the_parser_s_answer(fixture):
    text = (DKMS / fixture).read_text()
    assert dkms_status(text) == parse_dkms_status(text)


@pytest.mark.parametrize("nothing", [None, ""])
def test_no_output_lists_no_module(nothing):
    # verify.yml feeds it stdout | default(''), which is empty where dkms is not installed
    assert dkms_status(nothing) == []
