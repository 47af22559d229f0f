# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""perf_analyzer's outputs as data: parse_perf_csv (perf_csv, its older name) and
parse_perf_profile. One file holds the three filters, so each is documented in the .yml
of its own name beside this file (as ansible.builtin's filters are): ansible-doc reads a
sidecar only when the plugin file carries no DOCUMENTATION."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.bench._perf import (
    PerfCsvError,
    parse_csv,
    parse_profile_export,
    summarize,
)


def parse_perf_csv(text, summary=False):
    try:
        rows = parse_csv(str(text))
    except PerfCsvError as exc:
        raise AnsibleFilterError(str(exc)) from None
    return summarize(rows) if summary else rows


def parse_perf_profile(text):
    try:
        return parse_profile_export(str(text))
    except PerfCsvError as exc:
        raise AnsibleFilterError(str(exc)) from None


# The name the collection shipped first.
perf_csv = parse_perf_csv


class FilterModule:
    def filters(self):
        return {
            "parse_perf_csv": parse_perf_csv,
            "perf_csv": perf_csv,
            "parse_perf_profile": parse_perf_profile,
        }
