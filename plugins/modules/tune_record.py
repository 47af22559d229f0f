#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: tune_record
short_description: Keep a tuning's result as a tuned file, with its report
version_added: 0.1.0
description:
  - Writes the result of M(inferops.triton.triton_tune) for one model on one GPU target to
    C(<dir>/<model>/<target>.yml) - the winner's values, the target and server image it
    was tuned on, the objective and the evidence (the baseline and every candidate measured,
    the host, the ROCm and perf_analyzer versions) - and beside it C(<target>.md) (a table
    of the candidates, the baseline and the chosen point) and C(<target>.png) (the Pareto
    front of throughput against latency, when matplotlib is importable).
  - C(site.yml) reads the tuned files (the C(model_repository) role's
    C(model_repository_tuned_dir)) and applies one to the hosts of its target and image.
  - Meant to run on the controller (C(delegate_to=localhost)). Supports check mode and
    diff mode (the tuned file).
author: inferops.triton developers (@inferops)
options:
  dir:
    description: The directory of tuned files.
    type: path
    required: true
  model:
    description: The model tuned.
    type: str
    required: true
  target:
    description: The GPU target (a gfx name, or C(cpu)).
    type: str
    required: true
  image:
    description: The server image tuned on, C(ref) and C(id).
    type: dict
    required: true
  result:
    description: The registered result of M(inferops.triton.triton_tune).
    type: dict
    required: true
  host:
    description: The host tuned on.
    type: str
    required: true
  rocm:
    description: The host's C(ansible_facts['rocm']), for the ROCm version in the evidence.
    type: dict
    default: {}
  perf_versions:
    description:
      - The registered result of the benchmark role's C(perf_analyzer --version) runs (its
        C(_benchmark_versions)), for perf_analyzer's version in the evidence.
    type: dict
    default: {}
  started:
    description: When tuning started (UTC, ISO 8601).
    type: str
    required: true
  ended:
    description: When tuning ended.
    type: str
    required: true
  plot:
    description: Write the PNG plot.
    type: bool
    default: true
seealso:
  - module: inferops.triton.triton_tune
"""

EXAMPLES = r"""
- name: Keep the result
  inferops.triton.tune_record:
    dir: "{{ inventory_dir }}/.tuned"
    model: resnet50
    target: gfx942
    image: {ref: "{{ triton_image_ref }}", id: "{{ triton_image_id }}"}
    result: "{{ tuned }}"
    host: "{{ inventory_hostname }}"
    started: "{{ started }}"
    ended: "{{ now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ') }}"
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: The tuned file.
  returned: always
  type: str
values:
  description: The chosen configuration's values; null when no candidate met the objective.
  returned: always
  type: dict
report:
  description: The report's Markdown.
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.bench._results_controller import (
    version_of,
)
from ansible_collections.inferops.triton.plugins.module_utils.common._files import (
    read_text,
    write_atomic,
)
from ansible_collections.inferops.triton.plugins.module_utils.tune._record_controller import (
    make_record,
    record_path,
    record_text,
)
from ansible_collections.inferops.triton.plugins.module_utils.tune._report_controller import (
    plot_png,
    render_md,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type="path", required=True),
            model=dict(type="str", required=True),
            target=dict(type="str", required=True),
            image=dict(type="dict", required=True),
            result=dict(type="dict", required=True),
            host=dict(type="str", required=True),
            rocm=dict(type="dict", default={}),
            perf_versions=dict(type="dict", default={}),
            started=dict(type="str", required=True),
            ended=dict(type="str", required=True),
            plot=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    versions = {"rocm": p["rocm"].get("rocm_version"),
                "perf_analyzer": version_of(p["perf_versions"], p["host"]) or None}
    try:
        record = make_record(p["model"], p["target"], p["image"], p["result"], p["host"],
                             versions, p["started"], p["ended"])
    except KeyError as exc:
        module.fail_json(msg=f"result: {exc} is missing; pass the registered result of "
                             "inferops.triton.triton_tune")
    path = record_path(p["dir"], p["model"], p["target"])
    text = record_text(record)
    before = read_text(path)
    report = render_md(record)
    changed = before != text
    result = dict(changed=changed, path=path, values=record["values"], report=report)
    if module._diff:
        result["diff"] = {"before": before or "", "after": text,
                          "before_header": path, "after_header": path}
    if changed and not module.check_mode:
        write_atomic(path, text, mode=0o644, move=module.atomic_move)
        base = os.path.splitext(path)[0]
        write_atomic(base + ".md", report, mode=0o644, move=module.atomic_move)
        image = plot_png(record) if p["plot"] else None
        if image is not None:
            write_atomic(base + ".png", image, mode=0o644, move=module.atomic_move)
        elif p["plot"]:
            module.warn("matplotlib is not importable here: no plot written")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
