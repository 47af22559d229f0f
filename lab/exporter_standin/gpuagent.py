"""Stand-in for AMD's /usr/local/bin/gpuagent (inferops lab, lab/aptrepo.py).

Reads no GPU. Listens on the socket ``-s`` names (AMD's unit: /var/run/gpuagent.sock), as
gpuagent does, and closes every connection.
"""

import os
import signal
import socket
import sys

args = sys.argv[1:]
path = args[args.index("-s") + 1] if "-s" in args else "/var/run/gpuagent.sock"
if os.path.exists(path):
    os.unlink(path)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen()


def stop(*_):
    os.unlink(path)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
print(f"stand-in gpuagent: listening on {path}", flush=True)
while True:
    connection = server.accept()[0]
    connection.close()
