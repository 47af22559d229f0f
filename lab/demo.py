"""make demo: deploy and benchmark Triton on a local node container, end to end.

1. the lab: a Docker engine and the Debian base images (lab/labctl.py);
2. the model: a ResNet50-v2-shaped ONNX file (tools/make_resnet50_onnx.py), served to the
   play from a loopback HTTP server on the controller, with its .sha256 beside it;
3. a node container with systemd (the stand-in for a bare-metal host);
4. ``ansible-playbook site.yml -i inventory/demo`` against it;
5. the benchmark table and the path of the report.

The node stays up afterwards (``make clean`` removes it), so a second ``make demo`` is a
warm run against a converged node.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lab"))
import labctl  # noqa: E402

MODEL = ROOT / "build" / "models" / "resnet50-v2.onnx"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):  # keep the play's output readable
        pass


def serve_models(directory: Path, port: int) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``directory`` on loopback; the same port each run keeps the model URL (and the
    controller's download cache, keyed by URL) stable. Port 0 picks a free one."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def ensure_model() -> None:
    tool = ROOT / "tools" / "make_resnet50_onnx.py"
    sidecar = MODEL.with_name(MODEL.name + ".sha256")
    if MODEL.exists() and sidecar.exists() and MODEL.stat().st_mtime >= tool.stat().st_mtime:
        return
    MODEL.parent.mkdir(parents=True, exist_ok=True)
    labctl.log(f"generating {MODEL.relative_to(ROOT)} (ResNet50-v2 shape, random weights)")
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_resnet50_onnx.py"),
                    "--output", str(MODEL)], check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", default="inferops-demo-node1")
    parser.add_argument("--inventory", default=str(ROOT / "inventory" / "demo"))
    parser.add_argument("--results-dir", default=str(ROOT / "benchmark-results"))
    parser.add_argument("--model-port", type=int, default=18080)
    parser.add_argument("--model-url", help="serve no model: the play takes it from this URL "
                        "(a server the caller keeps up, so the URL stays the same across runs)")
    parser.add_argument("playbook_args", nargs="*", help="extra ansible-playbook arguments")
    args = parser.parse_args()

    labctl.cmd_preflight(argparse.Namespace(min_free_gb=10))
    labctl.cmd_engine(None)
    labctl.cmd_images(argparse.Namespace(names=labctl.DEMO_IMAGES))
    ensure_model()
    server, url = (None, args.model_url) if args.model_url else serve_models(
        MODEL.parent, args.model_port)
    labctl.node_up(args.node, [])
    env = dict(os.environ, INFEROPS_DEMO_MODEL_URL=url, INFEROPS_RESULTS_DIR=args.results_dir,
               ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), str(ROOT / "site.yml"),
           "-i", args.inventory, "--limit", args.node, *args.playbook_args]
    labctl.log(" ".join(cmd))
    try:
        rc = subprocess.run(cmd, env=env, cwd=ROOT, check=False).returncode
    finally:
        if server is not None:
            server.shutdown()
    if rc != 0:
        return rc
    runs = sorted(Path(args.results_dir).glob("*/report.md"))
    if not runs:
        print("demo: the play ran but wrote no report", file=sys.stderr)
        return 1
    print()
    print(runs[-1].read_text())
    print(f"Report: {runs[-1]}")
    print(f"Raw results and summary.json: {runs[-1].parent}/<host>/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
