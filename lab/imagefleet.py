"""A builder and nodes on the lab network, with the lab registry, for the triton_image
role's fleet distribution (tests/integration/test_triton_image_fleet.py and
benchmarks/image_distribution.py).

Each host is a systemd node container with its own Docker engine
(``inferops-lab/node:debian12-docker``); the registry is Debian's docker-registry over TLS
with an htpasswd login (``labctl.registry_up``). The builder gets the stand-in of the ROCm
server repository (``rocm_standin.repo``) in its file system and the base image in its
engine, so the role's from-source path builds there for real: AMD's base script and build.py
from the snapshot's repository (``rocm_standin.repo`` on a plain Debian base, since these tests
are about distributing the image, not serving it).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import labctl
import rocm_standin

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = "inferops-lab-registry"
BASE_IMAGE = "inferops-lab/debian:12"
SOURCE_IN_BUILDER = "/srv/rocm-server"


def node(name: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", name, *argv], capture_output=True, text=True,
                          check=False)


def image_id(name: str, image: str) -> str | None:
    out = node(name, "docker", "image", "inspect", "--format", "{{ .Id }}", image)
    return out.stdout.strip() or None


def up(work: Path, builder: str, nodes: list[str]) -> dict:
    """Start the registry, the builder and the nodes (fresh); return the fleet's context."""
    creds = labctl.registry_up(REGISTRY, ROOT / "build" / "registry")
    for name in [builder, *nodes]:
        labctl.node_down(name)
        labctl.node_up(name, [], image=labctl.DOCKER_NODE_IMAGE, network=labctl.LAB_NETWORK)
    save = subprocess.Popen(["docker", "save", BASE_IMAGE], stdout=subprocess.PIPE)
    subprocess.run(["docker", "exec", "-i", builder, "docker", "load", "-q"], stdin=save.stdout,
                   check=True, capture_output=True)
    if save.wait() != 0:
        raise RuntimeError(f"docker save {BASE_IMAGE} failed")
    rocm_standin.repo(work / "upstream", BASE_IMAGE)
    subprocess.run(["docker", "cp", str(work / "upstream"), f"{builder}:{SOURCE_IN_BUILDER}"],
                   check=True)
    # The builder fetches what build.py clones from GitHub's stand-in, as a site would through
    # a mirror (url.<base>.insteadOf).
    config = rocm_standin.git_config(Path(SOURCE_IN_BUILDER))
    node(builder, "git", "config", "--system", config["GIT_CONFIG_KEY_0"],
         config["GIT_CONFIG_VALUE_0"])
    inventory = work / "inventory.yml"
    inventory.write_text(json.dumps({"all": {
        "vars": {"ansible_connection": "community.docker.docker"},
        "children": {"builders": {"hosts": {builder: {}}},
                     "triton_nodes": {"hosts": {name: {} for name in nodes}}}}}))
    return {"work": work, "inventory": inventory, "creds": creds, "builder": builder,
            "nodes": nodes}


def down(fleet: dict) -> None:
    """Remove every node the fleet made, the registry too: nothing is left for a later run."""
    for name in [fleet["builder"], *fleet["nodes"], REGISTRY]:
        labctl.node_down(name)


def converge(fleet: dict, *flags: str, hosts: str = "triton_nodes", **variables):
    """The triton_image role over ``hosts`` (the builder is not in the play), building from
    the stand-in repository on the builder. Returns (rc, the json callback's report, output)."""
    playbook = fleet["work"] / "play.yml"
    playbook.write_text(json.dumps([{
        "hosts": hosts, "gather_facts": False,
        "roles": [{"role": "inferops.triton.triton_image"}]}]))
    creds = fleet["creds"]
    values = {"triton_image_source": "build", "triton_image_source_url": SOURCE_IN_BUILDER,
              "triton_image_controller_cache": str(fleet["work"] / "cache"),
              "triton_image_registry": creds["address"],
              "triton_image_registry_ca_cert": str(ROOT / "build" / "registry" / "ca.crt"),
              "triton_image_registry_username": creds["username"],
              "triton_image_registry_password": creds["password"], **variables}
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(fleet["inventory"]),
         "-e", json.dumps(values), str(playbook), *flags],
        capture_output=True, text=True, env=env, check=False, timeout=1200)
    output = proc.stdout + proc.stderr
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        report = None
    return proc.returncode, report, output
