# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: model_signatures
short_description: Check rendered model configs against their ONNX files on the controller
version_added: 0.1.0
description:
  - For every model version whose file is in the controller's download cache, checks the
    rendered config (the output of P(inferops.triton.model_configs#filter)) against the ONNX
    graph - input and output names, data types, and dims given C(max_batch_size).
  - All disagreements are reported at once, each naming the model, the field and both
    sides. Returns the list of files checked.
options:
  _input:
    description: The output of P(inferops.triton.model_configs#filter).
    type: list
    elements: dict
    required: true
  models:
    description: The C(triton_models) list (for each version's C(url)).
    type: list
    elements: dict
    required: true
  cache:
    description: The controller cache, where a version's file is C(<sha256 of its url>.onnx).
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Check the configs against the downloaded ONNX files
  ansible.builtin.set_fact:
    checked: "{{ rendered | inferops.triton.model_signatures(triton_models, cache_dir) }}"
"""

RETURN = r"""
_value:
  description: The files checked, as C(model/version) strings.
  type: list
  elements: str
"""

import hashlib
import os

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils._onnx_signature import (
    SignatureError,
    check,
)


def model_signatures(rendered, models, cache):
    configs = {item["name"]: item["config"] for item in rendered}
    checked, errors = [], []
    for index, entry in enumerate(models or []):
        name = entry.get("name")
        for version in entry.get("versions") or []:
            path = os.path.join(cache, hashlib.sha256(str(version["url"]).encode()).hexdigest()
                                + ".onnx")
            if name not in configs or not os.path.exists(path):
                continue
            try:
                check(f"triton_models[{index}] ({name}) version {version['version']}",
                      configs[name], path)
            except SignatureError as exc:
                errors.append(str(exc))
            checked.append(f"{name}/{version['version']}")
    if errors:
        raise AnsibleFilterError("the model configs disagree with their ONNX files:\n"
                                 + "\n".join(errors))
    return checked


class FilterModule:
    def filters(self):
        return {"model_signatures": model_signatures}
