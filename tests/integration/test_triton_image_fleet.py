"""Fleet distribution of the server image, for real: three lab nodes (a builder and two
nodes, each a systemd container with its own Docker engine) on the lab network, and a
registry node serving Debian's docker-registry over TLS with an htpasswd login
(lab/labctl.py registry). The builder builds the image once - the from-source path: AMD's
base script and build.py from a git repository of AMD's snapshot (lab/rocm_standin.py; GitHub
is not reachable here), its base Dockerfiles on a plain Debian since this image only travels -
and the two nodes get it from the registry, then through the controller with no registry.

Needs the lab (make lab): inferops-lab/node:debian12-docker and inferops-lab/debian:12, and
../shared/upstream.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab"))
import imagefleet  # noqa: E402
from imagefleet import image_id as held  # noqa: E402

BUILDER = "inferops-test-builder"
NODES = ["inferops-test-node1", "inferops-test-node2"]
IMAGE = "inferops/tritonserver:rocm7.2-ubuntu"
node = imagefleet.node


def image_id(name):
    return held(name, IMAGE)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    if not imagefleet.rocm_standin.SERVER_TARBALL.is_file():
        pytest.skip(f"{imagefleet.rocm_standin.SERVER_TARBALL} is not here: the build path "
                    "runs against AMD's own repository")
    fleet = imagefleet.up(tmp_path_factory.mktemp("fleet"), BUILDER, NODES)
    yield fleet
    imagefleet.down(fleet)


def converge(fleet, *flags, **variables):
    rc, report, output = imagefleet.converge(fleet, *flags, **variables)
    assert fleet["creds"]["password"] not in output
    if report is None:
        pytest.fail(f"ansible-playbook printed no JSON report: {output[-3000:]}")
    return rc, report


def tasks_named(report, name):
    return [task["hosts"] for task in report["plays"][0]["tasks"]
            if task["task"]["name"].split(" : ", 1)[-1] == name]


def failures(report):
    return {host: result.get("msg") for task in report["plays"][0]["tasks"]
            for host, result in task["hosts"].items() if result.get("failed")}


def test_registry_builds_once_and_both_nodes_pull_the_builders_image(fleet):
    rc, report = converge(fleet, triton_image_distribution="registry")
    assert rc == 0, failures(report)
    built = image_id(BUILDER)
    assert built and image_id(NODES[0]) == built and image_id(NODES[1]) == built
    labels = json.loads(node(NODES[1], "docker", "image", "inspect", "--format",
                             "{{ json .Config.Labels }}", IMAGE).stdout)
    assert "migraphx=" in labels["org.inferops.triton.clones"]
    assert labels["org.inferops.triton.source"] == "/srv/rocm-server"
    # Built once: the build ran on the builder only, the nodes pulled from the registry.
    assert node(NODES[0], "test", "-e", "/var/lib/inferops-triton/build/"
                "triton-inference-server-server").returncode != 0
    pulled = tasks_named(report, "Pull the builder's image on the hosts that lack it")[0]
    for name in NODES:
        assert pulled[name]["changed"] and pulled[name]["image_id"] == built
        assert pulled[name]["digest"].startswith(f"{fleet['creds']['address']}/{IMAGE}"
                                                 .rsplit(":", 1)[0] + "@sha256:")
    # The login lived in a temporary client configuration, gone after the task.
    assert node(NODES[0], "test", "-e", "/root/.docker/config.json").returncode != 0


def test_a_second_run_changes_nothing(fleet):
    rc, report = converge(fleet, triton_image_distribution="registry")
    assert rc == 0, failures(report)
    assert all(stats["changed"] == 0 for stats in report["stats"].values())


def test_check_mode_with_a_changed_argument_reports_and_changes_nothing(fleet):
    before = {name: image_id(name) for name in [BUILDER, *NODES]}
    rc, report = converge(fleet, "--check", triton_image_distribution="registry",
                          triton_image_build_extra_args=["--repo-tag=common:r25.12"])
    assert rc == 0, failures(report)
    build = tasks_named(report, "Decide whether the image's provenance changed "
                                "(builds nothing)")[0]
    assert any(result["changed"] for result in build.values())
    assert {name: image_id(name) for name in [BUILDER, *NODES]} == before


def test_pull_source_takes_a_registry_image_and_returns_its_digest(fleet):
    # Each node pulls on its own (no builder), as it would AMD's prebuilt image.
    creds = fleet["creds"]
    pulled_as = "inferops/tritonserver:pulled"
    variables = {"triton_image_distribution": "none", "triton_image_source": "pull",
                 "triton_image_pull_ref": f"{creds['address']}/{IMAGE}",
                 "triton_image_pull_username": creds["username"],
                 "triton_image_pull_password": creds["password"], "triton_image_tag": "pulled"}
    rc, report = converge(fleet, **variables)
    assert rc == 0, failures(report)
    result = tasks_named(report, "Pull the server image from its registry")[0][NODES[0]]
    repo_digests = json.loads(node(NODES[0], "docker", "image", "inspect", "--format",
                                   "{{ json .RepoDigests }}", pulled_as).stdout)
    assert result["changed"] and result["digest"] in repo_digests
    assert result["image_id"] == image_id(BUILDER) == held(NODES[0], pulled_as)
    # 'always' asks the registry again: same id, so nothing changed.
    rc, report = converge(fleet, **variables, triton_image_pull_policy="always")
    assert rc == 0, failures(report)
    assert all(stats["changed"] == 0 for stats in report["stats"].values())
    for name in NODES:
        node(name, "docker", "image", "rm", pulled_as)


def test_controller_carries_the_image_to_the_node_that_lacks_it(fleet):
    built = image_id(BUILDER)
    node(NODES[1], "docker", "image", "rm", IMAGE)
    assert image_id(NODES[1]) is None
    rc, report = converge(fleet, "--check", triton_image_distribution="controller")
    assert rc == 0, failures(report)
    said = tasks_named(report, "Report the hosts the image would be copied to")[0]
    assert "would be copied to inferops-test-node2" in said[NODES[1]]["msg"]
    assert said[NODES[0]].get("skipped") and image_id(NODES[1]) is None
    rc, report = converge(fleet, triton_image_distribution="controller")
    assert rc == 0, failures(report)
    assert image_id(NODES[1]) == built and image_id(NODES[0]) == built
    copied = tasks_named(report, "Copy the archive to the hosts that lack the image")[0]
    assert copied[NODES[1]]["changed"] and copied[NODES[0]].get("skipped")
    # The controller's copy is the builder's archive, byte for byte (sha256 of both).
    saved = tasks_named(report, "Save the image on the builder, gzipped, unless the archive "
                                "holds it already")[0]
    record = next(iter(saved.values()))
    archive = fleet["work"] / "cache" / "images" / "inferops_tritonserver_rocm7.2-ubuntu.tar.gz"
    digest = subprocess.run(["sha256sum", str(archive)], capture_output=True, text=True,
                            check=True).stdout.split()[0]
    assert record["sha256"] == digest and record["image_id"] == built
    assert node(NODES[1], "test", "-e", "/var/lib/inferops-triton/build/"
                "inferops_tritonserver_rocm7.2-ubuntu.tar.gz").returncode != 0

    rc, report = converge(fleet, triton_image_distribution="controller")
    assert rc == 0, failures(report)
    assert all(stats["changed"] == 0 for stats in report["stats"].values())
