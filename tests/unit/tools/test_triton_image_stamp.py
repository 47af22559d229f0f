"""The CPU flavour's stamp inputs (roles/triton_image/vars/main.yml, _triton_image_cpu_inputs)
cover every file the context takes from files/cpu/backends/: a changed backend adapter makes
the stamp stale, so the context is packed again and the image rebuilt. Rendered by the real
ansible-playbook over a copy of the role's files (role_path pointed at the copy)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "triton_image"

PLAY = """
- hosts: localhost
  gather_facts: false
  vars_files: [{vars}, {defaults}]
  vars:
    role_path: {role}
  tasks:
    - name: Render the stamp inputs
      ansible.builtin.debug:
        msg: "INPUTS={{{{ _triton_image_cpu_inputs }}}}"
"""


def inputs(tmp_path, role):
    play = role / "play.yml"  # beside templates/, where the template lookup looks
    play.write_text(PLAY.format(vars=ROLE / "vars" / "main.yml",
                                defaults=ROLE / "defaults" / "main.yml", role=role))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c",
         "local", str(play), "-e", json.dumps({"ansible_python_interpreter": sys.executable})],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Unable to find" not in proc.stdout + proc.stderr
    return next(line.split("INPUTS=", 1)[1].strip().strip('"')
                for line in proc.stdout.splitlines() if "INPUTS=" in line)


def test_a_changed_backend_adapter_makes_the_stamp_stale(tmp_path):
    role = tmp_path / "role"
    shutil.copytree(ROLE / "files", role / "files")
    shutil.copytree(ROLE / "templates", role / "templates")
    first = inputs(tmp_path, role)
    assert len(first) == 64 and first == inputs(tmp_path, role)
    adapter = role / "files" / "cpu" / "backends" / "onnxruntime_cpu" / "model.py"
    adapter.write_text(adapter.read_text() + "\n# changed\n")
    assert inputs(tmp_path, role) != first
    # bytecode left by an import does not count
    adapter.write_text(adapter.read_text().replace("\n# changed\n", ""))
    (adapter.parent / "__pycache__").mkdir()
    (adapter.parent / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")
    assert inputs(tmp_path, role) == first
