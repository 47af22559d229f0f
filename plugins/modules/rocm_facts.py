#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: rocm_facts
short_description: Facts about a host's AMD GPUs, amdgpu driver and ROCm install
version_added: 0.1.0
description:
  - Reads the KFD topology (C(/sys/class/kfd/kfd/topology/nodes/*/{properties,gpu_id,name})
    and each node's memory banks), the DRM cards, C(/dev/kfd), the amdgpu module and its
    version, the installed ROCm release (C(/opt/rocm/.info/version)), the C(render) and
    C(video) group ids and the Secure Boot state, and returns them as C(ansible_facts.rocm).
  - C(gpus) has one entry per KFD GPU node, in node order. A partitioned GPU (MI300X in CPX
    mode) is one node per partition, each with its own render node; the partitions of one
    GPU share its C(uuid), and C(physical_gpu_count) counts GPUs, not partitions.
  - Reads files only; it runs no command and changes nothing.
author: inferops.triton developers (@inferops)
options:
  root:
    description:
      - The file system root to read under. C(/) on a host; a captured sysfs tree in tests.
    type: path
    default: /
extends_documentation_fragment:
  - inferops.triton.attributes.read_only
attributes:
  facts:
    support: full
    description: Returns C(ansible_facts.rocm).
"""

EXAMPLES = r"""
- name: Read the GPUs
  inferops.triton.rocm_facts:

- name: Pass only the GPUs' render nodes to a container
  ansible.builtin.debug:
    msg: "{{ ansible_facts.rocm.render_nodes }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts added under C(rocm).
  returned: always
  type: complex
  contains:
    rocm:
      description: The host's GPUs and ROCm stack.
      type: dict
      returned: always
      sample:
        # One MI210 of tests/fixtures/kfd/mi210-8gpu-xgmi; host fields as on a ROCm 7.2 host.
        kfd_present: true
        kfd_device: true
        amdgpu_loaded: true
        amdgpu_version: null
        rocm_version: 7.2.0-43
        render_gid: 993
        video_gid: 44
        secure_boot: disabled
        gpu_count: 1
        physical_gpu_count: 1
        gfx_targets: [gfx90a]
        render_nodes: [/dev/dri/renderD128]
        gpus:
          - index: 0
            node_id: 2
            gpu_id: null
            name: null
            gfx_target: gfx90a
            gfx_target_version: 90010
            vendor_id: 4098
            device_id: 29711
            pci_address: "0000:63:00.0"
            uuid: GPU-1901ead3a2ecd4a6
            render_minor: 128
            render_node: /dev/dri/renderD128
            card: null
            simd_count: 416
            simd_per_cu: 4
            compute_units: 104
            num_xcc: 1
            memory_bytes: null
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.rocm._facts import read_host


def main():
    module = AnsibleModule(
        argument_spec=dict(root=dict(type="path", default="/")),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, ansible_facts={"rocm": read_host(module.params["root"])})


if __name__ == "__main__":
    main()
