"""Registry references, digests and the registry's answers, parsed from real Docker outputs
captured in the lab (tests/fixtures/docker/SOURCE.md)."""

import json
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.image._image import (
    PUSH_DIGEST_RE,
    ImageError,
    archive_name,
    registry_config_digest,
    repo_digest,
    split_ref,
    summary,
)

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "docker"
AMD = "rocm/tritoninferenceserver:tritoninferenceserver-25.12.amd1_rocm7.2_ubuntu24.04_py3.12"


@pytest.mark.parametrize("ref, expected", [
    (AMD, ("docker.io", "rocm/tritoninferenceserver",
           "tritoninferenceserver-25.12.amd1_rocm7.2_ubuntu24.04_py3.12")),
    ("debian:12", ("docker.io", "debian", "12")),
    ("debian", ("docker.io", "debian", "latest")),
    ("inferops-lab-registry:5000/t/deb:12", ("inferops-lab-registry:5000",
                                             "inferops-lab-registry:5000/t/deb", "12")),
    ("registry.example.com/inferops/tritonserver", ("registry.example.com",
                                                    "registry.example.com/inferops/tritonserver",
                                                    "latest")),
    ("localhost/ubuntu24.04_rocm7.2", ("localhost", "localhost/ubuntu24.04_rocm7.2", "latest")),
    ("rocm/x@sha256:" + "a" * 64, ("docker.io", "rocm/x", "@sha256:" + "a" * 64)),
])
def test_split_ref_follows_dockers_registry_rule(ref, expected):
    assert split_ref(ref) == expected


@pytest.mark.parametrize("ref, name", [
    ("inferops/tritonserver:cpu", "inferops_tritonserver_cpu.tar.gz"),
    ("inferops-lab-registry:5000/t/deb:12", "inferops-lab-registry_5000_t_deb_12.tar.gz"),
    ("rocm/x:7.2@sha256:" + "a" * 64, "rocm_x_7.2_sha256_" + "a" * 64 + ".tar.gz"),
    (AMD, "rocm_tritoninferenceserver_tritoninferenceserver-25.12.amd1_rocm7.2_ubuntu24.04_py3.12"
          ".tar.gz"),
    ("debian", "debian.tar.gz"),
])
def test_an_archive_is_named_after_the_whole_reference_in_one_path_component(ref, name):
    assert archive_name(ref) == name
    assert "/" not in archive_name(ref)


def test_the_digest_of_a_pulled_image_is_read_from_repo_digests():
    image = json.loads((FIXTURES / "image-inspect-pulled-20.10.json").read_text())[0]
    digest = ("inferops-lab-registry:5000/t/deb@sha256:"
              "a93c63db1af487008bf126f3ab7f426deccb7855ad28a137c690656ed3852055")
    assert repo_digest(image, "inferops-lab-registry:5000/t/deb:12") == digest
    assert repo_digest(image, "inferops-lab/debian:12") is None  # never pushed under that name
    assert summary(image)["id"] == image["Id"]
    assert summary(image)["repo_digests"] == [digest]
    assert summary(None) is None


def test_the_push_digest_line_is_found():
    text = (FIXTURES / "push-20.10.txt").read_text()
    assert PUSH_DIGEST_RE.findall(text) == [
        "sha256:a93c63db1af487008bf126f3ab7f426deccb7855ad28a137c690656ed3852055"]


def replay(path, rc):
    """The Docker CLI's recorded answer to one call, as run_command would return it."""
    text = (FIXTURES / path).read_text()
    return lambda args, data=None: (rc, text, "") if rc == 0 else (rc, "", text)


def test_the_registry_image_id_is_the_manifests_config_digest():
    image = json.loads((FIXTURES / "image-inspect-pulled-20.10.json").read_text())[0]
    found = registry_config_digest(replay("manifest-inspect-20.10.json", 0), "r:5000/t/other:1")
    assert found == image["Id"]


def test_a_tag_the_registry_lacks_is_none_and_other_failures_raise():
    assert registry_config_digest(replay("manifest-inspect-missing-20.10.txt", 1), "r/x:1") is None

    def refused(args, data=None):
        return 1, "", ('Get "https://inferops-lab-registry:5000/v2/t/deb/manifests/12": '
                       "no basic auth credentials")
    with pytest.raises(ImageError, match="no basic auth credentials"):
        registry_config_digest(refused, "inferops-lab-registry:5000/t/deb:12")
