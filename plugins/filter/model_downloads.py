# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: model_downloads
short_description: The model files the controller downloads, each with its cache file
version_added: 0.1.0
description:
  - >-
    Takes every version of every C(triton_models) entry in the play and returns one item per
    distinct C(url) (the first entry's C(checksum) for it), with C(dest), the file in O(cache)
    that holds it - the name P(inferops.triton.model_sources#filter) reads it from afterwards.
  - Versions with a C(path) instead of a C(url) are left out; they are on the controller.
options:
  _input:
    description: The versions (items of C(triton_models[].versions)).
    type: list
    elements: dict
    required: true
  cache:
    description: The controller's download cache (C(model_repository_controller_cache)).
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Download each model file once, on the controller
  ansible.builtin.get_url:
    url: "{{ item.url }}"
    checksum: "{{ item.checksum }}"
    dest: "{{ item.dest }}"
    mode: "0644"
  loop: "{{ versions | inferops.triton.model_downloads(cache_dir) }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
_value:
  description: One mapping per distinct URL, in the order first given, with C(url),
    C(checksum) and C(dest).
  type: list
  elements: dict
  sample: [{url: "https://m.example/resnet50-v2.onnx", checksum: "sha256:9f86d0...",
            dest: "/home/me/.cache/inferops.triton/models/5e3b...onnx"}]
"""

from ansible_collections.inferops.triton.plugins.module_utils.models._sources_controller import (
    downloads,
)


def model_downloads(versions, cache):
    return downloads(list(versions or []), str(cache))


class FilterModule:
    def filters(self):
        return {"model_downloads": model_downloads}
