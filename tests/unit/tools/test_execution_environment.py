"""execution-environment.yml against what it must carry: the controller's pins
(requirements/controller.txt), galaxy.yml's dependencies and version, and every import under
plugins/. Reads the files only; ansible-builder is not needed."""

import ast
import importlib.metadata
import json
import sys
from pathlib import Path

import pytest
import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
EE = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
DEPS = EE["dependencies"]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
THIS_COLLECTION = f"{GALAXY['namespace']}.{GALAXY['name']}"


def requirement_lines(path):
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def exact_pin(requirement):
    """The version of a `name==version` requirement, else None."""
    specs = list(requirement.specifier)
    if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
        return specs[0].version
    return None


CONTROLLER = {canonicalize_name(r.name): exact_pin(r) for r in map(
    Requirement, requirement_lines(ROOT / "requirements" / "controller.txt"))}
EE_PYTHON = [Requirement(line) for line in requirement_lines(ROOT / DEPS["python"])]
# The collections the EE installs from Galaxy: none while galaxy.yml declares none.
EE_COLLECTIONS = {c["name"]: c["version"]
                  for c in yaml.safe_load((ROOT / DEPS["galaxy"]).read_text())["collections"]
                  } if "galaxy" in DEPS else {}


def test_the_definition_is_schema_3_and_names_files_that_exist():
    assert EE["version"] == 3
    for key in ("python", "system", "galaxy"):
        if key == "galaxy" and key not in DEPS:
            continue
        assert (ROOT / DEPS[key]).is_file(), f"dependencies.{key}: {DEPS[key]} does not exist"


def test_ansible_core_is_the_one_the_controller_runs():
    core = Requirement(DEPS["ansible_core"]["package_pip"])
    assert canonicalize_name(core.name) == "ansible-core"
    assert exact_pin(core) == CONTROLLER["ansible-core"], (
        f"execution-environment.yml has {core}, requirements/controller.txt "
        f"ansible-core=={CONTROLLER['ansible-core']}")


def test_ansible_runner_is_pinned():
    runner = Requirement(DEPS["ansible_runner"]["package_pip"])
    assert canonicalize_name(runner.name) == "ansible-runner"
    assert exact_pin(runner), f"{runner} is not pinned to one version"


def test_every_ee_python_package_is_pinned_as_on_the_controller():
    wrong = [f"{r} (controller.txt: {CONTROLLER.get(canonicalize_name(r.name), 'absent')})"
             for r in EE_PYTHON
             if exact_pin(r) is None or exact_pin(r) != CONTROLLER.get(canonicalize_name(r.name))]
    assert not wrong, f"{DEPS['python']} differs from requirements/controller.txt: {wrong}"


def plugin_imports():
    """{absolute module imported anywhere under plugins/: [files importing it]}."""
    found = {}
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def distributions_of(module):
    """The installed distributions that hold `module` (a namespace such as google.* can be
    shared, so narrow those to the one holding the module's own directory)."""
    names = importlib.metadata.packages_distributions().get(module.split(".")[0], [])
    if len(names) > 1:
        prefix = module.replace(".", "/") + "/"
        names = [n for n in names if any(str(f).startswith(prefix)
                                         for f in importlib.metadata.distribution(n).files or [])]
    return {canonicalize_name(n) for n in names}


def third_party_imports():
    return {module: files for module, files in plugin_imports().items()
            if module.split(".")[0] not in sys.stdlib_module_names
            and module.split(".")[0] not in ("__future__", "ansible", "ansible_collections")}


def test_every_third_party_import_under_plugins_is_in_ee_python():
    provided = {canonicalize_name(r.name) for r in EE_PYTHON}
    missing = [f"{module} ({', '.join(sorted(set(files)))}; from "
               f"{', '.join(sorted(distributions_of(module))) or 'no installed distribution'})"
               for module, files in sorted(third_party_imports().items())
               if not distributions_of(module) & provided]
    assert not missing, f"imported under plugins/ but not in {DEPS['python']}: {missing}"


def test_every_ee_python_package_is_imported_under_plugins():
    imported = set().union(*map(distributions_of, third_party_imports()))
    unused = [str(r) for r in EE_PYTHON if canonicalize_name(r.name) not in imported]
    assert not unused, f"{DEPS['python']} lists packages nothing under plugins/ imports: {unused}"


def test_every_collection_imported_under_plugins_is_in_the_ee():
    available = set(EE_COLLECTIONS) | {THIS_COLLECTION}
    missing = sorted({".".join(module.split(".")[1:3]) for module in plugin_imports()
                      if module.startswith("ansible_collections.")} - available)
    assert not missing, f"plugins/ import collections the EE lacks: {missing}"


def test_the_collections_are_galaxy_yml_dependencies_pinned_in_range():
    assert set(EE_COLLECTIONS) == set(GALAXY["dependencies"] or {})
    for name, version in EE_COLLECTIONS.items():
        pinned = version.removeprefix("==")
        assert pinned[:1].isdigit(), f"{name} {version} is not pinned to one version"
        assert meets_requirements(pinned, GALAXY["dependencies"][name]), (
            f"{name} {pinned} is outside galaxy.yml's {GALAXY['dependencies'][name]}")


def test_the_collections_are_the_versions_the_controller_tests_with():
    if importlib.metadata.version("ansible") != CONTROLLER["ansible"]:
        pytest.skip(f"this venv has not ansible=={CONTROLLER['ansible']} of controller.txt")
    ansible = importlib.metadata.distribution("ansible")
    for name, version in EE_COLLECTIONS.items():
        manifest = ansible.locate_file(
            Path("ansible_collections", *name.split("."), "MANIFEST.json"))
        bundled = json.loads(Path(manifest).read_text())["collection_info"]["version"]
        assert version.removeprefix("==") == bundled, (
            f"{name}: {DEPS['galaxy']} has {version}, ansible=={CONTROLLER['ansible']} {bundled}")


def test_the_ee_installs_this_collection_from_the_built_tarball():
    tarball = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
    copied = [f for f in EE["additional_build_files"] if f["src"] == f"build/{tarball}"]
    assert copied, f"additional_build_files does not copy build/{tarball} (galaxy.yml's version)"
    steps = EE["additional_build_steps"]["append_galaxy"]
    install = [s for s in steps if "ansible-galaxy collection install" in s]
    assert len(install) == 1, steps
    # ansible-builder copies _build/ to /build in the galaxy stage; the dependencies are
    # installed by then, so the tarball needs no Galaxy.
    assert f"/build/{copied[0]['dest']}/{tarball}" in install[0]
    assert "--offline" in install[0]
    assert "--collections-path /usr/share/ansible/collections" in install[0]
