"""The ROCm flavour end to end through site.yml, twice each: with ``triton_image_source: pull``
(AMD's tag, from the lab's TLS registry) on an Ubuntu 24.04 node (the only OS AMD supports
its image on) and a Debian 12 node, and with ``build`` (AMD's repository: its base script and
build.py) on the Ubuntu one.

Real here: the noble node (systemd, Docker Engine installed by the docker_engine role from
Ubuntu's archive), the registry and its login, the pull, AMD's base script and build.py,
AMD's entrypoint (``/opt/rocm/rocm_entrypoint.sh`` from the snapshot, which runs its parts
and then ``exec "$@"``), systemd's unit and its restarts, the GPU passthrough flags, groups
and environment the triton_server role derives, the gate (readiness, models READY, a zero
inference), and a second run that changes nothing.

What stands in (docs/architecture.md, "Stand-ins"):
- the GPUs: a captured 8x MI210 KFD topology (tests/fixtures/kfd/mi210-8gpu-xgmi, read
  through ``triton_server_rocm_root``) and ``/dev/kfd`` and ``/dev/dri/renderD128..135``
  made with mknod as the null device's numbers; no AMD GPU is here;
- the server inside AMD's image: the real CPU ``tritonserver`` (lab/rocm_standin.py), its
  ONNX backend also named ``onnxruntime``. So the models use ``KIND_CPU`` instance groups
  here: a ``KIND_GPU`` group needs a GPU the server can use. The MIGraphX accelerator is
  rendered into the config as on a GPU host and ignored by the stand-in backend;
- ROCm itself: ``rocm_enabled`` is false here (molecule/rocm converges the rocm role on
  Ubuntu 24.04 and Debian 12 against the signed stand-in apt repository).

Needs the lab (make lab, which makes the stand-in images and their archives) and
../shared/upstream.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab"))
import labctl  # noqa: E402
import rocm_standin  # noqa: E402

# distro -> (node, its image); the node under test is CURRENT["node"] (the fixture sets it).
NODES = {"ubuntu": ("inferops-test-noble", "inferops-lab/node:ubuntu2404"),
         "debian": ("inferops-test-bookworm", "inferops-lab/node:debian12")}
CURRENT = {"node": NODES["ubuntu"][0]}
PUSHED = set()  # the image references pushed to the module's registry
REGISTRY = "inferops-test-rocm-registry"
KFD = "/srv/kfd-mi210"
RENDER_MINORS = range(128, 136)
MODEL = ROOT / "build" / "models" / "resnet50-v2.onnx"


def node(*argv, check=True, data=None):
    return subprocess.run(["docker", "exec", "-i", CURRENT["node"], *argv], capture_output=True,
                          text=True, check=check, input=data)


def recap(output):
    match = re.search(rf"^{CURRENT['node']}\s+:\s+ok=(\d+)\s+changed=(\d+).*failed=(\d+)",
                      output, re.M)
    assert match, output[-3000:]
    return {"ok": int(match[1]), "changed": int(match[2]), "failed": int(match[3])}


@pytest.fixture(scope="module")
def registry():
    """The lab's TLS registry, one for both nodes: what the first node pushed, the second
    pulls too."""
    yield labctl.registry_up(REGISTRY, ROOT / "build" / "registry-rocm")
    labctl.node_down(REGISTRY)


@pytest.fixture(scope="module", params=sorted(NODES, reverse=True))
def lab(request, registry, tmp_path_factory):
    CURRENT["node"], image = NODES[request.param]
    name = CURRENT["node"]
    archives = [labctl.archive_path(rocm_standin.PREBUILT),
                labctl.archive_path(rocm_standin.BASE_IMAGE)]
    if not rocm_standin.SERVER_TARBALL.is_file():
        pytest.skip(f"{rocm_standin.SERVER_TARBALL} is not here: the stand-ins are made from "
                    "AMD's own repository")
    missing = [str(a) for a in archives if not a.is_file()]
    assert not missing, f"run make lab first: {missing}"
    work = tmp_path_factory.mktemp("rocm-flavour")
    creds = registry
    labctl.node_down(name)
    labctl.node_up(name, [], image=image, network=labctl.LAB_NETWORK)
    # The GPUs this node pretends to have (see the module's docstring).
    subprocess.run(["docker", "cp", str(ROOT / "tests" / "fixtures" / "kfd" /
                                        "mi210-8gpu-xgmi"), f"{name}:{KFD}"], check=True)
    minors = " ".join(map(str, RENDER_MINORS))
    node("sh", "-ec", f"""
        getent group render >/dev/null || groupadd --system render
        mkdir -p /dev/dri {KFD}/etc {KFD}/dev
        for minor in {minors}; do mknod -m 0660 /dev/dri/renderD$minor c 1 3; done
        mknod -m 0660 /dev/kfd c 1 3
        cp /etc/group {KFD}/etc/group && touch {KFD}/dev/kfd""")
    # AMD's guide as the inventory users run (inventory/guide), and the lab's overlay: the
    # node, the registry's copy of AMD's tag, the captured GPUs, the model from this machine
    # (the zoo is unreachable; a generated model of the same architecture and tensor names)
    inventory = work / "hosts.yml"
    sha = subprocess.run(["sha256sum", str(MODEL)], capture_output=True, text=True,
                         check=True).stdout.split()[0]
    inventory.write_text(json.dumps({"triton_nodes": {"hosts": {name: {
        "ansible_connection": "community.docker.docker",
        "rocm_enabled": False,
        "triton_image_pull_ref": f"{creds['address']}/{rocm_standin.PREBUILT}",
        "triton_image_pull_username": creds["username"],
        "triton_image_pull_password": creds["password"],
        "triton_server_rocm_root": KFD,
        "guide_model_url": f"file://{MODEL}",
        "guide_model_sha256": sha,
        # the stand-in server has no GPU to place a KIND_GPU instance on
        "guide_instance_kind": "KIND_CPU",
        "benchmark_results_dir": str(work / "benchmark-results"),
        "benchmark_run_id": "guide",
        "benchmark_client_base_image": "inferops-lab/debian:13",
        "benchmark_client_base_image_archive":
            str(labctl.archive_path("inferops-lab/debian:13")),
        "benchmark_measurement_interval_ms": 1000,
    }}}}))
    yield {"work": work, "inventory": inventory, "creds": creds, "distro": request.param}
    labctl.node_down(name)


def changed_tasks(output):
    """The output of the tasks that reported a change (what a second run should not have)."""
    return "\n".join(block for block in output.split("\nTASK [") if "changed: [" in block)[-6000:]


def site(lab, *args, **variables):
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventory" / "guide"),
         "-i", str(lab["inventory"]), str(ROOT / "site.yml"), "-e", json.dumps(variables),
         *args],
        capture_output=True, text=True, check=False, timeout=1800, cwd=ROOT)
    output = proc.stdout + proc.stderr
    assert lab["creds"]["password"] not in output
    return proc.returncode, output


def load(archive):
    with open(archive, "rb") as handle:
        subprocess.run(["docker", "exec", "-i", CURRENT["node"], "docker", "load", "-q"],
                       stdin=handle,
                       check=True, capture_output=True)


def served(image_ref):
    """What the running server is: its container's image, entrypoint, devices, groups."""
    inspect = json.loads(node("docker", "inspect", "triton-server").stdout)[0]
    image = json.loads(node("docker", "image", "inspect", inspect["Image"]).stdout)[0]
    return inspect, image


def check_server(lab):
    inspect, image = served(None)
    assert image["Config"]["Entrypoint"] == ["/opt/rocm/rocm_entrypoint.sh"]
    assert inspect["Config"]["Cmd"][0] == "tritonserver"
    assert "--exit-on-error=false" in inspect["Config"]["Cmd"]
    host = inspect["HostConfig"]
    assert [d["PathOnHost"] for d in host["Devices"]] == [
        "/dev/kfd", *(f"/dev/dri/renderD{m}" for m in RENDER_MINORS)]
    render = node("getent", "group", "render").stdout.split(":")[2]
    video = node("getent", "group", "video").stdout.split(":")[2]
    assert host["GroupAdd"] == [render, video]
    assert not host["Privileged"] and not host["CapAdd"]
    env = dict(e.split("=", 1) for e in inspect["Config"]["Env"])
    assert env["ORT_MIGRAPHX_MODEL_CACHE_PATH"] == "/var/cache/migraphx"
    # AMD's entrypoint ran its parts (the banner) before it exec'ed tritonserver
    journal = node("journalctl", "-u", "triton-server", "--no-pager", "-o", "cat").stdout
    assert "== Triton Inference Server ==" in journal
    config = json.loads(node("python3", "-c", "import urllib.request; print(urllib.request."
                             "urlopen('http://127.0.0.1:8000/v2/models/resnet50_onnx/config')."
                             "read().decode())").stdout)
    assert config["backend"] == "onnxruntime"
    assert config["max_batch_size"] == 8
    assert int(config["dynamic_batching"]["max_queue_delay_microseconds"]) == 100
    accel = config["optimization"]["execution_accelerators"]["gpu_execution_accelerator"]
    assert accel[0]["name"] == "migraphx"
    return image


def test_pull_amds_image_serves_through_its_entrypoint_and_converges(lab):
    # The registry gets AMD's tag (the stand-in), pushed from the first node: the
    # docker_engine stage first, then the image goes up and the node forgets it, so the
    # role's pull is real. The second node finds it there. Each node trusts the lab CA.
    rc, out = site(lab, "--tags", "engine")
    assert rc == 0, out[-5000:]
    creds, ref = lab["creds"], f"{lab['creds']['address']}/{rocm_standin.PREBUILT}"
    ca = (ROOT / "build" / "registry-rocm" / "ca.crt").read_text()
    node("sh", "-c", f"mkdir -p /etc/docker/certs.d/{creds['address']} && cat > "
         f"/etc/docker/certs.d/{creds['address']}/ca.crt", data=ca)
    if ref not in PUSHED:
        load(labctl.archive_path(rocm_standin.PREBUILT))
        node("docker", "login", "-u", creds["username"], "--password-stdin", creds["address"],
             data=creds["password"])
        node("docker", "tag", rocm_standin.PREBUILT, ref)
        node("docker", "push", "-q", ref)
        node("docker", "logout", creds["address"])
        node("docker", "rmi", rocm_standin.PREBUILT, ref)
        PUSHED.add(ref)
    assert "rocm/tritoninferenceserver" not in node("docker", "images").stdout

    rc, out = site(lab)
    assert rc == 0, out[-5000:]
    assert recap(out)["changed"] > 0
    image = check_server(lab)
    assert image["RepoDigests"] and image["RepoDigests"][0].startswith(f"{creds['address']}/")
    # the guide's benchmark (HTTP, random input, concurrency 1, batch 1), on the controller
    summary = json.loads((lab["work"] / "benchmark-results" / "guide" / CURRENT["node"] /
                          "summary.json").read_text())
    assert [(r["model"], r["batch_size"], r["concurrency"]) for r in summary["results"]] == [
        ("resnet50_onnx", 1, 1)]
    assert summary["results"][0]["throughput_infer_per_sec"] > 0
    # the second run: nothing changes (the benchmark, which changes nothing, is left out)
    rc, out = site(lab, "--diff", "-v", benchmark_enabled=False)
    assert rc == 0, out[-5000:]
    assert recap(out)["changed"] == 0, changed_tasks(out)


def test_build_from_amds_repository_serves_and_converges(lab):
    if lab["distro"] != "ubuntu":
        pytest.skip("the build path runs on the Ubuntu node; Debian 12 builders are "
                    "test_triton_image_fleet's")
    # The builder's base (what AMD's base scripts build FROM, unreachable here) is the
    # stand-in; the repository is AMD's snapshot with the lab commit (lab/rocm_standin.py).
    rc, out = site(lab, "--tags", "engine")
    assert rc == 0, out[-5000:]
    load(labctl.archive_path(rocm_standin.BASE_IMAGE))
    repo = lab["work"] / "upstream"
    rocm_standin.repo(repo)
    subprocess.run(["docker", "cp", str(repo), f"{CURRENT['node']}:/srv/rocm-server"],
                   check=True)
    # git on the builder fetches what build.py clones from GitHub's stand-in, as a site would
    # through a mirror (the role installs git; the setting is the site's)
    node("sh", "-c", "cat >> /etc/gitconfig", data='[url "file:///srv/rocm-server/github/"]\n'
         '\tinsteadOf = https://github.com/\n')
    build = {"triton_image_source": "build", "triton_image_source_url": "/srv/rocm-server",
             "benchmark_enabled": False}
    rc, out = site(lab, **build)
    assert rc == 0, out[-5000:]
    assert recap(out)["changed"] > 0
    image = check_server(lab)
    labels = image["Config"]["Labels"]
    assert labels["com.amd.tritonserver.version"] == "2.64.0"
    assert labels["org.inferops.triton.source"] == "/srv/rocm-server"
    assert "--target-platform=linux" in labels["org.inferops.triton.build-args"]
    rc, out = site(lab, "--diff", "-v", **build)
    assert rc == 0, out[-5000:]
    assert recap(out)["changed"] == 0, changed_tasks(out)
