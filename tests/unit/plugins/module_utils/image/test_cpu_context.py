"""The CPU flavour's context inputs (image/_cpu_context_controller.py): which backend files
count, how a text is hashed, and the exact JSON text whose sha256 is the identity. That the
value is the one the role's former Jinja gave is shown against Ansible itself in
tests/unit/plugins/filter/test_triton_image_filters.py."""

import hashlib
import os

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.image._cpu_context_controller import (
    backend_files,
    cpu_inputs,
    file_text,
    text_sha256,
)

REQUIREMENTS = "numpy==2.2.6 \\\n    --hash=sha256:" + "0" * 64
DOCKERFILE = "FROM debian:12\n"
PLATFORMS = ["manylinux_2_35_x86_64", "manylinux2014_x86_64"]
LABELS = {"org.inferops.triton.flavour": "cpu", "org.inferops.triton.base-image": "debian:12"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def adapter_tree(root):
    adapter = root / "onnxruntime_cpu" / "model.py"
    adapter.parent.mkdir(parents=True)
    adapter.write_text("import onnxruntime\n")
    return adapter


def inputs(root, **changes):
    given = {"requirements": REQUIREMENTS, "dockerfile": DOCKERFILE, "python": "3.11",
             "platforms": PLATFORMS, "labels": LABELS, **changes}
    return cpu_inputs(str(root), given["requirements"], given["dockerfile"], given["python"],
                      given["platforms"], given["labels"])


def test_the_identity_is_the_sha256_of_this_json_text(tmp_path):
    adapter_tree(tmp_path)
    labels = {"z": "last key first", "a": "Triton \u2013 CPU"}
    # Keys in the order given (not sorted), json.dumps' separators, ASCII only: Ansible's
    # to_json, which the stamps on controllers were made with.
    text = (
        '{"requirements": "' + sha(REQUIREMENTS.encode()) + '", '
        '"backends": {"onnxruntime_cpu/model.py": "' + sha(b"import onnxruntime") + '"}, '
        '"dockerfile": "' + sha(DOCKERFILE.encode()) + '", '
        '"python": "3.11", '
        '"platforms": ["manylinux_2_35_x86_64", "manylinux2014_x86_64"], '
        '"labels": {"z": "last key first", "a": "Triton \\u2013 CPU"}}'
    )
    assert inputs(tmp_path, labels=labels) == sha(text.encode())


def test_a_number_is_hashed_as_a_number(tmp_path):
    adapter_tree(tmp_path)
    assert inputs(tmp_path, python=3.12) != inputs(tmp_path, python="3.12")


def test_every_input_counts(tmp_path):
    adapter = adapter_tree(tmp_path)
    first = inputs(tmp_path)
    assert len(first) == 64 and first == inputs(tmp_path)
    for changed in ({"requirements": REQUIREMENTS + "x"}, {"dockerfile": DOCKERFILE + "USER 1000"},
                    {"python": "3.12"}, {"platforms": PLATFORMS[:1]},
                    {"labels": {**LABELS, "extra": "1"}}):
        assert inputs(tmp_path, **changed) != first, changed
    adapter.write_text("import onnxruntime as ort\n")
    assert inputs(tmp_path) != first
    adapter.write_text("import onnxruntime\n")
    (tmp_path / "onnxruntime_cpu" / "util.py").write_text("")  # a new, empty file counts too
    assert inputs(tmp_path) != first


def test_what_does_not_count(tmp_path):
    adapter = adapter_tree(tmp_path)
    first = inputs(tmp_path)
    # bytecode left by an import, anywhere
    for cache in (adapter.parent / "__pycache__", tmp_path / "__pycache__" / "deeper"):
        cache.mkdir(parents=True)
        (cache / "model.cpython-311.pyc").write_bytes(b"\0")
    # symbolic links, to a file or a directory (not followed)
    os.symlink(adapter, tmp_path / "link.py")
    os.symlink(adapter.parent, tmp_path / "linked-dir")
    # empty directories, times and modes
    (tmp_path / "empty").mkdir()
    os.utime(adapter, (0, 0))
    adapter.chmod(0o755)
    # trailing whitespace, as ansible.builtin.file strips it
    adapter.write_text("import onnxruntime\n\n \t\n")
    assert inputs(tmp_path) == first


def test_backend_files_sorted_as_jinja_sorts_them_ignoring_case(tmp_path):
    for relative in ("b.py", "Zeta/upper.py", "alpha/lower.py", "B2.txt", "alpha/x/deep.py",
                     "__pycache__/a.pyc", "alpha/__pycache__/lower.cpython-311.pyc"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relative)
    assert backend_files(str(tmp_path)) == [
        "alpha/lower.py", "alpha/x/deep.py", "b.py", "B2.txt", "Zeta/upper.py"]


def test_a_missing_directory_holds_no_backend(tmp_path):
    assert backend_files(str(tmp_path / "absent")) == []
    assert len(inputs(tmp_path / "absent")) == 64


@pytest.mark.parametrize("data, text", [
    (b"abc\n", "abc"),
    (b"  leading stays\r\n\t \n", "  leading stays"),
    ("caf\u00e9 \u2713\u3000\n".encode(), "caf\u00e9 \u2713"),  # str.rstrip: any Unicode space
    (b"", ""),
    (b"\xff\xfebytes\x80 \n", "\udcff\udcfebytes\udc80"),  # not UTF-8: escaped, as Ansible does
])
def test_a_file_reads_as_the_file_lookup_reads_it(tmp_path, data, text):
    path = tmp_path / "f"
    path.write_bytes(data)
    assert file_text(str(path)) == text


def test_an_escaped_byte_hashes_as_the_byte_itself():
    assert text_sha256("\udcff\udcfeb") == sha(b"\xff\xfeb")
    assert text_sha256("caf\u00e9") == sha("caf\u00e9".encode())
