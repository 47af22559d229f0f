"""The SSH fleet: N lab nodes reached the way a user reaches bare-metal hosts.

Each node is a systemd node container with its own Docker engine
(``inferops-lab/node:debian12-docker``) on the lab network, running OpenSSH with host keys
of its own (made at first boot, not shared through the image). Its port 22 is published on
``127.0.0.1:22NN`` (node 1 on 2201), like Vagrant's forwarding. The controller logs in as
``inferops`` with a key made once per lab and becomes root with sudo; the host keys are
pinned in a known_hosts file of the lab, so Ansible checks them (StrictHostKeyChecking).
A TLS registry node with a login (``labctl.registry_up``) distributes the server image.

Everything the inventory (``inventory/fleet/``) reads lives in
``~/.cache/inferops-triton-lab/fleet/``: the key pair, ``known_hosts``,
``registry/{ca.crt,credentials.json}`` and the model (a copy of ``build/models/``). The
fleet's containers are the machine's, not a checkout's, and so is this directory; being at
a fixed place, the inventory names it literally (``~/...``), so that no connection variable
is a template to render for every task on every host.

    fleet.py up [--nodes 4]     # start (or keep) the nodes and the registry, wait for SSH
    fleet.py down [--nodes 4]   # remove them, their volumes and the registry
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import labctl

ROOT = Path(__file__).resolve().parents[1]
FLEET_DIR = Path.home() / ".cache" / "inferops-triton-lab" / "fleet"  # as inventory/fleet says
MODEL = ROOT / "build" / "models" / "resnet50-v2.onnx"  # make lab (tools/make_resnet50_onnx.py)
PREFIX = "inferops-fleet-node"
REGISTRY = "inferops-fleet-registry"
USER = "inferops"
SSH_PORT_BASE = 2200

# First boot of a node: host keys of its own, the lab's user with the lab's public key,
# passwordless sudo for it (as a provisioning tool leaves a fresh server), sshd started.
PROVISION = """set -eu
if [ ! -e /etc/ssh/.inferops-lab-keys ]; then
  rm -f /etc/ssh/ssh_host_*
  ssh-keygen -A >/dev/null
  touch /etc/ssh/.inferops-lab-keys
fi
id -u {user} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash {user}
install -d -m 0700 -o {user} -g {user} /home/{user}/.ssh
cat > /home/{user}/.ssh/authorized_keys
chown {user}:{user} /home/{user}/.ssh/authorized_keys
chmod 0600 /home/{user}/.ssh/authorized_keys
echo '{user} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/{user}
chmod 0440 /etc/sudoers.d/{user}
systemctl enable --now ssh >/dev/null 2>&1
systemctl restart ssh
"""


def names(count: int) -> list[str]:
    return [f"{PREFIX}{index}" for index in range(1, count + 1)]


def ssh_port(name: str) -> int:
    return SSH_PORT_BASE + int(name[len(PREFIX):])


def keypair(fleet_dir: Path) -> Path:
    key = fleet_dir / "id_ed25519"
    if not key.exists():
        fleet_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                        "inferops fleet lab", "-f", str(key)], check=True)
    return key


def ssh_ok(name: str, key: Path, known_hosts: Path) -> bool:
    res = subprocess.run(
        ["ssh", "-p", str(ssh_port(name)), "-i", str(key), "-o", "BatchMode=yes",
         "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={known_hosts}",
         "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5",
         f"{USER}@127.0.0.1", "sudo", "-n", "true"],
        capture_output=True, text=True, check=False)
    return res.returncode == 0


def model(fleet_dir: Path) -> Path:
    """The demo model where the inventory's triton_models has it (copied when it differs)."""
    if not MODEL.exists():
        sys.exit(f"fleet: {MODEL} is missing; run 'make lab' first")
    dest = fleet_dir / "models" / MODEL.name
    st = MODEL.stat()
    if not dest.exists() or (dest.stat().st_size, int(dest.stat().st_mtime)) != (
            st.st_size, int(st.st_mtime)):
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(MODEL, dest)
    return dest


def up(count: int, fleet_dir: Path = FLEET_DIR) -> list[str]:
    labctl.apt_install("openssh-client")
    key = keypair(fleet_dir)
    model(fleet_dir)
    labctl.registry_up(REGISTRY, fleet_dir / "registry")
    hosts = names(count)
    lines = []
    for name in hosts:
        labctl.node_up(name, [f"127.0.0.1:{ssh_port(name)}:22"],
                       image=labctl.DOCKER_NODE_IMAGE, network=labctl.LAB_NETWORK)
        labctl.node_exec(name, "sh", "-c", PROVISION.format(user=USER),
                         data=key.with_suffix(".pub").read_text())
        host_key = labctl.node_exec(name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").split()
        lines.append(f"[127.0.0.1]:{ssh_port(name)} {host_key[0]} {host_key[1]}\n")
    known_hosts = fleet_dir / "known_hosts"
    known_hosts.write_text("".join(lines))
    for name in hosts:
        for _second in range(30):
            if ssh_ok(name, key, known_hosts):
                labctl.log(f"{name}: ssh {USER}@127.0.0.1:{ssh_port(name)} answers, sudo works")
                break
            time.sleep(1)
        else:
            sys.exit(f"fleet: ssh to {name} on 127.0.0.1:{ssh_port(name)} did not answer; "
                     f"see 'docker exec {name} journalctl -u ssh'")
    return hosts


def down(count: int) -> None:
    for name in names(count):
        labctl.node_down(name)
    labctl.node_down(REGISTRY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--nodes", type=int, default=4, help="how many nodes (default 4)")
    args = parser.parse_args()
    if not 1 <= args.nodes <= 99:
        sys.exit(f"fleet: --nodes {args.nodes} is not between 1 and 99")
    if args.action == "up":
        up(args.nodes)
    else:
        down(args.nodes)


if __name__ == "__main__":
    main()
