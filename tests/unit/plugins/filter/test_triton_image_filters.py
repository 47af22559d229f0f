"""The triton_image role's filters wrap module_utils/image: roles/triton_image/vars/main.yml
calls them and restates none of their rules; each filter has its documentation beside the
plugin.

The CPU context's identity moved out of Jinja, and the stamps on users' controllers hold the
value the Jinja gave: the role's own variables (vars/main.yml, defaults/main.yml) are
rendered by ansible-core's Templar, in a fresh Python with the plugin loader set up as
ansible-playbook sets it up, against the expressions the role used before, kept here
verbatim, over a copy of the role with awkward backend files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.filter import triton_image as plugin
from ansible_collections.inferops.triton.plugins.module_utils.image._cpu_context_controller import (
    cpu_inputs,
)

ROOT = Path(__file__).resolve().parents[4]
ROLE = ROOT / "roles" / "triton_image"
COLLECTIONS = ROOT / "build" / "collections"
FILTERS = plugin.FilterModule().filters()
DOCS = Path(plugin.__file__).parent

# The two variables of roles/triton_image/vars/main.yml before their rules moved into Python
# (commit 1aecb4b), verbatim.
OLD_VARS = yaml.safe_load("""
_triton_image_dist_archive: "{{ _triton_image_ref | regex_replace('[/:@]', '_') }}.tar.gz"
_triton_image_cpu_inputs: >-
  {%- set backends = {} -%}
  {%- for item in query('ansible.builtin.filetree', role_path ~ '/files/cpu/backends')
                  | selectattr('state', 'equalto', 'file') | rejectattr('path', 'search', '__pycache__')
                  | sort(attribute='path') -%}
  {%- set _ = backends.update({item.path: lookup('ansible.builtin.file', item.src) | hash('sha256')}) -%}
  {%- endfor -%}
  {{ {'requirements': lookup('ansible.builtin.file', triton_image_cpu_requirements) | hash('sha256'),
      'backends': backends, 'dockerfile': lookup('ansible.builtin.template', 'cpu/Dockerfile.j2') | hash('sha256'),
      'python': triton_image_cpu_python_version, 'platforms': _triton_image_pip_platforms,
      'labels': _triton_image_cpu_labels} | to_json | hash('sha256') }}
""")  # noqa: E501

RENDER = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

real, old, cases = sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
loader = DataLoader()
answers = []
for case in cases:
    variables = {}
    for part in ("defaults", "vars"):  # as a play's vars_files; roles give vars precedence
        variables.update(loader.load_from_file(f"{real}/{part}/main.yml",
                                               trusted_as_template=True))
    variables.update(case["vars"], role_path=case["role"], ansible_search_path=[case["role"]])
    templar = Templar(loader=loader, variables=variables)
    render = lambda expression: templar.template(trust_as_template(expression))
    answer = {name: render(expression) for name, expression in {
        "old": old["cpu_inputs"], "new": "{{ _triton_image_cpu_inputs }}",
        # what the filter is given, to call the module_utils function with it directly
        "requirements": "{{ lookup('ansible.builtin.file', triton_image_cpu_requirements) }}",
        "dockerfile": "{{ lookup('ansible.builtin.template', 'cpu/Dockerfile.j2') }}",
        "given": "{{ [triton_image_cpu_python_version, _triton_image_pip_platforms,"
                 "    _triton_image_cpu_labels] | to_json }}",
    }.items()}
    answer["archives"] = []
    for ref in case["refs"]:
        templar.available_variables = {**variables, "_triton_image_ref": ref}
        answer["archives"].append([render(old["dist_archive"]),
                                   render("{{ _triton_image_dist_archive }}")])
    answers.append(answer)
print(json.dumps(answers))
"""

REFS = ["inferops/tritonserver:cpu", "inferops-lab-registry:5000/t/deb:12",
        "rocm/tritoninferenceserver:tritoninferenceserver-25.12.amd1_rocm7.2_ubuntu24.04_py3.12",
        "rocm/x:7.2@sha256:" + "a" * 64, "localhost/ubuntu24.04_rocm7.2"]


def copy_role(path):
    shutil.copytree(ROLE / "files", path / "files")
    shutil.copytree(ROLE / "templates", path / "templates")
    return path


def awkward(role):
    """Backend files that test each part of the former Jinja's rule: case-insensitive sort,
    __pycache__ anywhere, symbolic links, trailing and Unicode whitespace, names and texts
    beyond ASCII, bytes that are not UTF-8, empty files, deep paths."""
    backends = role / "files" / "cpu" / "backends"
    files = {
        "Zeta/upper.py": b"print('Z')\n",
        "alpha/lower.py": b"print('a')\n",
        "B2.txt": b"",
        "b.py": b"  leading kept, trailing dropped \t\n\n",
        "alpha/x/y/deep.py": "caf\u00e9 \u2713\u3000\u2028\n".encode(),
        "na\u00efve.py": "# na\u00efve\n".encode(),
        "blob.bin": b"\xff\xfe\x00bytes\x80 ",
        "__pycache__/top.cpython-311.pyc": b"\0",
        "onnxruntime_cpu/__pycache__/model.cpython-311.pyc": b"\0",
        "alpha/__pycache__/x/deeper.pyc": b"\0",
    }
    for relative, data in files.items():
        path = backends / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    os.symlink(backends / "b.py", backends / "link.py")
    os.symlink(backends / "alpha", backends / "linked-dir")
    (backends / "empty-dir").mkdir()
    lock = "numpy==2.2.6 \\\n    --hash=sha256:" + "0" * 64 + "\n\n"
    (role / "requirements.txt").write_text(lock)
    return role


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    base = tmp_path_factory.mktemp("roles")
    plain = copy_role(base / "plain")
    odd = awkward(copy_role(base / "awkward"))
    cases = [
        {"role": str(plain), "vars": {}, "refs": REFS},
        # a version given as a YAML number stays a number, as it did in the Jinja;
        # a base image name beyond ASCII reaches the labels and the rendered Dockerfile
        {"role": str(odd), "refs": [], "vars": {
            "triton_image_cpu_python_version": 3.12,
            "triton_image_cpu_requirements": str(odd / "requirements.txt"),
            "triton_image_base_image": "registry.example.com/d\u00e9bian:12"}},
    ]
    old = {"cpu_inputs": OLD_VARS["_triton_image_cpu_inputs"],
           "dist_archive": OLD_VARS["_triton_image_dist_archive"]}
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    proc = subprocess.run(
        [sys.executable, "-c", RENDER, str(COLLECTIONS), str(ROLE), json.dumps(old),
         json.dumps(cases)],
        capture_output=True, text=True, env=env, cwd=base, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    answers = json.loads(proc.stdout.splitlines()[-1])
    return {name: dict(answer, backends=str(role / "files" / "cpu" / "backends"))
            for name, role, answer in zip(["plain", "awkward"], [plain, odd], answers,
                                          strict=True)}


@pytest.mark.parametrize("case", ["plain", "awkward"])
def test_the_cpu_inputs_are_the_value_the_former_jinja_gave(rendered, case):
    answer = rendered[case]
    assert len(answer["old"]) == 64 and answer["new"] == answer["old"]


@pytest.mark.parametrize("case", ["plain", "awkward"])
def test_the_module_utils_function_alone_gives_that_value(rendered, case):
    answer = rendered[case]
    python, platforms, labels = json.loads(answer["given"], object_pairs_hook=OrderedDict)
    if case == "awkward":
        assert python == 3.12 and "d\u00e9bian" in answer["dockerfile"]
    assert cpu_inputs(answer["backends"], answer["requirements"], answer["dockerfile"], python,
                      platforms, dict(labels)) == answer["old"]


def test_the_awkward_files_count_where_the_jinja_counted_them(rendered):
    assert rendered["awkward"]["old"] != rendered["plain"]["old"]


def test_the_dist_archive_is_the_name_the_former_jinja_gave(rendered):
    archives = rendered["plain"]["archives"]
    assert len(archives) == len(REFS)
    for (old, new), ref in zip(archives, REFS, strict=True):
        assert new == old == FILTERS["triton_image_archive_name"](ref)


def test_the_filters_are_registered_under_their_names():
    assert FILTERS == {"triton_image_cpu_inputs": plugin.triton_image_cpu_inputs,
                       "triton_image_archive_name": plugin.triton_image_archive_name,
                       "triton_image_flavour": plugin.triton_image_flavour}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_is_documented(name):
    doc = yaml.safe_load((DOCS / f"{name}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    assert doc["RETURN"]["_value"]["description"]
    examples = yaml.safe_load(doc["EXAMPLES"])
    assert examples and all(task.get("name") for task in examples)
    assert f"inferops.triton.{name}" in doc["EXAMPLES"]


def test_the_cpu_inputs_filter_takes_ansible_s_containers_as_plain_values(tmp_path):
    class Lazy(dict):  # a dict subclass, as Ansible's lazy containers are
        pass

    args = ("req", "FROM x\n")
    assert FILTERS["triton_image_cpu_inputs"](
        tmp_path, *args, "3.11", ("p1", "p2"), Lazy(a="1", b=2)) == cpu_inputs(
        str(tmp_path), *args, "3.11", ["p1", "p2"], {"a": "1", "b": 2})


def test_an_unreadable_backend_file_fails_naming_it(tmp_path, monkeypatch):
    def unreadable(*_args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "model.py"))

    monkeypatch.setattr(plugin, "cpu_inputs", unreadable)
    with pytest.raises(AnsibleFilterError, match=r"model\.py: Permission denied"):
        FILTERS["triton_image_cpu_inputs"](tmp_path, "", "", "3.11", [], {})


def test_an_empty_reference_names_no_archive():
    with pytest.raises(AnsibleFilterError, match="no image reference"):
        FILTERS["triton_image_archive_name"]("")
    with pytest.raises(AnsibleFilterError, match="no image reference"):
        FILTERS["triton_image_archive_name"](None)


@pytest.mark.parametrize("source, flavour", [
    ("cpu", "cpu"), (None, "cpu"), ("", "cpu"),
    ("build", "rocm"), ("pull", "rocm"), ("load", "rocm"),
])
def test_the_flavour_of_each_image_source(source, flavour):
    assert plugin.triton_image_flavour(source) == flavour


def test_the_roles_take_the_flavour_from_the_filter_and_restate_no_rule():
    """model_repository's flavour, triton_server's GPU mode, tune's default space and the
    benchmark's reason for empty GPU columns follow one decision: triton_image_flavour."""
    uses = {}
    for path in sorted((ROOT / "roles").glob("*/*/main.yml")):
        text = path.read_text()
        assert "== 'cpu' else" not in text.replace("triton_image_flavour) == 'cpu' else", ""), \
            f"{path.relative_to(ROOT)} decides the flavour in Jinja"
        if "inferops.triton.triton_image_flavour" in text:
            uses[path.parent.parent.name] = path.parent.name
    assert uses == {"model_repository": "defaults", "triton_server": "defaults",
                    "tune": "vars", "benchmark": "vars"}
