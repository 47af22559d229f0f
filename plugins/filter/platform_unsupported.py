# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter platform_unsupported over module_utils/common/_platform, documented in
platform_unsupported.yml beside this file."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.common._platform_controller import (
    unsupported,
)


def platform_unsupported(facts, role):
    if not isinstance(facts, Mapping) or "distribution" not in facts:
        raise AnsibleFilterError("platform_unsupported: expected a host's ansible_facts, with "
                                 "distribution and distribution_version (gather the facts)")
    return unsupported(facts["distribution"], facts.get("distribution_version", ""),
                       str(role)) or ""


class FilterModule:
    def filters(self):
        return {"platform_unsupported": platform_unsupported}
