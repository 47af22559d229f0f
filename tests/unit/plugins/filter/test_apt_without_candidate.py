"""The apt_without_candidate filter, what roles/rocm/tasks/validate.yml finds the running
kernel's missing header packages with, on captured `apt-cache policy` output
(tests/fixtures/apt/SOURCE.md)."""

from pathlib import Path

from ansible_collections.inferops.triton.plugins.filter.apt_without_candidate import (
    FilterModule,
    apt_without_candidate,
)

APT = Path(__file__).resolve().parents[3] / "fixtures" / "apt"


def result(item, fixture):
    """One iteration of the role's `apt-cache policy <item>` loop, as Ansible registers it."""
    stdout = (APT / fixture).read_text()
    return {"item": item, "rc": 0, "changed": False, "stdout": stdout.rstrip("\n"),
            "stdout_lines": stdout.splitlines(), "stderr": "", "stderr_lines": []}


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"apt_without_candidate": apt_without_candidate}


def test_the_packages_no_source_offers():
    results = [result("linux-headers-amd64", "policy-debian12-candidate.stdout"),
               result("awk", "policy-debian12-virtual.stdout"),
               result("linux-headers-6.18.44-fc-v1272", "policy-debian12-unknown.stdout")]
    assert apt_without_candidate(results) == ["awk", "linux-headers-6.18.44-fc-v1272"]


def test_skipped_iterations_are_left_out():
    skipped = {"item": "linux-headers-6.8.0-44-generic", "skipped": True, "changed": False,
               "false_condition": "rocm_dkms", "skip_reason": "Conditional result was False"}
    assert apt_without_candidate([skipped]) == []
    assert apt_without_candidate(None) == []


def test_every_package_offered_is_none_missing():
    assert apt_without_candidate(
        [result("linux-headers-amd64", "policy-debian12-candidate.stdout")]) == []
