#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: triton_image
short_description: The ROCm Triton server image, built from source once per provenance
version_added: 0.1.0
description:
  - With O(source=build), builds the server image the way AMD's guide does - the ROCm
    server repository at a branch, tag or commit, C(scripts/build_<distro>_rocm_<ver>_base.sh),
    then C(build.py --no-container-pull --enable-logging --enable-stats --enable-tracing
    --enable-rocm --enable-metrics --verbose --endpoint=grpc --endpoint=http
    --backend=onnxruntime --target-platform=linux --no-container-interactive
    --linux-distro=<distro>) - and tags the result O(name). The two flags the guide does
    not type let build.py run unattended and on Debian 12, whose C(/etc/os-release) has no
    C(ID_LIKE) (build.py would otherwise target RHEL).
  - The image carries labels with the source URL, the resolved commit, the build.py
    arguments, the ROCm release, the commits of what build.py clones by branch while it
    builds (the onnxruntime backend, ONNX Runtime, MIGraphX, core, backend, common,
    third_party) and a hash of all of them. Every ref is resolved with C(git ls-remote), so a
    moved branch is seen, and the build runs only when that hash differs from the label of
    the host's image - a changed argument or a moved branch rebuilds, an unchanged one never
    does. A branch that moves while the build runs fails the task instead of labelling an
    image whose content is uncertain.
  - The full build log stays on the host (O(log_path)); its tail comes back on failure.
    Builds take hours; run the task with C(async) and C(poll).
  - Check mode resolves the ref and reports whether a build would run, without fetching
    or building.
  - With O(source=pull), makes O(name) the registry image O(pull_ref) (by default AMD's
    prebuilt image is pulled by the role) and returns its digest. With O(image_id) - the
    fleet path, where a builder pushed the image - a host that already holds that id never
    contacts the registry, and a registry image with another id fails the task.
  - With O(source=cpu), builds the CPU flavour (the real C(tritonserver) of the
    C(nvidia-pytriton) wheel) from a build-context archive the role prepared on the
    controller, labelled with its flavour, base image and provenance hash; it rebuilds only
    when that hash differs.
  - With O(source=load), makes O(name) the image in a C(docker save) archive on the host
    (plain or compressed), loading it only when the host's image id differs from the
    archive's - the way images built once are distributed to nodes without a registry.
  - Registry credentials are used through a temporary Docker client configuration that is
    removed after the task; they are never logged and never left on the host.
author: inferops.triton developers (@inferops)
options:
  name:
    description: The image reference to produce, C(name:tag).
    type: str
    required: true
  source:
    description:
      - Where the image comes from. C(build) is the from-source path; C(pull) a registry;
        C(cpu) the CPU flavour's build context; C(load) an image archive on the host.
    type: str
    choices: [build, pull, cpu, load]
    default: build
  archive:
    description: With O(source=load), the C(docker save) archive on the host.
    type: path
  image_id:
    description:
      - With O(source=pull) or O(source=load), the image id the host must end with (the
        builder's). A host already holding it under O(name) reads no archive and asks no
        registry; an image with another id fails the task.
    type: str
  pull_ref:
    description: With O(source=pull), the registry reference to pull; defaults to O(name).
    type: str
  pull_policy:
    description:
      - With O(source=pull) and no O(image_id), C(missing) pulls only when the host has no
        O(name); C(always) asks the registry each run and reports a change only when the
        image id moved. In check mode C(always) does not contact the registry.
    type: str
    choices: [missing, always]
    default: missing
  registry_username:
    description: With O(source=pull), the registry login, when it needs one.
    type: str
  registry_password:
    description: With O(source=pull), the password or token of O(registry_username).
    type: str
  context_archive:
    description: With O(source=cpu), the build-context tar archive (with C(Dockerfile)) on the host.
    type: path
  base_image:
    description: With O(source=cpu), the image the Dockerfile builds on.
    type: str
    default: ""
  base_image_archive:
    description:
      - With O(source=cpu), a C(docker save) archive on the host loaded when O(base_image)
        is missing (hosts without a registry).
    type: path
  labels:
    description: With O(source=cpu), labels set on the image; part of its provenance.
    type: dict
    default: {}
  source_url:
    description: The ROCm server repository (or a mirror of it).
    type: str
    default: https://github.com/ROCm/triton-inference-server-server.git
  ref:
    description: Branch, tag or 40-digit commit.
    type: str
    default: rocm7.2_r25.12
  checkout_dir:
    description: Where the source is checked out on the host; required with O(source=build).
    type: path
  linux_distro:
    description: The image's distribution, C(ubuntu) (24.04) or C(debian) (12).
    type: str
    choices: [ubuntu, debian]
    default: ubuntu
  rocm_version:
    description: The ROCm release the base script is named for.
    type: str
    default: "7.2"
  backends:
    description: build.py backends; C(onnxruntime) must be among them.
    type: list
    elements: str
    default: [onnxruntime]
  extra_args:
    description:
      - Further build.py options, each as C(--name=value), e.g. C(--repo-tag=core:<commit>) or
        C(--ort-branch=<ref>) to pin what build.py clones. Not C(--linux-distro),
        C(--target-platform) or C(--dryrun).
    type: list
    elements: str
    default: []
  log_path:
    description: The build log on the host.
    type: path
  python:
    description: The Python that runs build.py.
    type: str
    default: python3
  force:
    description: Build even when the provenance is unchanged.
    type: bool
    default: false
extends_documentation_fragment:
  - inferops.triton.attributes
requirements:
  - git, bash, the Docker CLI and a running Docker engine on the host, and with O(source=build)
    a Python 3 with the C(distro) and C(requests) packages, which build.py imports
"""

EXAMPLES = r"""
- name: Build the ROCm Triton image (hours), once per provenance
  inferops.triton.triton_image:
    name: inferops/tritonserver:rocm7.2-ubuntu
    checkout_dir: /var/lib/inferops-triton/src/server
    log_path: /var/lib/inferops-triton/build.log
  async: 21600
  poll: 60

- name: Pull AMD's prebuilt ROCm Triton image and keep its digest
  inferops.triton.triton_image:
    name: rocm/tritoninferenceserver:tritoninferenceserver-25.12.amd1_rocm7.2_ubuntu24.04_py3.12
    source: pull
  register: pulled

- name: Take the builder's image from the fleet's registry, unless the node holds it already
  inferops.triton.triton_image:
    name: inferops/tritonserver:rocm7.2-ubuntu
    source: pull
    pull_ref: registry.example.com:5000/inferops/tritonserver:rocm7.2-ubuntu
    image_id: "{{ hostvars[groups['builders'][0]].triton_image_id }}"
    registry_username: fleet
    registry_password: "{{ vault_registry_password }}"

- name: Take the image built once from the archive the controller copied
  inferops.triton.triton_image:
    name: inferops/tritonserver:rocm7.2-ubuntu
    source: load
    archive: /var/lib/inferops-triton/tritonserver-rocm7.2-ubuntu.tar.gz
"""

RETURN = r"""
commit:
  description: The commit the ref resolved to.
  type: str
  returned: with O(source=build)
  sample: 0123456789abcdef0123456789abcdef01234567
provenance:
  description: The hash over source, commit, arguments, ROCm release and the cloned commits.
  type: str
  returned: with O(source=build) or O(source=cpu)
  sample: sha256:5d41402abc4b2a76b9719d911017c592
previous_provenance:
  description: The provenance label of the host's image before, or null.
  type: str
  returned: with O(source=build) or O(source=cpu)
previous_image_id:
  description: The id of the host's image before, or null.
  type: str
  returned: with O(source=load) or O(source=pull)
digest:
  description: The registry digest of the image, C(repository@sha256:...).
  type: str
  returned: with O(source=pull)
  sample: rocm/tritoninferenceserver@sha256:9f4eb045b2c0180bc4c175679938653f
labels:
  description: The labels the image carries.
  type: dict
  returned: with O(source=build)
clones:
  description: What build.py clones by branch while it builds; each its URL, ref and commit.
  type: dict
  returned: with O(source=build)
  sample: {onnxruntime: {url: https://github.com/ROCm/onnxruntime, ref: rocm7.2_internal_testing,
                         commit: 0123456789abcdef0123456789abcdef01234567}}
commands:
  description: The guide's build steps as run in O(checkout_dir).
  type: list
  elements: str
  returned: with O(source=build)
image_id:
  description: The image id (with O(source=build), null when there is none yet in check mode).
  type: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.image._build import (
    DEFAULT_REF,
    DEFAULT_SOURCE,
    BuildError,
    BuildPlanError,
    ensure_built,
)
from ansible_collections.inferops.triton.plugins.module_utils.image._image import (
    ImageError,
    ensure_image,
    ensure_loaded,
    ensure_pulled,
    registry_session,
    split_ref,
)


def make(module, run, docker):
    """Run the source's path; return its result and the key its diff shows."""
    p = module.params
    if p["source"] == "build":
        result = ensure_built(
            run, p["name"], p["source_url"], p["ref"], p["checkout_dir"],
            p["linux_distro"], p["rocm_version"], p["backends"], p["extra_args"],
            p["log_path"], p["python"], module.check_mode, p["force"])
        return result, "provenance"
    if p["source"] == "cpu":
        with open(p["context_archive"], "rb") as handle:
            context = handle.read()
        result = ensure_image(docker, p["name"], context, {},
                              {k: str(v) for k, v in p["labels"].items()}, module.check_mode,
                              p["base_image"], p["base_image_archive"] or "", p["force"])
        return result, "provenance"
    if p["source"] == "load":
        result = ensure_loaded(docker, p["archive"], p["name"], module.check_mode, p["force"],
                               p["image_id"])
        return result, "image_id"
    pull_ref = p["pull_ref"] or p["name"]
    with registry_session(docker, split_ref(pull_ref)[0], p["registry_username"],
                          p["registry_password"]) as authed:
        result = ensure_pulled(authed, p["name"], pull_ref, p["pull_policy"], p["image_id"],
                               module.check_mode, p["force"])
    return result, "image_id"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            source=dict(type="str", choices=["build", "pull", "cpu", "load"], default="build"),
            archive=dict(type="path"),
            image_id=dict(type="str"),
            pull_ref=dict(type="str"),
            pull_policy=dict(type="str", choices=["missing", "always"], default="missing"),
            registry_username=dict(type="str"),
            registry_password=dict(type="str", no_log=True),
            context_archive=dict(type="path"),
            base_image=dict(type="str", default=""),
            base_image_archive=dict(type="path"),
            labels=dict(type="dict", default={}),
            source_url=dict(type="str", default=DEFAULT_SOURCE),
            ref=dict(type="str", default=DEFAULT_REF),
            checkout_dir=dict(type="path"),
            linux_distro=dict(type="str", choices=["ubuntu", "debian"], default="ubuntu"),
            rocm_version=dict(type="str", default="7.2"),
            backends=dict(type="list", elements="str", default=["onnxruntime"]),
            extra_args=dict(type="list", elements="str", default=[]),
            log_path=dict(type="path"),
            python=dict(type="str", default="python3"),
            force=dict(type="bool", default=False),
        ),
        required_if=[("source", "build", ["checkout_dir"]), ("source", "load", ["archive"]),
                     ("source", "cpu", ["context_archive"])],
        required_together=[("registry_username", "registry_password")],
        supports_check_mode=True,
    )
    docker_bin = module.get_bin_path("docker", required=True)

    def run(args, data=None, cwd=None):
        return module.run_command(args, data=data, cwd=cwd,
                                  binary_data=isinstance(data, bytes))

    def docker(args, data=None):
        return run([docker_bin, *args], data)

    try:
        result, key = make(module, run, docker)
    except (BuildError, BuildPlanError, ImageError, OSError) as exc:
        module.fail_json(msg=str(exc))
    if module._diff:
        result["diff"] = {"before": {key: result.get("previous_" + key)},
                          "after": {key: result.get(key)}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
