# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # A module that talks to Triton's HTTP API (module_utils/server/_client.API_ARGS).
    DOCUMENTATION = r"""
options:
  url:
    description: The server's HTTP endpoint (Triton's C(--http-port), 8000 by default).
    type: str
    default: http://127.0.0.1:8000
  headers:
    description:
      - Extra headers sent with every request to O(url), such as the C(<key>=<value>) that
        C(--http-restricted-api=<apis>:<key>=<value>) requires (the repository API's for
        loads). Kept out of logs.
    type: dict
    default: {}
"""
