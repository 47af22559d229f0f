# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: benchmark_sweep
short_description: The benchmark role's sweep - its load, range and cells
version_added: 0.1.0
description:
  - What the C(inferops.triton.benchmark) role measures on each host, as
    M(inferops.triton.perf_analyzer) decides it for one run - the load it varies
    (C(request_rate) when a request rate range is set, else C(concurrency)), the range, and
    one cell per model and batch size, each one perf_analyzer run over the whole range.
options:
  _input:
    description: The models to measure (C(benchmark_models)).
    type: list
    elements: str
    required: true
  batch_sizes:
    description: The batch sizes (C(benchmark_batch_sizes)).
    type: list
    elements: int
    required: true
  concurrency_range:
    description: C(benchmark_concurrency_range).
    type: str
    default: ""
  request_rate_range:
    description: C(benchmark_request_rate_range); when set, the sweep varies the request rate.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Say what the sweep measures
  ansible.builtin.debug:
    msg: >-
      {{ (benchmark_models | inferops.triton.benchmark_sweep(benchmark_batch_sizes,
          concurrency_range=benchmark_concurrency_range)).cells | map(attribute='title') }}
"""

RETURN = r"""
_value:
  description: >-
    C(load) (C(concurrency) or C(request_rate)), C(range), and C(cells) - C(index) from 1,
    C(model), C(batch_size), C(name) (the cell's files are C(<name>.csv) and C(<name>.json))
    and C(title) (C(Cell 1/4 (3 after it): resnet50 batch 1, concurrency 1:2)).
  type: dict
"""

from ansible_collections.inferops.triton.plugins.module_utils.bench._perf_run import sweep


def benchmark_sweep(models, batch_sizes, concurrency_range="", request_rate_range=""):
    return sweep(list(models or []), list(batch_sizes or []), str(concurrency_range or ""),
                 str(request_rate_range or ""))


class FilterModule:
    def filters(self):
        return {"benchmark_sweep": benchmark_sweep}
