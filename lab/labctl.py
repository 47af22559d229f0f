"""The local lab: a Docker engine, base images made without a registry, node containers.

A *node* is a container that boots systemd and stands in for a bare-metal host;
the collection's roles install Docker Engine inside it and run Triton there.
Nothing here pulls from a registry: base images are made with debootstrap and
``docker import``, and are kept by recipe (the image label ``org.inferops.lab.recipe``
holds a hash of the recipe), so a second run costs seconds.

Standard library only: this runs before the controller venv exists.

    labctl.py engine                      # make sure a Docker engine answers
    labctl.py images                      # build the base images (cached) and their archives
    labctl.py node up NAME [NAME ...]     # start node containers, wait for systemd
    labctl.py node down NAME [NAME ...]   # remove them and their volumes
    labctl.py down                        # remove every node this lab made
    labctl.py registry NAME               # a TLS registry node (Debian's docker-registry)
    labctl.py preflight --min-free-gb N   # fail early when the disk is short
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

LAB_LABEL = "org.inferops.lab"
RECIPE_LABEL = "org.inferops.lab.recipe"
MIRROR = os.environ.get("LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "inferops-triton-lab"

# name -> debootstrap recipe. "node" boots systemd; the others are the plain
# Debian userlands that the roles build on (stand-ins for debian:12 / debian:13).
IMAGES = {
    "inferops-lab/node:debian12": {
        "suite": "bookworm",
        "include": ["systemd", "systemd-sysv", "python3", "dbus", "ca-certificates"],
        "env": {"container": "docker"},
        "archive": False,
    },
    # Ubuntu 24.04, for the roles that support it (rocm): debootstrap has no "noble" script
    # in Debian 12, but noble bootstraps with the "gutsy" one, as every Ubuntu since does.
    # The archive keyring comes from Ubuntu's own package, pinned by its sha256; its key
    # F6EC B376 2474 EDA9 D21B 7022 8719 20D1 991B C93C signs noble's InRelease.
    "inferops-lab/node:ubuntu2404": {
        "suite": "noble",
        "mirror": "http://archive.ubuntu.com/ubuntu",
        "script": "/usr/share/debootstrap/scripts/gutsy",
        # universe, as on an installed Ubuntu server (AMD's prerequisites, python3-wheel, are there)
        "components": ["main", "universe"],
        "keyring": {
            "url": "http://archive.ubuntu.com/ubuntu/pool/main/u/ubuntu-keyring/"
                   "ubuntu-keyring_2023.11.28.1_all.deb",
            "sha256": "36de43b15853ccae0028e9a767613770c704833f82586f28eb262f0311adb8a8",
            "member": "usr/share/keyrings/ubuntu-archive-keyring.gpg",
        },
        "include": ["systemd", "systemd-sysv", "python3", "dbus", "ca-certificates"],
        "env": {"container": "docker"},
        "archive": False,
    },
    # A Debian 12 node with Docker Engine already installed (the docker_engine role then
    # finds it present): for the multi-node tests, where each node's apt install would cost
    # a minute on two cores. The single-node tests install it through the role. OpenSSH and
    # sudo are for the SSH fleet (lab/fleet.py), which gives each node its own host keys.
    "inferops-lab/node:debian12-docker": {
        "suite": "bookworm",
        "include": ["systemd", "systemd-sysv", "python3", "dbus", "ca-certificates",
                    "docker.io", "iptables", "git", "openssh-server", "sudo"],
        "env": {"container": "docker"},
        "archive": False,
    },
    "inferops-lab/debian:12": {"suite": "bookworm", "include": []},
    "inferops-lab/debian:13": {"suite": "trixie", "include": []},
}
NODE_IMAGE = "inferops-lab/node:debian12"
DOCKER_NODE_IMAGE = "inferops-lab/node:debian12-docker"
LAB_NETWORK = "inferops-lab"
REGISTRY_PORT = 5000
# What `make demo` needs; the Ubuntu node is for the rocm role's molecule scenario only.
DEMO_IMAGES = [NODE_IMAGE, "inferops-lab/debian:12", "inferops-lab/debian:13"]
NODE_RUN_ARGS = [
    # systemd in a container, without --privileged (one capability is missing
    # from this machine's bounding set): the recipe in shared/DESIGN.md.
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
]


def log(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, text=True, **kw)


def out(cmd: list[str]) -> str:
    return run(cmd, capture_output=True).stdout.strip()


def docker_ok() -> bool:
    if not shutil.which("docker"):
        return False
    return run(["docker", "info"], check=False, capture_output=True).returncode == 0


def apt_install(*packages: str) -> None:
    def installed(package):
        return run(["dpkg", "-s", package], check=False, capture_output=True).returncode == 0

    missing = [p for p in packages if not installed(p)]
    if not missing:
        return
    log(f"apt-get install {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", *missing], env=env, stdout=subprocess.DEVNULL)


def remove_stale_pidfile(pidfile: Path) -> None:
    """A pid file left by a dockerd that is gone (a restored machine keeps /var/run) stops
    the next dockerd from starting; remove it when its process is not a dockerd."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        alive = Path(f"/proc/{pid}/comm").read_text().strip() == "dockerd"
    except OSError:
        alive = False
    if not alive:
        log(f"removing stale {pidfile} (pid {pid} is not a running dockerd)")
        pidfile.unlink()


def cmd_engine(_args) -> None:
    if docker_ok():
        return
    apt_install("docker.io")
    if Path("/run/systemd/system").is_dir():
        run(["systemctl", "start", "docker"])
    else:
        remove_stale_pidfile(Path("/var/run/docker.pid"))
        logfile = Path("/var/log/inferops-lab-dockerd.log")
        log(f"starting dockerd (no systemd here), log in {logfile}")
        with logfile.open("ab") as fh:
            subprocess.Popen(["dockerd"], stdout=fh, stderr=fh, start_new_session=True)
    for _second in range(60):
        if docker_ok():
            log("docker engine answers")
            return
        time.sleep(1)
    sys.exit("lab: dockerd did not answer within 60 s; see /var/log/inferops-lab-dockerd.log")


def recipe_key(recipe: dict) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def image_recipe(name: str) -> str | None:
    res = run(["docker", "image", "inspect", "--format",
               "{{ index .Config.Labels \"" + RECIPE_LABEL + "\" }}", name],
              check=False, capture_output=True)
    return res.stdout.strip() if res.returncode == 0 else None


def archive_path(name: str) -> Path:
    return CACHE / "archives" / (name.replace("/", "_").replace(":", "_") + ".tar")


def fetch_keyring(spec: dict) -> str:
    """An archive keyring from its distribution package, checked against the pinned sha256."""
    deb = CACHE / "keyrings" / spec["url"].rsplit("/", 1)[1]
    if not deb.exists() or hashlib.sha256(deb.read_bytes()).hexdigest() != spec["sha256"]:
        deb.parent.mkdir(parents=True, exist_ok=True)
        log(f"downloading {spec['url']}")
        with urllib.request.urlopen(spec["url"], timeout=60) as response:
            data = response.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != spec["sha256"]:
            sys.exit(f"lab: {spec['url']} has sha256 {digest}, expected {spec['sha256']}")
        deb.write_bytes(data)
    into = CACHE / "keyrings" / spec["sha256"][:16]
    if not (into / spec["member"]).exists():
        run(["dpkg-deb", "-x", str(deb), str(into)])
    return str(into / spec["member"])


def build_image(name: str, recipe: dict) -> None:
    key = recipe_key(recipe)
    archive = archive_path(name)
    if image_recipe(name) != key:
        apt_install("debootstrap")
        with tempfile.TemporaryDirectory(prefix="lab-rootfs-", dir="/var/tmp") as root:
            include = ["--include=" + ",".join(recipe["include"])] if recipe["include"] else []
            args = [recipe["suite"], root, recipe.get("mirror", MIRROR)]
            if "script" in recipe:
                args.append(recipe["script"])
            if "components" in recipe:
                include.append("--components=" + ",".join(recipe["components"]))
            if "keyring" in recipe:
                include.append("--keyring=" + fetch_keyring(recipe["keyring"]))
            log(f"debootstrap {recipe['suite']} for {name} (about a minute)")
            run(["debootstrap", "--variant=minbase", *include, *args], stdout=subprocess.DEVNULL)
            # debootstrap leaves its own mirror in sources.list; keep it, drop caches.
            shutil.rmtree(Path(root, "var/cache/apt/archives"), ignore_errors=True)
            changes = [f"LABEL {LAB_LABEL}=1", f"LABEL {RECIPE_LABEL}={key}"]
            changes += [f"ENV {k}={v}" for k, v in recipe.get("env", {}).items()]
            changes.append('CMD ["/bin/bash"]')
            tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
            change_args = [a for c in changes for a in ("--change", c)]
            run(["docker", "import", *change_args, "-", name], stdin=tar.stdout,
                stdout=subprocess.DEVNULL)
            if tar.wait() != 0:
                sys.exit(f"lab: tar of the {name} rootfs failed")
        # the image this recipe replaced, if any, is now dangling
        run(["docker", "image", "prune", "-f", "--filter", f"label={LAB_LABEL}"],
            stdout=subprocess.DEVNULL)
        archive.unlink(missing_ok=True)
    if recipe.get("archive", True) and not archive.exists():
        # An archive for nodes without a registry: the roles load it when the
        # inventory names it (triton_image_base_image_archive and friends).
        archive.parent.mkdir(parents=True, exist_ok=True)
        tmp = archive.with_suffix(".tmp")
        run(["docker", "save", "-o", str(tmp), name])
        tmp.rename(archive)
    log(f"{name} ready (recipe {key})")


def cmd_images(args) -> None:
    names = args.names or list(IMAGES)
    unknown = sorted(set(names) - set(IMAGES))
    if unknown:
        sys.exit(f"lab: unknown image(s) {unknown}; known: {sorted(IMAGES)}")
    for name in names:
        build_image(name, IMAGES[name])


def node_state(name: str) -> str:
    res = run(["docker", "exec", name, "systemctl", "is-system-running"], check=False,
              capture_output=True)
    return res.stdout.strip()


def network_up(name: str = LAB_NETWORK) -> str:
    """A user-defined bridge, so that nodes reach each other (and the registry) by name."""
    if run(["docker", "network", "inspect", name], check=False,
           capture_output=True).returncode != 0:
        run(["docker", "network", "create", "--label", f"{LAB_LABEL}=network", name],
            stdout=subprocess.DEVNULL)
    return name


def node_up(name: str, publish: list[str], image: str = NODE_IMAGE,
            network: str | None = None) -> None:
    status = run(["docker", "container", "inspect", "--format", "{{ .State.Status }}", name],
                 check=False, capture_output=True).stdout.strip()
    if status and status != "running":
        # Left stopped by an engine that went away (a session's dockerd is ended before CI
        # runs on the same machine): systemd cannot be exec'ed into, so start afresh.
        log(f"node {name} is {status}; removing it to start afresh")
        node_down(name)
        status = ""
    if not status:
        ports = [a for p in publish for a in ("-p", p)]
        net = ["--network", network_up(network)] if network else []
        run(["docker", "run", "-d", "--name", name, "--hostname", name,
             "--label", f"{LAB_LABEL}=node", *NODE_RUN_ARGS, *net,
             "-v", f"{name}-docker:/var/lib/docker", *ports,
             image, "/lib/systemd/systemd"], stdout=subprocess.DEVNULL)
    state = ""
    for _second in range(90):
        state = node_state(name)
        if state in ("running", "degraded"):
            log(f"node {name}: systemd {state}")
            return
        time.sleep(1)
    sys.exit(f"lab: node {name} did not boot (systemd says {state!r}); "
             f"see 'docker logs {name}'")


def node_down(name: str) -> None:
    run(["docker", "rm", "-f", "-v", name], check=False, capture_output=True)
    run(["docker", "volume", "rm", "-f", f"{name}-docker"], check=False, capture_output=True)
    log(f"node {name} removed")


def cmd_node(args) -> None:
    for name in args.names:
        if args.action == "up":
            node_up(name, args.publish)
        else:
            node_down(name)


def cmd_down(_args) -> None:
    names = out(["docker", "ps", "-a", "--filter", f"label={LAB_LABEL}=node",
                 "--format", "{{.Names}}"]).split()
    for name in names:
        node_down(name)
    run(["docker", "network", "rm", LAB_NETWORK], check=False, capture_output=True)


def node_exec(name: str, *argv: str, data: str | None = None, check: bool = True) -> str:
    res = run(["docker", "exec", "-i", name, *argv], check=check, input=data,
              capture_output=True)
    return res.stdout


def copy_image(source: str, dest: str, image: str) -> None:
    """Give node ``dest`` the image ``image`` that node ``source`` holds (docker save on
    one, docker load on the other, streamed): shared lab nodes need not build the same
    image twice. ``dest``'s engine must be installed; its start is waited for."""
    for _second in range(60):
        if run(["docker", "exec", dest, "docker", "info"], check=False,
               capture_output=True).returncode == 0:
            break
        time.sleep(1)
    else:
        sys.exit(f"lab: the Docker engine in node {dest} did not start")
    save = subprocess.Popen(["docker", "exec", source, "docker", "save", image],
                            stdout=subprocess.PIPE)
    load = subprocess.run(["docker", "exec", "-i", dest, "docker", "load", "-q"],
                          stdin=save.stdout, capture_output=True, text=True, check=False)
    save.stdout.close()
    if save.wait() != 0 or load.returncode != 0:
        sys.exit(f"lab: copying {image} from node {source} to node {dest} failed: "
                 f"{load.stderr.strip()}")
    log(f"node {dest}: {image} loaded from node {source}")


def registry_up(name: str, out_dir: Path) -> dict:
    """A node on the lab network serving Debian's ``docker-registry`` package (the
    Distribution registry 2.8) over TLS with htpasswd logins, as a private registry is run:
    a lab CA signs the registry's certificate for its name on the network. Writes
    ``ca.crt`` and ``credentials.json`` (user, password, address) to ``out_dir``; the
    password is made once per lab and kept there with mode 0600."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = out_dir / "ca.key", out_dir / "ca.crt"
    key, csr, crt = out_dir / "tls.key", out_dir / "tls.csr", out_dir / "tls.crt"
    if not ca_crt.exists():
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(ca_key), "-out", str(ca_crt), "-days", "30",
             "-subj", "/CN=inferops lab registry CA"], capture_output=True)
        crt.unlink(missing_ok=True)
    if not crt.exists():
        run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}",
             "-addext", f"subjectAltName=DNS:{name}"], capture_output=True)
        run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey",
             str(ca_key), "-CAcreateserial", "-days", "30", "-copy_extensions", "copy",
             "-out", str(crt)], capture_output=True)
    creds_path = out_dir / "credentials.json"
    if creds_path.exists():
        creds = json.loads(creds_path.read_text())
    else:
        creds = {"username": "inferops", "password": os.urandom(18).hex(),
                 "address": f"{name}:{REGISTRY_PORT}"}
        creds_path.touch(mode=0o600)
        creds_path.write_text(json.dumps(creds))
    creds["address"] = f"{name}:{REGISTRY_PORT}"
    node_up(name, [], network=LAB_NETWORK)
    if "docker-registry" not in node_exec(name, "dpkg-query", "-W", "-f", "${Package}\n",
                                          "docker-registry", "apache2-utils", check=False):
        log(f"registry {name}: apt-get install docker-registry apache2-utils")
        node_exec(name, "sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                  "apt-get install -y -qq docker-registry apache2-utils >/dev/null")
    config = (
        "version: 0.1\n"
        "log: {level: info, fields: {service: registry}}\n"
        "storage:\n  filesystem: {rootdirectory: /var/lib/docker-registry}\n"
        "  delete: {enabled: true}\n"
        f"http:\n  addr: ':{REGISTRY_PORT}'\n"
        "  tls: {certificate: /etc/docker/registry/tls.crt, key: /etc/docker/registry/tls.key}\n"
        "auth:\n  htpasswd: {realm: inferops-lab, path: /etc/docker/registry/htpasswd}\n")
    node_exec(name, "sh", "-c", "cat > /etc/docker/registry/config.yml", data=config)
    for path, mode in ((crt, "0644"), (key, "0640")):
        node_exec(name, "sh", "-c", f"cat > /etc/docker/registry/{path.name} && chmod {mode} "
                  f"/etc/docker/registry/{path.name} && chgrp docker-registry "
                  f"/etc/docker/registry/{path.name}", data=path.read_text())
    node_exec(name, "htpasswd", "-Bbc", "/etc/docker/registry/htpasswd", creds["username"],
              creds["password"])
    node_exec(name, "chgrp", "docker-registry", "/etc/docker/registry/htpasswd")
    node_exec(name, "systemctl", "restart", "docker-registry")
    for _second in range(30):
        res = run(["docker", "exec", name, "bash", "-c",
                   f"exec 3<>/dev/tcp/127.0.0.1/{REGISTRY_PORT}"], check=False,
                  capture_output=True)
        if res.returncode == 0:
            log(f"registry {creds['address']} answers (TLS, htpasswd)")
            return creds
        time.sleep(1)
    sys.exit(f"lab: the registry on {name} did not start; "
             f"see 'docker exec {name} journalctl -u docker-registry'")


def cmd_registry(args) -> None:
    creds = registry_up(args.name, Path(args.out))
    print(json.dumps({"address": creds["address"], "ca": str(Path(args.out) / "ca.crt")}))


def cmd_archive(args) -> None:
    print(archive_path(args.name))


def cmd_preflight(args) -> None:
    free = shutil.disk_usage("/var/lib" if Path("/var/lib/docker").exists() else "/").free
    if free < args.min_free_gb * 2**30:
        sys.exit(f"lab: only {free / 2**30:.1f} GiB free on the Docker disk; "
                 f"the lab needs {args.min_free_gb} GiB. Free some space "
                 f"(docker system prune, 'make clean') and run again.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("engine").set_defaults(func=cmd_engine)
    images = sub.add_parser("images")
    images.add_argument("names", nargs="*", help=f"default: all of {', '.join(IMAGES)}")
    images.set_defaults(func=cmd_images)
    node = sub.add_parser("node")
    node.add_argument("action", choices=["up", "down"])
    node.add_argument("names", nargs="+")
    node.add_argument("--publish", action="append", default=[],
                      help="a docker -p spec, e.g. 127.0.0.1:18000:8000")
    node.set_defaults(func=cmd_node)
    sub.add_parser("down").set_defaults(func=cmd_down)
    registry = sub.add_parser("registry", help="a TLS registry node on the lab network")
    registry.add_argument("name")
    registry.add_argument("--out", default="build/registry")
    registry.set_defaults(func=cmd_registry)
    archive = sub.add_parser("archive", help="print the archive path of a lab image")
    archive.add_argument("name", choices=list(IMAGES))
    archive.set_defaults(func=cmd_archive)
    pre = sub.add_parser("preflight")
    pre.add_argument("--min-free-gb", type=float, default=15)
    pre.set_defaults(func=cmd_preflight)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
