# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: model_signatures
short_description: Check rendered model configs against their ONNX files on the controller
version_added: 0.1.0
description:
  - For every model version whose file is on the controller (the download cache or a
    C(path)), checks the rendered config (the output of
    P(inferops.triton.model_configs#filter)) against the ONNX graph - input and output
    names, data types, and dims given C(max_batch_size).
  - Takes the rendered configs of every host at once and checks each distinct
    (config, file) pair once.
  - All disagreements are reported at once, each naming the model, the field and both
    sides. Returns the list of files checked.
options:
  _input:
    description: The output of P(inferops.triton.model_configs#filter), or a list of such
      outputs (one per host).
    type: list
    elements: raw
    required: true
  sources:
    description: The output of P(inferops.triton.model_sources#filter).
    type: dict
    required: true
  cache:
    description:
      - A directory on the controller (C(model_repository_controller_cache)) where the checks
        that passed are kept, in C(signatures.json), by the file's sha256 and the config's
        inputs, outputs and C(max_batch_size), so an unchanged pair is not read again
        (the check parses the whole ONNX file). Omitted, every pair is checked.
    type: path
"""

EXAMPLES = r"""
- name: Check the configs against the downloaded ONNX files
  ansible.builtin.set_fact:
    checked: "{{ rendered | inferops.triton.model_signatures(sources) }}"
"""

RETURN = r"""
_value:
  description: The files checked, as C(model/version) strings.
  type: list
  elements: str
"""

import json
import os

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.common._files import (
    read_text,
    write_json,
)
from ansible_collections.inferops.triton.plugins.module_utils.models._onnx_controller import (
    SignatureError,
    check,
)
from ansible_collections.inferops.triton.plugins.module_utils.models._repository import (
    source_key,
)


def _load_passed(path):
    try:
        loaded = json.loads(read_text(path) or "[]")
    except (OSError, ValueError):
        return set()
    return {item for item in loaded if isinstance(item, str)} if isinstance(loaded, list) \
        else set()


def _save_passed(path, passed):
    try:
        write_json(path, sorted(passed))
    except OSError:  # a cache that cannot be written only costs the next run a check
        pass


def model_signatures(rendered, sources, cache=None):
    hosts = rendered if rendered and isinstance(rendered[0], list) else [rendered]
    checked, errors, seen = [], [], set()
    path = os.path.join(os.path.expanduser(str(cache)), "signatures.json") if cache else None
    passed = _load_passed(path) if path else set()
    known = len(passed)
    for models in hosts:
        for model in models:
            for version in model.get("versions") or []:
                src = (sources.get(source_key(version)) or {}).get("src")
                signature = json.dumps([model["config"].get(k) for k in
                                        ("input", "output", "max_batch_size")], sort_keys=True)
                if not src or (src, signature) in seen:
                    continue
                seen.add((src, signature))
                sha256 = (sources.get(source_key(version)) or {}).get("sha256")
                key = f"{sha256} {signature}" if sha256 else None
                checked.append(f"{model['name']}/{version['version']}")
                if key and key in passed:
                    continue
                try:
                    check(f"triton_models[{model['index']}] ({model['name']}) version "
                          f"{version['version']}", model["config"], src)
                except SignatureError as exc:
                    errors.append(str(exc))
                else:
                    if key:
                        passed.add(key)
    if path and len(passed) > known:
        _save_passed(path, passed)
    if errors:
        raise AnsibleFilterError("the model configs disagree with their ONNX files:\n"
                                 + "\n".join(errors))
    return checked


class FilterModule:
    def filters(self):
        return {"model_signatures": model_signatures}
