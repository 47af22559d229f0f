#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: model_repository
short_description: Make a Triton model repository match its desired state, atomically
version_added: 0.1.0
description:
  - Compares every C(<path>/<model>/config.pbtxt) and C(<path>/<model>/<version>/model.onnx)
    with O(models) in one pass and changes only what differs.
  - Each file is written under a temporary name in its own directory, checked against its
    sha256, and renamed into place; a model's files are placed before its C(config.pbtxt),
    so a running server never reads a half-written file.
  - A version's file comes from O(staging) (C(<staging>/<sha256>), copied there from the
    controller) or, when it is not staged, is downloaded on the host from its URL.
  - Version directories and models that O(models) does not name are removed only with
    O(prune); otherwise they are reported as RV(unmanaged).
  - The role C(inferops.triton.model_repository) renders O(models) and O(sources) on the
    controller (filters P(inferops.triton.model_configs#filter) and
    P(inferops.triton.model_sources#filter)).
author: inferops.triton developers (@inferops)
options:
  path:
    description: The repository directory.
    type: path
    required: true
  models:
    description:
      - The rendered models, as the P(inferops.triton.model_configs#filter) filter returns
        them - each with C(name) (its directory), C(pbtxt) (the C(config.pbtxt) text) and
        C(versions) (each with C(version) and the C(url) or C(path) that names its source
        in O(sources)); other keys are ignored.
      - A name must be one directory name (letters, digits, C(_), C(-) and C(.), not
        starting with C(.) or C(-), at most 128 characters), and no path the module writes
        or removes may resolve outside O(path) (or O(staging)), a symlink included; either
        fails the task before anything is written.
    type: list
    elements: dict
    required: true
  sources:
    description:
      - Each version source (its url or controller path) -> C(sha256) (the file's digest, or
        null to read it from C(checksum), a C(sha256:<url>) of a sha256sum file), C(url),
        C(checksum) and C(src); as P(inferops.triton.model_sources#filter) returns them.
    type: dict
    default: {}
  staging:
    description: Directory on the host where files copied from the controller wait, named
      by their sha256. Must not be inside O(path).
    type: path
  prune:
    description: Remove version directories and models that O(models) does not name.
    type: bool
    default: false
  owner:
    description: Owner of the directories and files written.
    type: str
  group:
    description: Group of the directories and files written.
    type: str
  validate_certs:
    description: Verify TLS certificates of downloads made on the host.
    type: bool
    default: true
  timeout:
    description: Seconds a download on the host may stall.
    type: int
    default: 600
  plan_only:
    description:
      - Compare and report what differs, as check mode does, without placing anything;
        unlike check mode, the digest cache is kept up to date.
    type: bool
    default: false
  digest_cache:
    description:
      - A JSON file of the sha256s of the model files already read, so that a converged
        host does not read every model file on every run. An entry counts only while the
        file's device, inode, size, mtime and ctime are unchanged (any write or rename
        changes its ctime); otherwise the file is read again. Written with mode C(0600),
        never in check mode. An empty string reads every file every time.
    type: path
    default: /var/lib/inferops-triton/cache/model-sha256.json
extends_documentation_fragment:
  - inferops.triton.attributes
"""

EXAMPLES = r"""
- name: Place the model repository
  inferops.triton.model_repository:
    path: /var/lib/inferops-triton/models
    models: "{{ triton_models | inferops.triton.model_configs(flavour='cpu') }}"
    sources: "{{ versions | inferops.triton.model_sources(cache_dir) }}"
    staging: /var/lib/inferops-triton/staging
    prune: true
"""

RETURN = r"""
changed_models:
  description: Models whose config, files or versions changed (or would, in check mode).
  type: list
  elements: str
  returned: always
  sample: [resnet50]
removed_models:
  description: Models removed because O(models) does not name them (O(prune) only).
  type: list
  elements: str
  returned: always
  sample: []
files:
  description: Model files placed (or that would be), with C(name), C(version), C(sha256),
    C(key) (the source) and C(staged) (whether the controller provides the file).
  type: list
  elements: dict
  returned: always
  sample: [{name: resnet50, version: 1, sha256: "9f86d0...", key: "https://m.example/r.onnx",
            staged: true}]
stage:
  description: The copies to make before the files can be placed - each file in RV(files)
    that the controller provides, once per sha256, from C(src) (its controller file, from
    O(sources)) to C(dest) (in O(staging)); empty without O(staging).
  type: list
  elements: dict
  returned: always
  sample: [{key: "https://m.example/r.onnx", sha256: "9f86d0...",
            src: "/home/me/.cache/inferops.triton/models/5e3b...onnx",
            dest: "/var/lib/inferops-triton/staging/9f86d0..."}]
configs:
  description: Models whose C(config.pbtxt) was written (or would be).
  type: list
  elements: str
  returned: always
  sample: [resnet50]
unmanaged:
  description: Version directories and models present but not in O(models), kept because
    O(prune) is off.
  type: list
  elements: str
  returned: always
  sample: [resnet50/2]
"""

import contextlib
import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.models._repository import (
    MODEL_FILE,
    DigestCache,
    RepositoryError,
    apply,
    desired,
    diff,
    is_empty,
    plan,
    read_checksum_urls,
    to_stage,
)

DEFAULT_DIGEST_CACHE = "/var/lib/inferops-triton/cache/model-sha256.json"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            models=dict(type="list", elements="dict", required=True),
            sources=dict(type="dict", default={}),
            staging=dict(type="path"),
            prune=dict(type="bool", default=False),
            owner=dict(type="str"),
            group=dict(type="str"),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="int", default=600),
            plan_only=dict(type="bool", default=False),
            digest_cache=dict(type="path", default=DEFAULT_DIGEST_CACHE),
        ),
        supports_check_mode=True,
    )
    params = module.params

    def fetch(url):
        # Imported here: only a download on the host needs it (urllib, email, ssl: about
        # 20 ms of every call on a host otherwise). AnsiballZ still ships it.
        from ansible.module_utils.urls import open_url

        return contextlib.closing(open_url(url, validate_certs=params["validate_certs"],
                                           timeout=params["timeout"]))

    try:
        uid = pwd.getpwnam(params["owner"]).pw_uid if params["owner"] else -1
        gid = grp.getgrnam(params["group"]).gr_gid if params["group"] else -1
    except KeyError as exc:
        module.fail_json(msg=f"no such user or group on {params['path']}'s host: {exc}")
    try:
        models = desired(params["models"], params["sources"])
        read_checksum_urls(models, fetch)
        cache = DigestCache(params["digest_cache"] or None)
        result = plan(params["path"], models, params["prune"], digest=cache.sha256)
        changed = not is_empty(result)
        shown = diff(result, params["path"], digest=cache.sha256) if module._diff else None
        if changed and not module.check_mode and not params["plan_only"]:
            apply(params["path"], models, result, params["staging"], fetch, uid, gid)
            for item in result["files"]:
                cache.record(os.path.join(params["path"], item["name"], str(item["version"]),
                                          MODEL_FILE), item["sha256"])
        if not module.check_mode:
            cache.save()
    except RepositoryError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # noqa: BLE001 - URLError, HTTPError, OSError from a download
        module.fail_json(msg=f"the model repository {params['path']} did not converge: "
                             f"{exc}")
    output = {"changed": changed, "changed_models": result["changed_models"],
              "removed_models": result["removed_models"], "unmanaged": result["unmanaged"],
              "configs": [item["name"] for item in result["configs"]],
              "files": [{k: item[k] for k in ("name", "version", "sha256", "key", "staged")}
                        for item in result["files"]],
              "stage": to_stage(result["files"], params["sources"], params["staging"])}
    if shown is not None:
        output["diff"] = shown
    module.exit_json(**output)


if __name__ == "__main__":
    main()
