"""The image_tag filter, what roles/triton_image tags a pulled image with by default: the
pulled reference's tag, read as the image modules read a reference."""

import pytest

from ansible_collections.inferops.triton.plugins.filter.image_tag import FilterModule, image_tag

AMD = "rocm/tritoninferenceserver:tritoninferenceserver-25.12.amd1_rocm7.2_ubuntu24.04_py3.12"
DIGEST = "@sha256:" + "a" * 64


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"image_tag": image_tag}


@pytest.mark.parametrize("ref, tag", [
    (AMD, "tritoninferenceserver-25.12.amd1_rocm7.2_ubuntu24.04_py3.12"),  # the role's default
    ("inferops-lab-registry:5000/t/deb:12", "12"),  # a registry's port is not a tag
    ("inferops-lab-registry:5000/t/deb", "latest"),
    ("registry.example.com/inferops/tritonserver", "latest"),
    ("rocm/x:7.2" + DIGEST, "7.2"),  # a digest is not a tag
    ("rocm/x" + DIGEST, "latest"),
    ("", "latest"),
    (None, "latest"),
])
def test_the_tag_a_reference_names(ref, tag):
    assert image_tag(ref) == tag
