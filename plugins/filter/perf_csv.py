# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: perf_csv
short_description: Parse a perf_analyzer CSV (-f) into rows
version_added: 0.1.0
description:
  - Parses the CSV that C(perf_analyzer -f) writes, in concurrency or request-rate mode.
  - With O(summary=false) every column is kept under its own name, numbers typed and empty
    cells null; with O(summary=true) each row carries the comparable numbers under stable
    keys (C(concurrency) or C(request_rate), C(throughput_infer_per_sec), C(p50_latency_us)
    ... C(p99_latency_us), C(avg_latency_us), C(server_queue_us), C(server_compute_infer_us), ...).
options:
  _input:
    description: The CSV text.
    type: str
    required: true
  summary:
    description: Return the summary keys instead of every column.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Read a result file
  ansible.builtin.set_fact:
    rows: "{{ lookup('ansible.builtin.file', 'r50-b8.csv')
              | inferops.triton.perf_csv(summary=true) }}"
"""

RETURN = r"""
_value:
  description: One mapping per CSV row.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils._perf import (
    PerfCsvError,
    parse_csv,
    summarize,
)


def perf_csv(text, summary=False):
    try:
        rows = parse_csv(str(text))
    except PerfCsvError as exc:
        raise AnsibleFilterError(str(exc)) from None
    return summarize(rows) if summary else rows


class FilterModule:
    def filters(self):
        return {"perf_csv": perf_csv}
