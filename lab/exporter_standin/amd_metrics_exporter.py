"""Stand-in for AMD's /usr/local/bin/amd-metrics-exporter (inferops lab, lab/aptrepo.py).

Reads no GPU. Reads config.json as AMD's exporter does (``-amd-metrics-config``, default
/etc/metrics/config.json) and serves a fixed /metrics on its ServerPort with its
MetricsFieldPrefix, so a test sees which file and port the unit gave it.
"""

import http.server
import json
import sys

args = sys.argv[1:]
path = args[args.index("-amd-metrics-config") + 1] if "-amd-metrics-config" in args \
    else "/etc/metrics/config.json"
try:
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
except (OSError, ValueError) as exc:
    print(f"stand-in amd-metrics-exporter: cannot read {path}: {exc}", flush=True)
    config = {}
port = int(config.get("ServerPort", 5000))
prefix = (config.get("CommonConfig") or {}).get("MetricsFieldPrefix", "")
fields = len((config.get("GPUConfig") or {}).get("Fields") or [])
BODY = (f"# stand-in for AMD's exporter (inferops lab): no GPU; config {path}, "
        f"{fields or 'all'} fields\n"
        f"# HELP {prefix}gpu_nodes_total Number of GPU nodes on the machine\n"
        f"# TYPE {prefix}gpu_nodes_total gauge\n"
        f"{prefix}gpu_nodes_total 0\n").encode()


class Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path != "/metrics":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


print(f"stand-in amd-metrics-exporter: config {path}, port {port}", flush=True)
http.server.ThreadingHTTPServer(("", port), Metrics).serve_forever()
