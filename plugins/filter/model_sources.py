# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: model_sources
short_description: Where each model version's file comes from, with its sha256
version_added: 0.1.0
description:
  - Takes every version of every C(triton_models) entry in the play (C(url) with
    C(checksum), or C(path), a file on the controller) and returns, for each distinct
    source, the controller file that holds it and its sha256.
  - With O(download=controller), a URL's file is the controller cache entry that
    C(get_url) downloaded and checked; with O(download=node), each host downloads it from
    the URL (a mirror near the hosts) and C(src) is null.
  - A C(path) that does not exist, or whose sha256 is not the one its C(checksum) gives,
    fails here, on the controller, before any host changes.
  - The sha256s are kept in C(sha256.json) in O(cache), each trusted only while its file's
    device, inode, size, mtime and ctime are unchanged, so a run does not read every model
    file again (gigabytes, for large models) when none changed.
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
  download:
    description: Where URLs are downloaded.
    type: str
    default: controller
    choices: [controller, node]
"""

EXAMPLES = r"""
- name: Resolve every model file once, on the controller
  ansible.builtin.set_fact:
    sources: "{{ triton_models | map(attribute='versions') | flatten
                 | inferops.triton.model_sources(cache_dir) }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: Source (url or path) -> C(src) (controller file or null), C(sha256) (null
    when a node reads it from a checksum URL), C(url), C(checksum).
  type: dict
"""

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.models._repository import (
    DigestCache,
    RepositoryError,
)
from ansible_collections.inferops.triton.plugins.module_utils.models._sources_controller import (
    resolve_sources,
)


def model_sources(versions, cache, download="controller"):
    digests = DigestCache(os.path.join(os.path.expanduser(str(cache)), "sha256.json"))
    try:
        return resolve_sources(list(versions or []), cache, download, digest=digests.sha256)
    except RepositoryError as exc:
        raise AnsibleFilterError(f"triton_models versions: {exc}") from None
    finally:
        try:
            digests.save()
        except OSError:  # a cache that cannot be written only costs the next run a read
            pass


class FilterModule:
    def filters(self):
        return {"model_sources": model_sources}
