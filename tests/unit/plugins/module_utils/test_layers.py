"""The layout of plugins/module_utils, held by a test: code is filed by domain, and what runs
only on the controller is apart from what travels to hosts.

- Every file sits in a domain folder (``common``, ``rocm``, ``engine``, ``image``, ``models``,
  ``server``, ``bench``, ``rollout``, ``tune``, ``preflight``); nothing lies flat in
  module_utils.
- A file named ``*_controller.py`` runs only on the controller (filters, the preflight
  action, modules delegated to localhost); it may use the controller's packages.
- Every other file travels to hosts inside AnsiballZ payloads: it imports only the standard
  library, ``ansible.module_utils`` and other host files, never a controller file.
- Modules import only host files, except those that run on the controller by design.
- module_utils never reach upwards into plugins (modules, filters, actions).
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
PLUGINS = ROOT / "plugins"
MODULE_UTILS = PLUGINS / "module_utils"
PREFIX = "ansible_collections.inferops.triton.plugins."
DOMAINS = {"common", "rocm", "engine", "image", "models", "server", "bench", "rollout",
           "tune", "preflight", "monitoring"}
# Modules that run on the controller (delegate_to: localhost, or documentation only).
CONTROLLER_MODULES = {"benchmark_report", "preflight", "triton_tune", "tune_record"}


def imports(path):
    """Every module an import statement in ``path`` names (``from a import b`` gives a.b when
    b is a submodule of the collection, else a)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module.startswith(PREFIX + "module_utils"):
                for alias in node.names:
                    candidate = MODULE_UTILS.joinpath(
                        *node.module[len(PREFIX + "module_utils."):].split("."), alias.name + ".py")
                    if candidate.is_file():
                        names.add(f"{node.module}.{alias.name}")
    return names


def utils_file(name):
    """The file of a module_utils import, or None for anything else."""
    if not name.startswith(PREFIX + "module_utils."):
        return None
    path = MODULE_UTILS.joinpath(*name[len(PREFIX + "module_utils."):].split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def is_controller(path):
    return path.stem.endswith("_controller")


UTILS = sorted(p for p in MODULE_UTILS.rglob("*.py") if p.name != "__init__.py")


def test_every_module_util_is_filed_under_a_domain():
    flat = [p.name for p in UTILS if p.parent == MODULE_UTILS]
    assert not flat, f"module_utils files outside a domain folder: {flat}"
    unknown = sorted({p.parent.name for p in UTILS} - DOMAINS)
    assert not unknown, f"module_utils folders that are not a domain: {unknown}"
    for domain in DOMAINS:
        init = MODULE_UTILS / domain / "__init__.py"
        assert init.is_file() and not init.read_text().strip(), f"{init} is missing or not empty"


def test_host_files_import_only_the_stdlib_ansible_and_other_host_files():
    problems = []
    for path in UTILS:
        if is_controller(path):
            continue
        for name in imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            if name.startswith("ansible.module_utils"):
                continue
            target = utils_file(name)
            if name.startswith(PREFIX + "module_utils") and not (target and is_controller(target)):
                continue
            problems.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not problems, "host code imports what hosts lack:\n" + "\n".join(problems)


def test_modules_that_run_on_hosts_import_no_controller_file():
    problems = []
    for path in sorted((PLUGINS / "modules").glob("*.py")):
        if path.stem in CONTROLLER_MODULES:
            continue
        for name in imports(path):
            target = utils_file(name)
            if target is not None and is_controller(target):
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not problems, "\n".join(problems)


def test_module_utils_never_import_plugins_above_them():
    upward = [f"{path.relative_to(ROOT)} imports {name}" for path in UTILS
              for name in imports(path)
              if name.startswith(PREFIX) and not name.startswith(PREFIX + "module_utils")]
    assert not upward, "\n".join(upward)


def test_controller_files_are_used_on_the_controller():
    """A controller file nothing on the controller imports is dead code or misnamed."""
    users = {}
    for path in PLUGINS.rglob("*.py"):
        for name in imports(path):
            target = utils_file(name)
            if target is not None:
                users.setdefault(target, set()).add(path)
    unused = [p.relative_to(ROOT).as_posix() for p in UTILS
              if is_controller(p) and not users.get(p)]
    assert not unused, f"controller files no plugin imports: {unused}"


def test_docs_architecture_names_every_module_util():
    """docs/architecture.md's list of the domains' files stays true."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text[text.index("### Where the code lives"):text.index("## Images and provenance")]
    section = " ".join(section.split())
    missing = [p.relative_to(MODULE_UTILS).as_posix() for p in UTILS
               if f"`{p.stem}`" not in section or f"`{p.parent.name}`" not in section]
    assert not missing, f"docs/architecture.md does not list: {missing}"
