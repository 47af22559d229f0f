"""image_provenance gives, on the controller, the provenance triton_image labels an image
with, so the role can tell a current host without copying the context to it."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter.image_provenance import image_provenance
from ansible_collections.inferops.triton.plugins.module_utils.image._image import provenance_hash


def test_the_filter_gives_the_module_s_provenance(tmp_path):
    archive = tmp_path / "context.tar"
    archive.write_bytes(b"a reproducible build context")
    labels = {"org.inferops.triton.flavour": "cpu", "org.inferops.triton.python-version": 3.11}
    assert image_provenance(str(archive), labels) == provenance_hash(
        b"a reproducible build context", {},
        {"org.inferops.triton.flavour": "cpu", "org.inferops.triton.python-version": "3.11"})


def test_a_label_or_a_byte_changes_it(tmp_path):
    archive = tmp_path / "context.tar"
    archive.write_bytes(b"one")
    first = image_provenance(str(archive), {"a": "1"})
    assert image_provenance(str(archive), {"a": "2"}) != first
    archive.write_bytes(b"two")
    assert image_provenance(str(archive), {"a": "1"}) != first


def test_a_missing_archive_is_named(tmp_path):
    with pytest.raises(AnsibleFilterError, match=r"cannot read the context archive .*missing.tar"):
        image_provenance(str(tmp_path / "missing.tar"))
