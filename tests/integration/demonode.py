"""The demo node, shared by the tests that run site.yml against it (test_demo.py,
test_model_repository.py): one lab node container with systemd and its own Docker engine,
converged once by lab/demo.py (the fixture is in conftest.py)."""

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE = "inferops-test-demo"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
sys.path.insert(0, str(ROOT / "lab"))
import demo  # noqa: E402
import labctl  # noqa: E402


def remove_node():
    labctl.node_down(NODE)


class DemoNode:
    def __init__(self, work: Path):
        self.inventory = work / "inventory"
        self.inventory.mkdir()
        (self.inventory / "hosts.yml").write_text(
            "triton_nodes:\n  hosts:\n"
            f"    {NODE}:\n      ansible_connection: community.docker.docker\n")
        (self.inventory / "group_vars").symlink_to(ROOT / "inventory" / "demo" / "group_vars")
        self.results = work / "results"
        self.first = None  # (rc, output) of the first converge
        # One model server for the session: the model URL (and so the controller's
        # download cache, keyed by URL) stays the same across runs even when another
        # process holds the demo's default port.
        demo.ensure_model()
        self.model_server, self.model_url = demo.serve_models(demo.MODEL.parent, 0)

    def close(self):
        self.model_server.shutdown()

    def run(self, *playbook_args):
        """lab/demo.py: site.yml against the node, the model served on loopback."""
        cmd = [PYTHON, str(ROOT / "lab" / "demo.py"), "--node", NODE,
               "--inventory", str(self.inventory), "--results-dir", str(self.results),
               "--model-url", self.model_url, "--", *playbook_args]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=2400,
                              check=False)
        return proc.returncode, proc.stdout + proc.stderr

    def play(self, playbook="site.yml", *playbook_args, hosts=None):
        """ansible-playbook against the node as lab/demo.py runs it, without demo.py's lab
        set-up (the node is up once converged()): for the many short runs of the bad-input
        suite, which end in the pre-flight.

        ``hosts``: instead of the node, an inventory of these hosts (name -> host variables),
        each of them the node under another name (``ansible_host``), with the demo's
        group_vars."""
        env = dict(os.environ, INFEROPS_DEMO_MODEL_URL=self.model_url,
                   INFEROPS_RESULTS_DIR=str(self.results),
                   ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
        inventory = ["-i", str(self.inventory), "--limit", NODE]
        if hosts is not None:
            path = Path(tempfile.mkdtemp(dir=self.inventory.parent, prefix="hosts-"))
            (path / "hosts.yml").write_text(json.dumps({"triton_nodes": {"hosts": {
                name: dict(variables, ansible_connection="community.docker.docker",
                           ansible_host=NODE)
                for name, variables in hosts.items()}}}))
            (path / "group_vars").symlink_to(ROOT / "inventory" / "demo" / "group_vars")
            inventory = ["-i", str(path)]
        cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), str(ROOT / playbook),
               *inventory, *playbook_args]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=1200, check=False)
        return proc.returncode, proc.stdout + proc.stderr

    def state(self):
        """What the node serves, to compare before and after a run: ``repository``, every
        path of the model repository with its mode, size and sha256; ``files``, the sha256 of
        the server's unit, environment and helper files; ``container``, the running
        container's id, start time and status."""
        def sh(script):
            return self.exec("sh", "-c", script, check=True).stdout
        return {
            "repository": sh("cd /var/lib/inferops-triton/models && find . -printf "
                             "'%p %m %s\\n' | sort && find . -type f -exec sha256sum {} + "
                             "| sort"),
            "files": sh("sha256sum /etc/systemd/system/triton-server* /etc/inferops-triton/* "
                        "/usr/local/lib/inferops-triton/wait-ready"),
            "container": sh("docker inspect --format '{{.Id}} {{.State.StartedAt}} "
                            "{{.State.Status}}' triton-server"),
        }

    def serves(self, model="resnet50"):
        """Whether the server is ready and the model READY (from the node itself)."""
        probe = ("import urllib.request as u; "
                 "u.urlopen('http://127.0.0.1:8000/v2/health/ready'); "
                 f"u.urlopen('http://127.0.0.1:8000/v2/models/{model}/ready')")
        return self.exec("python3", "-c", probe).returncode == 0

    def converged(self):
        """The first converge's (rc, output), run once for the session."""
        if self.first is None:
            self.first = self.run()
        return self.first

    def exec(self, *argv, check=False):
        return subprocess.run(["docker", "exec", NODE, *argv], capture_output=True, text=True,
                              check=check)

    def file_sha256(self, path):
        proc = subprocess.run(["docker", "exec", NODE, "cat", path], capture_output=True,
                              check=False)
        return hashlib.sha256(proc.stdout).hexdigest() if proc.returncode == 0 else None


# A captured 8x MI210 KFD topology, and device nodes for two of its GPUs made with mknod as
# the null device's numbers: GPU modes of the triton_server role on the CPU node (the server
# inside is the CPU one; no AMD GPU is here).
KFD_TREE = "/srv/kfd-mi210"
KFD_FIXTURE = ROOT / "tests" / "fixtures" / "kfd" / "mi210-8gpu-xgmi"
RENDER_MINORS = (128, 129)


def captured_gpus(node):
    """Gives the node the captured topology under KFD_TREE and /dev/kfd and the render
    nodes of RENDER_MINORS; returns the node's ``render`` group id."""
    subprocess.run(["docker", "cp", str(KFD_FIXTURE), f"{NODE}:{KFD_TREE}"], check=True)
    minors = " ".join(str(minor) for minor in RENDER_MINORS)
    node.exec("sh", "-ec", f"""
        getent group render >/dev/null || groupadd --system render
        mkdir -p /dev/dri {KFD_TREE}/etc {KFD_TREE}/dev
        for minor in {minors}; do
          [ -e /dev/dri/renderD$minor ] || mknod -m 0660 /dev/dri/renderD$minor c 1 3
        done
        [ -e /dev/kfd ] || mknod -m 0660 /dev/kfd c 1 3
        cp /etc/group {KFD_TREE}/etc/group && touch {KFD_TREE}/dev/kfd""", check=True)
    return node.exec("getent", "group", "render", check=True).stdout.split(":")[2]


def remove_captured_gpus(node):
    nodes = " ".join(f"/dev/dri/renderD{minor}" for minor in RENDER_MINORS)
    node.exec("sh", "-c", f"rm -rf {KFD_TREE} /dev/kfd {nodes}")


def recap(output):
    match = re.search(rf"^{NODE}\s+:\s+ok=(\d+)\s+changed=(\d+).*failed=(\d+)", output, re.M)
    assert match, output[-3000:]
    return {"ok": int(match[1]), "changed": int(match[2]), "failed": int(match[3])}
