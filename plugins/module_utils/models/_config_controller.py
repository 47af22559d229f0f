# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Triton model configuration: check the protobuf JSON form of ``ModelConfig``
against Triton's own schema and render canonical ``config.pbtxt``.

The schema is the one that ships in ``tritonclient`` (``model_config_pb2``), so
every field of ``model_config.proto`` works without template code. Runs on the
controller (filter plugins), never on a host.
"""

from __future__ import annotations

# The rules for a model's name and a version's checksum have one home, the host side's
# module_utils (plain Python: it travels to hosts with the model_repository module), so that
# both sides refuse the same names and read the same checksums.
from ansible_collections.inferops.triton.plugins.module_utils.models._repository import (
    RepositoryError,
    model_name_error,
    parse_checksum,
)

# protobuf FieldDescriptor.TYPE_* numbers (descriptor.proto) -> the integer range they hold
_INT_RANGES = {
    5: (-(2**31), 2**31 - 1),  # int32
    17: (-(2**31), 2**31 - 1),  # sint32
    15: (-(2**31), 2**31 - 1),  # sfixed32
    3: (-(2**63), 2**63 - 1),  # int64
    18: (-(2**63), 2**63 - 1),  # sint64
    16: (-(2**63), 2**63 - 1),  # sfixed64
    13: (0, 2**32 - 1),  # uint32
    7: (0, 2**32 - 1),  # fixed32
    4: (0, 2**64 - 1),  # uint64
    6: (0, 2**64 - 1),  # fixed64
}
_64_BIT = {3, 18, 16, 4, 6}
_DOUBLE, _FLOAT, _BOOL, _STRING, _MESSAGE, _BYTES, _ENUM = 1, 2, 8, 9, 11, 12, 14
_LABEL_REPEATED = 3


class ModelConfigError(ValueError):
    """A model entry that Triton would reject; the message says where and why."""


_PB2 = "tritonclient.grpc.model_config_pb2"


def schema():
    """``(model_config_pb2, json_format, text_format)``.

    ``model_config_pb2`` is generated code that needs only protobuf, but importing it the
    usual way runs ``tritonclient.grpc``'s package init first (grpc, numpy: about 0.25 s),
    and every forked worker that validates a host's models would pay that again. So the
    module is loaded from its file under its own name, unless something imported it first.
    """
    try:
        import importlib.util
        import os
        import sys

        from google.protobuf import json_format, text_format

        model_config_pb2 = sys.modules.get(_PB2)
        if model_config_pb2 is None:
            import tritonclient  # a namespace-light package: no grpc, no numpy

            path = os.path.join(list(tritonclient.__path__)[0], "grpc", "model_config_pb2.py")
            spec = importlib.util.spec_from_file_location(_PB2, path)
            if spec is None or spec.loader is None or not os.path.isfile(path):
                raise ImportError(f"no {path}")
            model_config_pb2 = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(model_config_pb2)
            sys.modules[_PB2] = model_config_pb2
    except ImportError as exc:  # pragma: no cover - depends on the controller venv
        raise ModelConfigError(
            "the controller needs Triton's model-config schema: install tritonclient[grpc] "
            "in the Python that runs ansible-playbook (see requirements/controller.txt): "
            f"{exc}"
        ) from exc
    return model_config_pb2, json_format, text_format


_PLAIN_TYPES = (bool, int, float, str, list, dict)


def _describe(value) -> str:
    """``'eight' (str)``: the value and its plain type (ansible-core 2.19 hands filters
    tagged subclasses such as _AnsibleTaggedStr, whose names mean nothing to a user)."""
    kind = next((t for t in _PLAIN_TYPES if isinstance(value, t)), type(value))
    return f"{str.__repr__(value) if isinstance(value, str) else repr(value)} ({kind.__name__})"


def _check_scalar(value, fd, path: str, errors: list[str]) -> None:
    kind = fd.type
    if kind == _MESSAGE:
        check_message(value, fd.message_type, path, errors)
    elif kind == _ENUM:
        names = [v.name for v in fd.enum_type.values]
        numbers = [v.number for v in fd.enum_type.values]
        if not (value in names or (isinstance(value, int) and not isinstance(value, bool)
                                   and value in numbers)):
            errors.append(f"{path}: {value!r} is not a valid {fd.enum_type.name}; "
                          f"valid values: {', '.join(names)}")
    elif kind in _INT_RANGES:
        low, high = _INT_RANGES[kind]
        number = value
        if isinstance(value, str) and kind in _64_BIT:
            try:  # the JSON form writes 64-bit integers as strings
                number = int(value)
            except ValueError:
                number = None
        if isinstance(number, bool) or not isinstance(number, int):
            errors.append(f"{path}: {_describe(value)} is not an integer")
        elif not low <= number <= high:
            errors.append(f"{path}: {value} is out of range [{low}, {high}]")
    elif kind in (_FLOAT, _DOUBLE):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path}: {_describe(value)} is not a number")
    elif kind == _BOOL:
        if not isinstance(value, bool):
            errors.append(f"{path}: {_describe(value)} is not a boolean (true or false)")
    elif kind in (_STRING, _BYTES):
        if not isinstance(value, str):
            errors.append(f"{path}: {_describe(value)} is not a string")


def _is_repeated(fd) -> bool:
    repeated = getattr(fd, "is_repeated", None)  # newer protobuf; ``label`` is deprecated there
    return bool(repeated) if repeated is not None else fd.label == _LABEL_REPEATED


def check_message(value, descriptor, path: str, errors: list[str]) -> None:
    """Append to ``errors`` one line per problem in ``value`` as a ``descriptor`` message."""
    if not isinstance(value, dict):
        errors.append(f"{path}: {_describe(value)} is not a mapping ({descriptor.name} message)")
        return
    by_name = dict(descriptor.fields_by_name)
    by_name.update({fd.json_name: fd for fd in descriptor.fields})
    for key, item in value.items():
        fd = by_name.get(key)
        where = f"{path}.{key}"
        if fd is None:
            errors.append(f"{where}: unknown field of {descriptor.name}; valid fields: "
                          f"{', '.join(sorted(descriptor.fields_by_name))}")
        elif fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            if not isinstance(item, dict):
                errors.append(f"{where}: {_describe(item)} is not a mapping")
                continue
            value_fd = fd.message_type.fields_by_name["value"]
            for sub_key, sub_item in item.items():
                _check_scalar(sub_item, value_fd, f"{where}[{sub_key!r}]", errors)
        elif _is_repeated(fd):
            if not isinstance(item, list):
                errors.append(f"{where}: {_describe(item)} is not a list")
                continue
            for index, element in enumerate(item):
                _check_scalar(element, fd, f"{where}[{index}]", errors)
        else:
            _check_scalar(item, fd, where, errors)


ENTRY_KEYS = ("name", "config", "versions", "accelerator", "instances_per_gpu")
FLAVOURS = ("rocm", "cpu")
# The CPU flavour's Python-based ONNX Runtime backend (roles/triton_image/files/cpu).
CPU_BACKEND = "onnxruntime_cpu"
# The parameters the ROCm ONNX Runtime backend takes for its "migraphx" accelerator, by the
# build of the backend (ROCm/triton-inference-server-onnxruntime_backend, src/onnxruntime.cc,
# ModelState::LoadModel). The backend reads them one key at a time and answers any other key
# with INVALID_ARG ("unknown parameter '<key>' is provided for MIGraphX Execution
# Accelerator"), so the model fails to load: only keys with evidence for the build pass.
# The evidence, key by key: tests/fixtures/upstream/onnxruntime_backend/SOURCE.md.
# Value kinds: a tuple lists the values; int a positive integer; bool a boolean, which the
# backend compares with the string "true", rendered "true"/"false"; "flag" a boolean the
# backend parses as an integer (ParseIntValue: "true" would fail), rendered "1"/"0"; "path"
# an absolute path; str any string.
MIGRAPHX_BUILDS = {
    # AMD's ROCm 7.2 image (tritoninferenceserver-25.12.amd1_rocm7.2): backend branch
    # rocm7.2_r25.12 over the in-tree MIGraphX EP of ROCm/onnxruntime rocm7.2_internal_testing.
    "rocm7.2": {
        "precision_mode": ("FP32", "FP16", "INT8"),
        "int8_calibration_table_name": str,
        "int8_use_native_calibration_table": "flag",
        "migraphx_max_dynamic_batch": int,
        "migraphx_model_cache_dir": "path",
        "migraphx_exhaustive_tune": bool,
    },
}
MIGRAPHX_BUILD = "rocm7.2"  # the build the collection deploys
MIGRAPHX_KEYS = MIGRAPHX_BUILDS[MIGRAPHX_BUILD]
# Keys that only the newer backend reads, the one over the out-of-tree MIGraphX plugin EP
# (onnxruntime-ep-amdgpu, libmigraphx-ep.so), with the key a build above takes instead.
PLUGIN_EP_KEYS = {
    "max_dynamic_batch": "migraphx_max_dynamic_batch",
    "exhaustive_tune": "migraphx_exhaustive_tune",
    "cache_dir": "migraphx_model_cache_dir",
    "compile_batches": None,
    "hip_graph_enable": None,
    "coalesce_io": None,
    "precompile_at_load": None,
}
# The keys that name a directory the EP writes: none may be inside a model repository.
CACHE_KEYS = tuple(sorted({key for keys in MIGRAPHX_BUILDS.values()
                           for key, kind in keys.items() if kind == "path"}))


def _accelerator(label, value, build: str = MIGRAPHX_BUILD) -> dict | None:
    """``accelerator: migraphx`` or ``{name: migraphx, parameters: {...}}`` -> the
    ``gpu_execution_accelerator`` entry, parameters checked against the keys ``build``'s
    backend reads (MIGRAPHX_BUILDS)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict) or set(value) - {"name", "parameters"}:
        raise ModelConfigError(f"{label}: accelerator must be 'migraphx' or a mapping with "
                               f"'name' and 'parameters', got {_describe(value)}")
    if value.get("name") != "migraphx":
        raise ModelConfigError(f"{label}: accelerator.name {value.get('name')!r} is not "
                               "supported; valid: migraphx")
    params = value.get("parameters") or {}
    if not isinstance(params, dict):
        raise ModelConfigError(f"{label}: accelerator.parameters must be a mapping, got "
                               f"{_describe(params)}")
    keys = MIGRAPHX_BUILDS[build]
    valid = ", ".join(keys)
    errors, rendered = [], {}
    for key, item in params.items():
        kind = keys.get(key)
        where = f"accelerator.parameters.{key}"
        if kind is None and key in PLUGIN_EP_KEYS:
            instead = PLUGIN_EP_KEYS[key]
            errors.append(
                f"{where}: {_describe(item)}: the key belongs to the newer out-of-tree MIGraphX "
                f"plugin EP; the {build} onnxruntime backend does not read it and would reject "
                "it with INVALID_ARG, so the model would not load"
                + (f"; use {instead}" if instead in keys else "")
                + f"; valid keys for {build}: {valid}")
        elif kind is None:
            errors.append(f"{where}: {_describe(item)}: unknown MIGraphX accelerator key (the "
                          f"{build} backend would reject it with INVALID_ARG); valid keys: "
                          f"{valid}")
        elif isinstance(kind, tuple):
            if str(item).upper() not in kind:
                errors.append(f"{where}: {item!r} is not one of {', '.join(kind)}"
                              + (f" ({str(item).upper()} is known only from the newer plugin "
                                 "EP backend)" if str(item).upper() in ("BF16", "FP8") else ""))
            rendered[key] = str(item).upper()
        elif kind is int:
            if isinstance(item, bool) or not str(item).isdigit() or int(item) < 1:
                errors.append(f"{where}: {_describe(item)} is not a positive integer")
            rendered[key] = str(item)
        elif kind is bool:
            if not isinstance(item, bool) and str(item).lower() not in ("true", "false"):
                errors.append(f"{where}: {_describe(item)} is not a boolean (true or false)")
            rendered[key] = "true" if str(item).lower() == "true" else "false"
        elif kind == "flag":
            on = str(item).lower() in ("true", "1")
            if str(item).lower() not in ("true", "false", "1", "0"):
                errors.append(f"{where}: {_describe(item)} is not a boolean (true or false; "
                              "the backend reads 1 or 0)")
            rendered[key] = "1" if on else "0"
        elif kind == "path":
            if not isinstance(item, str) or not item.startswith("/"):
                errors.append(f"{where}: {_describe(item)} is not an absolute path")
            rendered[key] = str(item)
        else:
            if not isinstance(item, str):
                errors.append(f"{where}: {_describe(item)} is not a string")
            rendered[key] = str(item)
    if errors:
        raise ModelConfigError(f"{label}: " + "; ".join(errors))
    return {"name": "migraphx", "parameters": rendered}


def _inside(path: str, directory: str) -> bool:
    path, directory = path.rstrip("/") or "/", directory.rstrip("/") or "/"
    return path == directory or path.startswith(directory + "/")


def _plain_copy(value):
    """A deep copy made of plain dicts and lists. ``copy.deepcopy`` of what ansible-core 2.19
    hands a filter (a lazy template container) copies its templar and every variable with it:
    about 40 ms per host for one model."""
    if isinstance(value, dict):
        return {key: _plain_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_copy(item) for item in value]
    return value


def expand_entry(index: int, entry, default_backend: str = "", flavour: str = "rocm",
                 gpus=None, repository_paths=()) -> tuple[str, dict]:
    """One ``triton_models`` entry -> (name, its ModelConfig in JSON form) for a host of
    ``flavour`` with GPU indices ``gpus``: conveniences expanded, the flavour applied, and
    the checks that need more than the schema (versions, MIGraphX keys and cache)."""
    label = f"triton_models[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ModelConfigError(f"{label}: each entry needs a non-empty string 'name'")
    name = entry["name"]
    # The name is the model's directory in the repository: checked before anything uses it,
    # and quoted here, since it may hold a newline or a '/'.
    problem = model_name_error(name)
    if problem is not None:
        raise ModelConfigError(f"{label} ({str.__repr__(name)}): {problem}")
    label = f"{label} ({name})"
    unknown = sorted(set(entry) - set(ENTRY_KEYS))
    if unknown:
        raise ModelConfigError(f"{label}: unknown key(s) {', '.join(unknown)}; an entry has "
                               f"{', '.join(ENTRY_KEYS)} (Triton's own fields go under config)")
    if flavour not in FLAVOURS:
        raise ModelConfigError(f"flavour {flavour!r} is not one of {', '.join(FLAVOURS)}")
    config = entry.get("config")
    if not isinstance(config, dict):
        raise ModelConfigError(f"{label}: 'config' must be a mapping in the protobuf JSON form "
                               f"of Triton's ModelConfig, got {_describe(config)}")
    config = _plain_copy(config)
    if config.setdefault("name", name) != name:
        raise ModelConfigError(f"{label}: config.name {config['name']!r} differs from the "
                               f"entry name {name!r}; drop config.name or make them equal")
    if default_backend and not config.get("backend") and not config.get("platform"):
        config["backend"] = default_backend

    accelerator = _accelerator(label, entry.get("accelerator"))
    written = ((config.get("optimization") or {}).get("execution_accelerators") or {})
    for accel in written.get("gpu_execution_accelerator") or []:
        if isinstance(accel, dict) and accel.get("name") == "migraphx":
            accel["parameters"] = _accelerator(label, accel)["parameters"]
    per_gpu = entry.get("instances_per_gpu")
    if per_gpu is not None:
        if isinstance(per_gpu, bool) or not isinstance(per_gpu, int) or per_gpu < 1:
            raise ModelConfigError(f"{label}: instances_per_gpu {_describe(per_gpu)} is not a "
                                   "positive integer")
        if "instance_group" in config:
            raise ModelConfigError(f"{label}: give instances_per_gpu or config.instance_group, "
                                   "not both")
    # One inventory serves both flavours: a MIGraphX cache inside the repository is an error
    # on every host, also where the CPU flavour drops the accelerator.
    _check_cache_dir(label, config, repository_paths)
    if accelerator:
        _check_cache_dir(label, {"optimization": {"execution_accelerators": {
            "gpu_execution_accelerator": [accelerator]}}}, repository_paths)
    if flavour == "cpu":
        # The CPU flavour serves ONNX through its Python-based backend: the same entry, no
        # GPU kinds, no accelerator.
        if config.get("backend") in (None, "", "onnxruntime") and not config.get("platform"):
            config["backend"] = CPU_BACKEND
        for group in config.get("instance_group") or []:
            if isinstance(group, dict) and group.get("kind") in ("KIND_GPU", "KIND_AUTO"):
                group["kind"] = "KIND_CPU"
                group.pop("gpus", None)
        if per_gpu is not None:
            config["instance_group"] = [{"kind": "KIND_CPU", "count": per_gpu}]
        if written.get("gpu_execution_accelerator"):
            del written["gpu_execution_accelerator"]
            if not written:
                del config["optimization"]["execution_accelerators"]
            if not config["optimization"]:
                del config["optimization"]
    else:
        if per_gpu is not None:
            gpus = list(gpus or [])
            if not gpus:
                raise ModelConfigError(f"{label}: instances_per_gpu needs the host's GPUs "
                                       "(rocm_facts found none)")
            # One group that names no GPU: Triton places `count` instances on every GPU the
            # server sees (docs/user_guide/model_configuration.md, "Multiple Model
            # Instances"). A server given some of the host's GPUs (gpu_mode subset or
            # per_gpu) sees only those, numbered from 0, so host indices would name GPUs it
            # does not have and the model would not load.
            config["instance_group"] = [{"kind": "KIND_GPU", "count": per_gpu}]
        if accelerator:
            accelerators = config.setdefault("optimization", {}).setdefault(
                "execution_accelerators", {})
            accelerators.setdefault("gpu_execution_accelerator", []).append(accelerator)
    _check_versions(label, config, entry.get("versions"))
    return name, config


def _check_versions(label, config, versions) -> None:
    if versions is None:
        return
    if not isinstance(versions, list):
        raise ModelConfigError(f"{label}: versions must be a list, got {_describe(versions)}")
    present = []
    for i, version in enumerate(versions):
        number = version.get("version") if isinstance(version, dict) else None
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ModelConfigError(f"{label}: versions[{i}].version {_describe(number)} is not "
                                   "a positive integer")
        if number in present:
            raise ModelConfigError(f"{label}: versions[{i}]: version {number} is listed twice")
        present.append(number)
        _check_source(f"{label}: versions[{i}]", version)
    policy = config.get("version_policy")
    if not isinstance(policy, dict):
        return
    specific = (policy.get("specific") or {}).get("versions") if isinstance(
        policy.get("specific"), dict) else None
    if specific:
        missing = sorted({int(v) for v in specific if str(v).isdigit()} - set(present))
        if missing:
            raise ModelConfigError(
                f"{label}: config.version_policy.specific.versions names {missing}, which "
                f"versions does not provide; present: {sorted(present)}")
    latest = policy.get("latest")
    if isinstance(latest, dict) and isinstance(latest.get("num_versions"), int):
        if latest["num_versions"] > len(present):
            raise ModelConfigError(
                f"{label}: config.version_policy.latest.num_versions is "
                f"{latest['num_versions']} but only {len(present)} version(s) are provided")


VERSION_KEYS = ("version", "url", "path", "checksum")


def _check_source(where, version) -> None:
    """A version's file comes from ``url`` (with a sha256 ``checksum``) or ``path`` (a file
    on the controller, ``checksum`` optional)."""
    unknown = sorted(set(version) - set(VERSION_KEYS))
    if unknown:
        raise ModelConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; a version has "
                               f"{', '.join(VERSION_KEYS)}")
    if bool(version.get("url")) == bool(version.get("path")):
        raise ModelConfigError(f"{where}: give exactly one of url (a download, with checksum) "
                               "or path (a file on the controller)")
    checksum = version.get("checksum")
    if version.get("url") and not checksum:
        raise ModelConfigError(f"{where}: url {version['url']!r} needs a checksum "
                               "(sha256:<hex> or sha256:<url of a sha256sum file>)")
    if checksum is not None:
        try:
            parse_checksum(checksum)
        except RepositoryError as exc:
            raise ModelConfigError(f"{where}: {exc}") from None


def _check_cache_dir(label, config, repository_paths) -> None:
    """The MIGraphX cache must never be inside a model repository: Triton would try to load
    it as a model."""
    accelerators = ((config.get("optimization") or {}).get("execution_accelerators") or {})
    for group in ("gpu_execution_accelerator", "cpu_execution_accelerator"):
        for accel in accelerators.get(group) or []:
            params = (accel or {}).get("parameters") or {}
            for key in CACHE_KEYS:
                cache = params.get(key)
                for repo in repository_paths or ():
                    if isinstance(cache, str) and repo and _inside(cache, repo):
                        raise ModelConfigError(
                            f"{label}: {key} {cache!r} is inside the model "
                            f"repository {repo!r}, where Triton would take it for a model; "
                            "put it outside (e.g. /var/cache/inferops-triton/migraphx)")


def render_model_config(index: int, entry, default_backend: str = "", flavour: str = "rocm",
                        gpus=None, repository_paths=()) -> str:
    """Validate one ``triton_models`` entry and return its canonical ``config.pbtxt``."""
    return _render(index, entry, default_backend, flavour, gpus, repository_paths)[1]


def _render(index, entry, default_backend, flavour, gpus, repository_paths):
    model_config_pb2, json_format, text_format = schema()
    name, config = expand_entry(index, entry, default_backend, flavour, gpus, repository_paths)
    label = f"triton_models[{index}] ({name})"

    errors: list[str] = []
    check_message(config, model_config_pb2.ModelConfig.DESCRIPTOR, "config", errors)
    if errors:
        raise ModelConfigError(f"{label}: " + "; ".join(errors))
    try:
        message = json_format.ParseDict(config, model_config_pb2.ModelConfig())
    except json_format.ParseError as exc:
        raise ModelConfigError(
            f"{label}: config is not a valid Triton ModelConfig: {exc}") from None
    return config, text_format.MessageToString(message)


def render_model_configs(models, default_backend: str = "", flavour: str = "rocm", gpus=None,
                         repository_paths=()) -> list[dict]:
    """Validate every entry (all errors at once) and return ``[{name, pbtxt}]``."""
    if not isinstance(models, list):
        raise ModelConfigError(f"triton_models must be a list, got {_describe(models)}")
    rendered, errors, seen = [], [], {}
    for index, entry in enumerate(models):
        try:
            config, pbtxt = _render(index, entry, default_backend, flavour, gpus,
                                    repository_paths)
        except ModelConfigError as exc:
            errors.append(str(exc))
            continue
        name = entry["name"]
        if name in seen:
            errors.append(f"triton_models[{index}] ({name}): duplicate model name, "
                          f"already used by triton_models[{seen[name]}]")
        seen[name] = index
        rendered.append({"name": name, "index": index, "pbtxt": pbtxt, "config": config,
                         "versions": entry.get("versions") or []})
    if errors:
        raise ModelConfigError("\n".join(errors))
    return rendered
