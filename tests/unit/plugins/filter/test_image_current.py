"""The image_current filter, what roles/triton_image decides a converged fleet with: every
host's image_info result holds the image with the provenance the controller's context gives."""

import json
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.filter.image_current import (
    FilterModule,
    image_current,
)
from ansible_collections.inferops.triton.plugins.module_utils.image._image import (
    PROVENANCE_LABEL,
    summary,
)

REF = "inferops/tritonserver:cpu"
CURRENT = "sha256:0c5dd14f62168874ab"


def held(provenance, ref=REF):
    """An image_info result (the module's return) for a host holding ``ref``."""
    return {"changed": False, "images": {ref: {
        "id": "sha256:" + "2f" * 32, "repo_tags": [ref], "repo_digests": [],
        "labels": {PROVENANCE_LABEL: provenance, "org.inferops.triton.flavour": "cpu"},
        "created": "2026-11-25T12:00:00.000000000Z"}}}


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"image_current": image_current}


def test_every_host_holds_the_current_image():
    assert image_current([held(CURRENT), held(CURRENT)], REF, CURRENT) is True


@pytest.mark.parametrize("other", [
    held("sha256:older"),  # built from another context
    {"changed": False, "images": {REF: None}},  # the host has no such image
    held(CURRENT, ref="inferops/tritonserver:other"),
    {"skipped": True, "changed": False},  # the host did not read its images
    {},  # the variable was not set for the host
])
def test_one_host_without_it_makes_the_fleet_not_current(other):
    assert image_current([held(CURRENT), other], REF, CURRENT) is False


def test_an_image_without_a_provenance_label_is_not_current():
    # a real image (docker image inspect, tests/fixtures/docker/SOURCE.md) has labels, none ours
    inspect = json.loads((Path(__file__).resolve().parents[3] / "fixtures" / "docker"
                          / "image-inspect-pulled-20.10.json").read_text())[0]
    ref = inspect["RepoTags"][0]
    assert image_current([{"images": {ref: summary(inspect)}}], ref, CURRENT) is False


@pytest.mark.parametrize("provenance", ["", None])
def test_without_a_provenance_to_compare_nothing_is_current(provenance):
    assert image_current([held(CURRENT)], REF, provenance) is False
