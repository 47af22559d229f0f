# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Triton model configuration: check the protobuf JSON form of ``ModelConfig``
against Triton's own schema and render canonical ``config.pbtxt``.

The schema is the one that ships in ``tritonclient`` (``model_config_pb2``), so
every field of ``model_config.proto`` works without template code. Runs on the
controller (filter plugins), never on a host.
"""

from __future__ import annotations

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


def _schema():
    try:
        from google.protobuf import json_format, text_format
        from tritonclient.grpc import model_config_pb2
    except ImportError as exc:  # pragma: no cover - depends on the controller venv
        raise ModelConfigError(
            "the controller needs Triton's model-config schema: install tritonclient[grpc] "
            "in the Python that runs ansible-playbook (see requirements/controller.txt): "
            f"{exc}"
        ) from exc
    return model_config_pb2, json_format, text_format


def _describe(value) -> str:
    return f"{value!r} ({type(value).__name__})"


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


def render_model_config(index: int, entry, default_backend: str = "") -> str:
    """Validate one ``triton_models`` entry and return its canonical ``config.pbtxt``."""
    model_config_pb2, json_format, text_format = _schema()
    label = f"triton_models[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
        raise ModelConfigError(f"{label}: each entry needs a non-empty string 'name'")
    name = entry["name"]
    label = f"{label} ({name})"
    config = entry.get("config")
    if not isinstance(config, dict):
        raise ModelConfigError(f"{label}: 'config' must be a mapping in the protobuf JSON form "
                               f"of Triton's ModelConfig, got {_describe(config)}")
    config = dict(config)
    if config.setdefault("name", name) != name:
        raise ModelConfigError(f"{label}: config.name {config['name']!r} differs from the "
                               f"entry name {name!r}; drop config.name or make them equal")
    if default_backend and not config.get("backend") and not config.get("platform"):
        config["backend"] = default_backend

    errors: list[str] = []
    check_message(config, model_config_pb2.ModelConfig.DESCRIPTOR, "config", errors)
    if errors:
        raise ModelConfigError(f"{label}: " + "; ".join(errors))
    try:
        message = json_format.ParseDict(config, model_config_pb2.ModelConfig())
    except json_format.ParseError as exc:
        raise ModelConfigError(
            f"{label}: config is not a valid Triton ModelConfig: {exc}") from None
    return text_format.MessageToString(message)


def render_model_configs(models, default_backend: str = "") -> list[dict]:
    """Validate every entry (all errors at once) and return ``[{name, pbtxt}]``."""
    if not isinstance(models, list):
        raise ModelConfigError(f"triton_models must be a list, got {_describe(models)}")
    rendered, errors, seen = [], [], {}
    for index, entry in enumerate(models):
        try:
            pbtxt = render_model_config(index, entry, default_backend)
        except ModelConfigError as exc:
            errors.append(str(exc))
            continue
        name = entry["name"]
        if name in seen:
            errors.append(f"triton_models[{index}] ({name}): duplicate model name, "
                          f"already used by triton_models[{seen[name]}]")
        seen[name] = index
        rendered.append({"name": name, "pbtxt": pbtxt})
    if errors:
        raise ModelConfigError("\n".join(errors))
    return rendered
