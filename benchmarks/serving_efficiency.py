"""Serving efficiency of the CPU flavour: served throughput over in-process ONNX Runtime.

For each batch size, on one lab node converged by site.yml (through lab/demo.py):

- served: perf_analyzer from the benchmark role's client image, on the node's host network,
  against the CPU-flavour Triton server the play started (the demo's ``resnet50``, dynamic
  batching on), gRPC, with the benchmark role's measurement and stability settings;
- in-process: the same ONNX file run by onnxruntime inside the server image
  (``docker run --entrypoint python3`` on the node: the server's onnxruntime build, numpy and
  cores, the onnxruntime_cpu backend's session options), passes of a fixed number of runs
  after warm-up, before and after each served run; inferences/s = batch * runs / seconds,
  the median of the passes during which the rest of the machine was quiet.

Both sides compute on the same input: one image-like FP32 sample (uniform in [0, 1), seeded),
given to perf_analyzer as its --input-data directory and repeated to the batch in-process.
perf_analyzer's default "random" input is random bytes read as FP32 (NaN, Inf and denormal
values; the variant ``random`` measures it), which is not what a model is served.

The ratio served / in-process is the serving efficiency (target 0.95). Beside it, where the
served time goes: the batches the server executed and their compute time (Triton's
statistics API), the CPU the server, perf_analyzer and the rest of the machine used during
the run (cgroup accounting, the shell's ``times``, /proc/stat: client and server share the
node's cores, and other sessions share the machine), and the CPU-seconds per image on both
sides. ``--variants`` adds served runs (see VARIANTS): HTTP, other concurrencies, random
input, and, re-converging the server (so they run last), system shared memory (server and
client with ``--ipc=host``), dynamic batching without queue delay, and two model instances
of one onnxruntime thread each.

    .venv/bin/python benchmarks/serving_efficiency.py [--batch-sizes 1,4,8] [--concurrency 2]
        [--variants random,http,c1,c4,shm,nodelay,inst2] [--keep-node]
"""

from __future__ import annotations

import argparse
import array
import csv
import hashlib
import io
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lab"))
import labctl  # noqa: E402

NODE = "inferops-bench-serving"
MODEL = "resnet50"
# The roles' defaults for what the play makes on the node.
SERVER_CONTAINER = "triton-server"
MODEL_DIR = f"/var/lib/inferops-triton/models/{MODEL}"
BENCHMARK_DEFAULTS = yaml.safe_load(
    (ROOT / "roles" / "benchmark" / "defaults" / "main.yml").read_text())
CLIENT_IMAGE = BENCHMARK_DEFAULTS["benchmark_client_image"]
RUN_ID = "serving-efficiency"
TARGET = 0.95
SAMPLE_DIR = "/tmp/inferops-serving-efficiency"

# Runs inside the server image: the backend's session setup (model.py, initialize), the
# batch made of the sample perf_analyzer sends, warm-up, then timed passes. /proc/stat is
# the machine's, so each pass also says how much CPU other processes took meanwhile.
IN_PROCESS = r"""
import json, os, sys, time
import numpy as np
import onnxruntime as ort

def busy():
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")

path, sample, batch, runs, warmup, passes, intra, inter = sys.argv[1:3] + [
    int(x) for x in sys.argv[3:]]
options = ort.SessionOptions()
options.intra_op_num_threads = intra
options.inter_op_num_threads = inter
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
names = [o.name for o in session.get_outputs()]
model_input = session.get_inputs()[0]
image = np.fromfile(sample, dtype=np.float32).reshape(model_input.shape[1:])
feed = {model_input.name: np.ascontiguousarray(np.broadcast_to(image, (batch, *image.shape)))}
for count in range(warmup):
    session.run(names, feed)
timings = []
for count in range(passes):
    wall, cpu, machine = time.perf_counter(), time.process_time(), busy()
    for run in range(runs):
        session.run(names, feed)
    timings.append({"seconds": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                    "machine_busy": busy() - machine})
print(json.dumps({"onnxruntime": ort.__version__, "numpy": np.__version__,
                  "cpus": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
                  "timings": timings}))
"""


def models_with(**config):
    """The demo inventory's models, with ``config`` laid over the benchmarked one's config."""
    group_vars = ROOT / "inventory" / "demo" / "group_vars" / "triton_nodes.yml"
    models = yaml.safe_load(group_vars.read_text())["triton_models"]
    for model in models:
        if model["name"] == MODEL:
            model["config"].update(config)
    return models


# name -> extra-vars for the play, docker run options and flags for the client, label.
VARIANTS = {
    "random": {"flags": {"--input-data": "random"},
               "label": "perf_analyzer's default input: random bytes read as FP32 "
                        "(NaN, Inf, denormals)"},
    "http": {"flags": {"-i": "http", "-u": "127.0.0.1:8000"}, "label": "HTTP instead of gRPC"},
    "c1": {"flags": {"--concurrency-range": "1"}, "label": "concurrency 1"},
    "c4": {"flags": {"--concurrency-range": "4"}, "label": "concurrency 4"},
    "shm": {"play": {"triton_server_ipc_host": True}, "docker": ["--ipc=host"],
            "flags": {"--shared-memory": "system"},
            "label": "tensors in system shared memory (server and client --ipc=host)"},
    "nodelay": {"play": {"triton_models": models_with(
        dynamic_batching={"max_queue_delay_microseconds": 0})},
        "label": "dynamic batching without the 2 ms queue delay"},
    "inst2": {"play": {"triton_models": models_with(
        instance_group=[{"kind": "KIND_CPU", "count": 2}],
        parameters={"intra_op_thread_count": {"string_value": "1"}})},
        "label": "two model instances of one onnxruntime thread each (ratio against "
                 "the one-instance in-process figure)"},
}
# A measurement during which other processes used more cores than this is marked.
CONTENDED = 0.2


def node(*argv, check=True, data=None):
    return subprocess.run(["docker", "exec", "-i", NODE, *argv], capture_output=True,
                          text=data is None, input=data, check=check)


def machine_busy():
    """CPU-seconds the whole machine has spent busy (all cores), from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(x) for x in stat.readline().split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def wait_quiet(limit, threshold=CONTENDED):
    """Wait (at most ``limit`` s) until other work uses fewer than ``threshold`` cores: other
    sessions on this machine would take cores from either measurement."""
    start = time.monotonic()
    while True:
        before = machine_busy()
        time.sleep(5)
        load = (machine_busy() - before) / 5
        waited = time.monotonic() - start
        if load < threshold or waited >= limit:
            if waited > 6:
                labctl.log(f"waited {waited:.0f} s for other work to stop "
                           f"({load:.2f} cores busy)")
            return load


def make_inventory(work):
    inventory = work / "inventory"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text(
        "triton_nodes:\n  hosts:\n"
        f"    {NODE}:\n      ansible_connection: community.docker.docker\n")
    (inventory / "group_vars").symlink_to(ROOT / "inventory" / "demo" / "group_vars")


def converge(work, extra_vars):
    """site.yml on the node through lab/demo.py. The benchmark role only builds its client
    image (no models to measure), so the results directory is made beforehand."""
    (work / "results" / RUN_ID / NODE).mkdir(parents=True, exist_ok=True)
    variables = {"benchmark_enabled": True, "benchmark_models": [], "benchmark_run_id": RUN_ID,
                 **extra_vars}
    cmd = [sys.executable, str(ROOT / "lab" / "demo.py"), "--node", NODE,
           "--inventory", str(work / "inventory"), "--results-dir", str(work / "results"),
           "--", "-e", json.dumps(variables)]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800,
                          check=False)
    if proc.returncode != 0:
        sys.exit(f"benchmark: the play failed on {NODE} (rc {proc.returncode}):\n"
                 f"{(proc.stdout + proc.stderr)[-4000:]}")
    return time.monotonic() - start


def server_facts():
    """The running server container, its image, and the model's config on the node."""
    inspect = json.loads(node("docker", "container", "inspect", SERVER_CONTAINER).stdout)[0]
    config = node("cat", f"{MODEL_DIR}/config.pbtxt").stdout
    threads = {}
    for key in ("intra_op_thread_count", "inter_op_thread_count"):
        match = re.search(rf'key:\s*"{key}"\s*value\s*{{\s*string_value:\s*"(\d*)"', config)
        threads[key] = int(match[1]) if match and match[1] else 0  # the backend's default
    model_input = re.search(r'input \{\s*name: "([^"]+)"\s*data_type: TYPE_FP32\s*'
                            r'((?:dims: \d+\s*)+)', config)
    client_id = node("docker", "image", "inspect", "--format", "{{ .Id }}",
                     CLIENT_IMAGE).stdout.strip()
    return {"id": inspect["Id"], "image": inspect["Config"]["Image"], "image_id": inspect["Image"],
            "ipc": inspect["HostConfig"]["IpcMode"], "config": config, "threads": threads,
            "input": model_input[1], "dims": [int(d) for d in re.findall(r"\d+", model_input[2])],
            "client_id": client_id}


def put_sample(facts, seed):
    """One image-like FP32 sample (uniform in [0, 1)), the batch-1 file perf_analyzer's
    --input-data directory wants, named as the input; the in-process runs read it too."""
    rng = random.Random(seed)
    count = math.prod(facts["dims"])
    data = array.array("f", (rng.random() for index in range(count))).tobytes()
    path = f"{SAMPLE_DIR}/input/{facts['input']}"
    node("sh", "-c", f"mkdir -p -m 0777 {SAMPLE_DIR} {SAMPLE_DIR}/input && cat > {path} && "
         f"chmod 0644 {path}", data=data)
    return hashlib.sha256(data).hexdigest()


def server_cpu_seconds(container_id):
    """CPU-seconds the server container has used (cgroup v1 cpuacct or v2 cpu.stat)."""
    script = (f"cat /sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage 2>/dev/null || "
              f"grep -h usage_usec /sys/fs/cgroup/system.slice/docker-{container_id}.scope/"
              f"cpu.stat /sys/fs/cgroup/docker/{container_id}/cpu.stat 2>/dev/null")
    text = node("sh", "-c", script, check=False).stdout.split()
    if not text:
        return None
    return int(text[-1]) / (1e6 if "usage_usec" in text else 1e9)


def server_stats():
    """Triton's statistics for the model: executions per batch size and their compute times."""
    script = ("import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
              f"'http://127.0.0.1:8000/v2/models/{MODEL}/stats', timeout=10).read().decode())")
    stats = json.loads(node("python3", "-c", script).stdout)["model_stats"][0]
    return {int(entry["batch_size"]): (int(entry["compute_infer"]["count"]),
                                       int(entry["compute_infer"]["ns"]),
                                       sum(int(entry[part]["ns"]) for part in
                                           ("compute_input", "compute_infer", "compute_output")))
            for entry in stats.get("batch_stats", [])}


def in_process(facts, batch, args):
    """Timed passes of onnxruntime in the server image; one docker run, one session."""
    runs = max(1, -(-args.images // batch))
    proc = node("docker", "run", "--rm", "--entrypoint", "python3",
                f"--volume={MODEL_DIR}/1/model.onnx:/model.onnx:ro",
                f"--volume={SAMPLE_DIR}/input/{facts['input']}:/sample:ro", facts["image"],
                "-c", IN_PROCESS, "/model.onnx", "/sample", str(batch), str(runs),
                str(args.warmup), str(args.passes), str(facts["threads"]["intra_op_thread_count"]),
                str(facts["threads"]["inter_op_thread_count"]), check=False)
    if proc.returncode != 0:
        sys.exit(f"benchmark: in-process onnxruntime failed at batch {batch}:\n{proc.stderr}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["passes"] = [{"throughput": batch * runs / timing["seconds"],
                         "cpu_per_image": timing["cpu"] / (batch * runs),
                         "other": max(0.0, timing["machine_busy"] - timing["cpu"])
                         / timing["seconds"]} for timing in report.pop("timings")]
    report["runs"] = runs
    return report


def perf_flags(batch, args, variant):
    flags = {"-m": MODEL, "-b": str(batch), "--concurrency-range": str(args.concurrency),
             "-i": "grpc", "-u": "127.0.0.1:8001", "--input-data": "/work/input",
             "--measurement-interval": str(BENCHMARK_DEFAULTS["benchmark_measurement_interval_ms"]),
             "--stability-percentage": str(BENCHMARK_DEFAULTS["benchmark_stability_percentage"]),
             "--max-trials": str(BENCHMARK_DEFAULTS["benchmark_max_trials"])}
    flags.update(variant.get("flags", {}))
    return [part for key, value in flags.items()
            for part in ((f"{key}={value}",) if key.startswith("--") else (key, value))]


def served(facts, batch, args, variant):
    """One perf_analyzer run, with the batches the server executed and the CPU the server,
    the client and the rest of the machine used while it ran."""
    csv_path = f"{SAMPLE_DIR}/b{batch}.csv"
    node("rm", "-f", csv_path)
    flags = perf_flags(batch, args, variant)
    stats_before, server_before = server_stats(), server_cpu_seconds(facts["id"])
    machine_before, start = machine_busy(), time.monotonic()
    # The shell's `times` gives perf_analyzer's own CPU time (user and system) at its exit.
    proc = node("docker", "run", "--rm", "--network=host", *variant.get("docker", []),
                f"--volume={SAMPLE_DIR}:/work", "--entrypoint", "/bin/sh", CLIENT_IMAGE,
                "-c", 'perf_analyzer "$@"; rc=$?; times; exit $rc', "perf_analyzer", *flags,
                "-f", f"/work/b{batch}.csv", check=False)
    wall, machine = time.monotonic() - start, machine_busy() - machine_before
    server_after, stats_after = server_cpu_seconds(facts["id"]), server_stats()
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip() or proc.stdout.strip())[-600:]}
    row = list(csv.DictReader(io.StringIO(node("cat", csv_path).stdout)))[-1]
    times = re.findall(r"(\d+)m([\d.]+)s", proc.stdout.strip().splitlines()[-1])
    client_cpu = sum(int(minutes) * 60 + float(seconds) for minutes, seconds in times)
    server_cpu = server_after - server_before if server_before is not None else None
    executed = {size: tuple(after - before for after, before
                            in zip(entry, stats_before.get(size, (0, 0, 0))))
                for size, entry in stats_after.items()}
    executed = {size: entry for size, entry in sorted(executed.items()) if entry[0]}
    images = sum(size * entry[0] for size, entry in executed.items())
    infer_seconds = sum(entry[1] for entry in executed.values()) / 1e9
    return {"throughput": float(row["Inferences/Second"]), "wall": wall,
            "mean_batch": images / max(1, sum(entry[0] for entry in executed.values())),
            "batch_sizes": {size: entry[0] for size, entry in executed.items()},
            "compute_throughput": images / infer_seconds if infer_seconds else 0.0,
            "server_busy": sum(entry[2] for entry in executed.values()) / 1e9 / wall,
            "server_cores": server_cpu / wall if server_cpu is not None else None,
            "client_cores": client_cpu / wall,
            "cpu_per_image": ((server_cpu + client_cpu) / images
                              if server_cpu is not None and images else None),
            "other_cores": (max(0.0, machine - client_cpu - (server_cpu or 0.0)) / wall
                            if server_cpu is not None else None)}


def summarize(local):
    """Medians over the passes run while the machine was otherwise quiet (all, if none)."""
    quiet = [p for p in local["passes"] if p["other"] < CONTENDED] or local["passes"]
    local["quiet"] = sum(p["other"] < CONTENDED for p in local["passes"])
    for key in ("throughput", "cpu_per_image"):
        local[key] = statistics.median(p[key] for p in quiet)


def less_disturbed(new, old):
    """Whether served result ``new`` is better evidence than ``old``."""
    if "error" in old:
        return True
    return "error" not in new and (new["other_cores"] or 0.0) < (old["other_cores"] or 0.0)


def served_quietly(facts, batch, args, variant):
    """A served run, repeated (up to --retries) while other work disturbs it or it fails."""
    best = None
    for attempt in range(1 + args.retries):
        wait_quiet(args.quiet_wait)
        res = served(facts, batch, args, variant)
        if best is None or less_disturbed(res, best):
            best = res
        if "error" not in res and (res["other_cores"] or 0.0) < CONTENDED:
            break
        labctl.log(f"batch {batch}: " + (
            f"perf_analyzer failed: {res['error']}" if "error" in res else
            f"other work took {res['other_cores']:.2f} cores during the served run")
            + (f"; again (attempt {attempt + 2})" if attempt < args.retries else ""))
    return best


def measure(facts, args, variant, inproc, batch_sizes):
    """Served runs per batch size. With ``inproc`` (a dict to fill), --rounds served runs
    alternate with in-process blocks (one before each and one after the last), so that
    the machine's drift hits both sides; each side is the median of its measurements."""
    results = {}
    for batch in batch_sizes:
        rounds = []
        for round_index in range(args.rounds if inproc is not None else 1):
            if inproc is not None:
                wait_quiet(args.quiet_wait)
                passes = in_process(facts, batch, args)
                if round_index == 0:
                    inproc[batch] = passes
                else:
                    inproc[batch]["passes"] += passes["passes"]
            rounds.append(served_quietly(facts, batch, args, variant))
        good = [res for res in rounds if "error" not in res]
        if good:
            results[batch] = sorted(good, key=lambda res: res["throughput"])[(len(good) - 1) // 2]
            results[batch]["rounds"] = [res["throughput"] for res in good]
        else:
            results[batch] = rounds[-1]
        if inproc is not None:
            wait_quiet(args.quiet_wait)
            inproc[batch]["passes"] += in_process(facts, batch, args)["passes"]
            summarize(inproc[batch])
        labctl.log(f"batch {batch}: "
                   + (f"in-process {inproc[batch]['throughput']:.2f} infer/s, "
                      if inproc is not None else "")
                   + (f"served {results[batch]['throughput']:.2f} infer/s"
                      if "error" not in results[batch] else
                      f"perf_analyzer failed: {results[batch]['error']}"))
    return results


def cores(value):
    return " n/a" if value is None else f"{value:4.2f}"


def print_where(title, results, inproc):
    print(f"\n{title}")
    print("batch  served/s  ratio  server executions  compute/s  busy  CPU cores: server  "
          "client  other  CPU-s/image: served  in-process")
    for batch, res in results.items():
        if "error" in res:
            print(f"{batch:5d}  perf_analyzer failed: {res['error'][:300]}")
            continue
        executed = " ".join(f"{size}x{count}" for size, count in res["batch_sizes"].items())
        served_cpu = "n/a" if res["cpu_per_image"] is None else f"{res['cpu_per_image']:.3f}"
        print(f"{batch:5d}  {res['throughput']:8.2f}  "
              f"{res['throughput'] / inproc[batch]['throughput']:5.2f}  "
              f"{executed[:17]:17s}  {res['compute_throughput']:9.2f}  "
              f"{res['server_busy']:4.0%}  {cores(res['server_cores']):>17s}  "
              f"{cores(res['client_cores']):>6s}  {cores(res['other_cores']):>5s}  "
              f"{served_cpu:>19s}  {inproc[batch]['cpu_per_image']:10.3f}")


def report(facts, inproc, results, args, variants):
    first = next(iter(inproc.values()))
    print("\nServing efficiency of the CPU flavour: served / in-process throughput")
    print(f"  node           {NODE}: {first['cpus']} cores ({first['affinity']} usable "
          "by the server image's containers)")
    print(f"  server image   {facts['image']} {facts['image_id']} (--ipc={facts['ipc']})")
    print(f"  client image   {CLIENT_IMAGE} {facts['client_id']}")
    print(f"  onnxruntime    {first['onnxruntime']} (numpy {first['numpy']}), CPU provider, "
          f"intra_op_num_threads={facts['threads']['intra_op_thread_count']} "
          f"inter_op_num_threads={facts['threads']['inter_op_thread_count']} (the backend's)")
    config = " ".join(line.strip() for line in facts["config"].splitlines())
    batching = re.search(r"max_batch_size: \d+", config)
    dynamic = re.search(r"dynamic_batching \{[^}]*\}", config)
    print(f"  model          {MODEL} ({MODEL_DIR}/1/model.onnx): "
          f"{batching[0] if batching else ''}, {dynamic[0] if dynamic else 'no dynamic batching'}")
    print(f"  input          one FP32 sample uniform in [0, 1), sha256 {facts['sample'][:16]}, "
          "repeated to the batch, on both sides")
    print(f"  in-process     {args.passes} passes before each served run and after the last, "
          f"ceil({args.images}/batch) runs each after {args.warmup} warm-up runs; median of "
          f"the passes with other load < {CONTENDED} cores")
    print(f"  served         median of {args.rounds} perf_analyzer runs: "
          f"{' '.join(perf_flags('B', args, {}))}")
    print()
    print("batch  in-process infer/s  served infer/s  ratio  in-process passes (quiet)  "
          "served runs  other load when served")
    ratios = {}
    for batch in args.batch_sizes:
        local, res = inproc[batch], results[batch]
        passes = " ".join(f"{p['throughput']:.1f}" for p in local["passes"])
        passes = f"{passes} ({local['quiet']}/{len(local['passes'])})"
        if "error" in res:
            print(f"{batch:5d}  {local['throughput']:18.2f}  {'failed':>14s}         {passes}")
            continue
        ratios[batch] = res["throughput"] / local["throughput"]
        runs = " ".join(f"{value:.1f}" for value in res["rounds"])
        print(f"{batch:5d}  {local['throughput']:18.2f}  {res['throughput']:14.2f}  "
              f"{ratios[batch]:5.2f}  {passes:26s} {runs:12s} {cores(res['other_cores'])} cores")
    print_where(f"Where the served time goes (gRPC, concurrency {args.concurrency}). "
                "compute/s: images per second of the backend's execute (Triton's compute "
                "infer); busy: compute input+infer+output over the run's wall time",
                results, inproc)
    for name, variant_results in variants.items():
        print_where(f"Variant {name}: {VARIANTS[name]['label']}", variant_results, inproc)
    if not ratios:
        print("\nServing efficiency: no served measurement succeeded")
        return 1
    worst = min(ratios, key=ratios.get)
    verdict = "meets" if ratios[worst] >= TARGET else "misses"
    spread = max((max(values) - min(values)) / statistics.median(values) for values in (
        [p["throughput"] for p in inproc[batch]["passes"] if p["other"] < CONTENDED]
        or [p["throughput"] for p in inproc[batch]["passes"]] for batch in ratios))
    print(f"\nServing efficiency: minimum ratio {ratios[worst]:.2f} (batch {worst}) {verdict} "
          f"the target {TARGET} (in-process passes of one batch size spread over up to "
          f"{spread:.0%} of their median)")
    return 0 if len(ratios) == len(args.batch_sizes) else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="1,4,8",
                        type=lambda text: [int(b) for b in text.split(",")])
    parser.add_argument("--concurrency", type=int, default=2,
                        help="perf_analyzer's concurrency: 2 keeps a request waiting while "
                             "the model's one instance executes")
    parser.add_argument("--images", type=int, default=96,
                        help="images per in-process pass (runs = ceil(images / batch))")
    parser.add_argument("--rounds", type=int, default=2,
                        help="served runs per batch size, each after an in-process block")
    parser.add_argument("--passes", type=int, default=2, help="passes per in-process block")
    parser.add_argument("--warmup", type=int, default=3, help="in-process warm-up runs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the input sample")
    parser.add_argument("--variant-batch-sizes", default="1,8",
                        type=lambda text: [int(b) for b in text.split(",")],
                        help="batch sizes of the variants' runs (those among --batch-sizes)")
    parser.add_argument("--variants", default="",
                        type=lambda text: [v for v in text.split(",") if v],
                        help=f"extra served runs, comma-separated: {', '.join(VARIANTS)}")
    parser.add_argument("--quiet-wait", type=float, default=60,
                        help="seconds to wait, before each measurement, for other work on "
                             "the machine to stop")
    parser.add_argument("--retries", type=int, default=2,
                        help="served runs repeated when other work took cores during them "
                             "or perf_analyzer failed (the least disturbed one counts)")
    parser.add_argument("--keep-node", action="store_true",
                        help=f"leave {NODE} up (a second run finds it converged)")
    args = parser.parse_args()
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as work:
        work = Path(work)
        make_inventory(work)
        try:
            labctl.log(f"converging {NODE} (site.yml through lab/demo.py)")
            labctl.log(f"converged in {converge(work, {}):.0f} s")
            facts = server_facts()
            facts["sample"] = put_sample(facts, args.seed)
            inproc = {}
            results = measure(facts, args, {}, inproc, args.batch_sizes)
            variants = {}
            # Variants that change the server come last, each leaving the node that way.
            for name in sorted(args.variants, key=lambda v: "play" in VARIANTS[v]):
                variant = VARIANTS[name]
                variant_facts = facts
                if "play" in variant:
                    labctl.log(f"variant {name}: converging with {' '.join(variant['play'])} "
                               "changed")
                    converge(work, variant["play"])
                    variant_facts = dict(facts, **server_facts())
                variants[name] = measure(variant_facts, args, variant, None,
                                         [b for b in args.variant_batch_sizes if b in inproc])
            rc = report(facts, inproc, results, args, variants)
        finally:
            if args.keep_node:
                labctl.log(f"{NODE} kept (lab/labctl.py node down {NODE} removes it)")
            else:
                labctl.node_down(NODE)
    print(f"Total run time {time.monotonic() - start:.0f} s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
