# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wait helper, ``/usr/local/lib/inferops-triton/wait-ready``: the unit's
``ExecStartPost``, which holds a start until the server is ready. The script itself is the
text below (standard library only, run by the host's ``/usr/bin/python3``);
``server/_unit.py`` installs it with the unit.
"""

from __future__ import annotations

WAIT_READY = "/usr/local/lib/inferops-triton/wait-ready"

# Holds the unit in "activating" until the server is ready: systemd runs it as
# ExecStartPost, so TimeoutStartSec bounds a first MIGraphX compilation. Triton loads its
# startup models before its endpoints answer, so a live server that is not ready and lists
# UNAVAILABLE models will not become ready: it logs their reasons and lets the unit start
# (the role's gate fails the play with them). Standard library only.
WAIT_READY_SCRIPT = '''#!/usr/bin/python3
# Installed by inferops.triton: wait until a Triton server is ready (ExecStartPost).
# usage: wait-ready BASE_URL MAINPID   (header from TRITON_WAIT_HEADER="Key: value")
# Exits 1 as soon as the server's process (systemd's $MAINPID) is gone, so a server that
# dies while starting fails the start at once instead of at TimeoutStartSec.
import json
import os
import sys
import time
import urllib.request

base = sys.argv[1].rstrip("/")
main_pid = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2].isdigit() else None
headers = {}
header = os.environ.get("TRITON_WAIT_HEADER", "")
if ":" in header:
    key, value = header.split(":", 1)
    headers[key.strip()] = value.strip()


opener = urllib.request.build_opener()


def status(path, data=None):
    request = urllib.request.Request(base + path, data=data, headers=headers)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except OSError:
        return None, b""


while True:
    if main_pid and not os.path.exists("/proc/" + main_pid):
        print("wait-ready: the server exited before it was ready", file=sys.stderr)
        sys.exit(1)
    if status("/v2/health/ready")[0] == 200:
        sys.exit(0)
    if status("/v2/health/live")[0] == 200:
        code, body = status("/v2/repository/index", b"{}")
        failed = [m for m in (json.loads(body or b"[]") if code == 200 else [])
                  if m.get("state") == "UNAVAILABLE"]
        if failed:
            for model in failed:
                print("wait-ready: model %s is UNAVAILABLE: %s"
                      % (model.get("name"), model.get("reason")), file=sys.stderr)
            sys.exit(0)
    time.sleep(2)
'''
