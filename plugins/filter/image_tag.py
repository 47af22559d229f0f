# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: image_tag
short_description: The tag an image reference names
version_added: 0.1.0
description:
  - >-
    Reads C([registry[:port]/]path[:tag][@digest]) the way the image modules do
    (C(split_ref) in C(module_utils/image/_image.py)) and returns its tag, C(latest) when it
    names none. A digest is not a tag - C(repo:1.0@sha256:...) gives C(1.0).
options:
  _input:
    description: The image reference; null or empty gives C(latest).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Keep a pulled image under its own tag
  ansible.builtin.set_fact:
    tag: "{{ 'rocm/tritoninferenceserver:25.12' | inferops.triton.image_tag }}"
"""

RETURN = r"""
_value:
  description: The tag.
  type: str
  sample: tritoninferenceserver-25.12.amd1_rocm7.2_ubuntu24.04_py3.12
"""

from ansible_collections.inferops.triton.plugins.module_utils.image._image import ref_tag


def image_tag(ref):
    return ref_tag(str(ref or ""))


class FilterModule:
    def filters(self):
        return {"image_tag": image_tag}
