# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: rocm_apt_plan
short_description: AMD's apt sources and pin for a ROCm release on a host
version_added: 0.1.0
description:
  - Derives what AMD's install guides write under C(/etc/apt) for a ROCm release on Ubuntu
    24.04 or Debian 12 - the deb822 sources of the rocm, graphics and amdgpu repositories with
    C(Signed-By), and the C(rocm-pin-600) apt pin - as a mapping of file path to content.
  - Validates on the controller; a wrong setting raises an error naming the variable or host
    fact and what would be valid.
options:
  _input:
    description: The ROCm release, C(7.2), C(7.2.0) or C(7.2.1).
    type: str
    required: true
  distribution:
    description: C(ansible_facts.distribution).
    type: str
    required: true
  distribution_version:
    description: C(ansible_facts.distribution_version).
    type: str
    required: true
  base_url:
    description: The repository root, AMD's or a mirror of the same layout.
    type: str
    default: https://repo.radeon.com
  keyring:
    description: The keyring file the sources name in C(Signed-By).
    type: str
    default: /etc/apt/keyrings/rocm.gpg
  amdgpu_version:
    description: The amdgpu driver repository; default from the compatibility table.
    type: str
  graphics_version:
    description: The graphics repository; default from the compatibility table.
    type: str
  pin_origin:
    description:
      - The Release C(Origin) the pin names.
      - Default C(repo.radeon.com), whatever O(base_url) is - the C(Origin) of AMD's Release
        files, which a mirror that keeps AMD's signature keeps. Set it only for a mirror that
        re-signs the repositories and writes its own C(Origin).
    type: str
  pin_priority:
    description: The pin's priority.
    type: int
    default: 600
  driver:
    description: Include the amdgpu driver repository.
    type: bool
    default: true
  userspace:
    description: Include the rocm and graphics repositories.
    type: bool
    default: true
  kernel:
    description:
      - The running kernel (C(ansible_facts.kernel)), for C(kernel_packages) in the result.
    type: str
"""

EXAMPLES = r"""
- name: What AMD's guide writes for this host
  ansible.builtin.set_fact:
    plan: "{{ '7.2' | inferops.triton.rocm_apt_plan(ansible_facts.distribution,
                                                   ansible_facts.distribution_version) }}"
"""

RETURN = r"""
_value:
  description: >-
    C(files) (path to content), C(suite), C(repo_dir), C(amdgpu_version),
    C(graphics_version), C(pin_origin), C(pin_path), C(keyring), and C(apt_lists) - C(dir),
    apt's lists directory, and C(files), the names apt gives each source's C(InRelease) and
    C(Release) there, mapped to the source (C(<URI> <suite>)), and C(kernel_packages), what
    AMD's prerequisites install for O(kernel) (its headers, and on Ubuntu its extra modules;
    empty without O(kernel)).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.rocm._repo_controller import (
    RocmRepoError,
    plan,
)


def rocm_apt_plan(version, distribution, distribution_version, **options):
    try:
        return plan(version, distribution, distribution_version, **options)
    except RocmRepoError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"rocm_apt_plan": rocm_apt_plan}
