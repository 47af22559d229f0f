#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: perf_analyzer
short_description: Measure a Triton model with perf_analyzer and return its results
version_added: 0.1.0
description:
  - Runs Triton's C(perf_analyzer) once against one model at one batch size, over a
    concurrency range or a request-rate range, from the host the module runs on - as a
    binary on that host (O(executable)) or in a client container with host networking
    (O(image)), such as the collection's slim client image or NGC's SDK image
    C(nvcr.io/nvidia/tritonserver:<release>-py3-sdk).
  - Keeps the raw files in O(output_dir) under one name - C(<name>.csv) (C(-f)),
    C(<name>.log) (what it printed, with C(-v)), C(<name>.windows.json) (each load level's
    measurement windows) and, with O(profile_export), C(<name>.profile.json)
    (C(--profile-export-file)) - and returns every CSV column of every row (RV(rows)), the
    comparable numbers under stable keys (RV(results)) and the measurement windows.
  - A load level perf_analyzer could not stabilise has no row; it is listed in
    RV(unstable) and warned about, not a failure. Any other error fails the task with
    perf_analyzer's own message.
  - Around the run, reads what the server and the GPU did (RV(observed)) - the model's
    counters on Triton's metrics port (O(server_metrics_url)) before and after it, and AMD's
    device metrics exporter (O(exporter_url)) before, every O(exporter_interval) seconds
    during (at most O(exporter_max_samples) times) and after it - GPU power, activity and
    energy, and the inferences per joule. What cannot be read is None with a reason, not a
    failure.
  - A measurement changes no managed state, so the module reports no change.
author: inferops.triton developers (@inferops)
options:
  model:
    description: The model to measure (C(-m)).
    type: str
    required: true
  model_version:
    description: The model version (C(-x)); unset, the server picks by its version policy.
    type: str
  url:
    description:
      - The server's endpoint for O(protocol), C(host:port) (C(-u)).
      - Unset, C(127.0.0.1:8001) for gRPC and C(127.0.0.1:8000) for HTTP.
    type: str
  protocol:
    description: The protocol the client speaks (C(-i)).
    type: str
    choices: [grpc, http]
    default: grpc
  batch_size:
    description: The batch size of each request (C(-b)).
    type: int
    default: 1
  concurrency_range:
    description:
      - Concurrent outstanding requests, C(start[:end[:step]]) (C(--concurrency-range)).
      - The default load mode, at a concurrency of 1, when neither range is set.
    type: str
  request_rate_range:
    description:
      - Requests per second, C(start[:end[:step]]) (C(--request-rate-range)). Exclusive
        with O(concurrency_range).
    type: str
  measurement_mode:
    description: How perf_analyzer delimits a measurement window (C(--measurement-mode)).
    type: str
    choices: [time_windows, count_windows]
    default: time_windows
  measurement_interval:
    description: Milliseconds of one measurement window (C(--measurement-interval)).
    type: int
    default: 5000
  measurement_request_count:
    description: Requests of one window in C(count_windows) mode (C(--measurement-request-count)).
    type: int
    default: 50
  stability_percentage:
    description:
      - Allowed spread, in percent, between the last three windows before a level counts as
        stable (C(--stability-percentage)).
    type: int
    default: 10
  max_trials:
    description: Windows tried at most per load level (C(--max-trials)).
    type: int
    default: 10
  percentile:
    description:
      - The latency percentile perf_analyzer stabilises on (C(--percentile)); unset, the
        average latency. The CSV carries p50, p90, p95 and p99 either way.
    type: int
  input_data:
    description:
      - C(zero), C(random), or the path of a JSON input-data file on the host
        (C(--input-data)); a file is mounted read-only into the client container.
      - Unset, perf_analyzer sends random bytes, which for FP32 inputs include NaN and Inf.
    type: str
  shapes:
    description:
      - Shapes of variable-size inputs, C(<input>:<dim>,<dim>...) (C(--shape)), without the
        batch dimension.
    type: list
    elements: str
    default: []
  verbose_csv:
    description: Write the extra C(--verbose-csv) columns.
    type: bool
    default: false
  collect_metrics:
    description:
      - Collect the server's GPU metrics into the CSV (C(--collect-metrics)), Triton's
        C(nv_gpu_*) metrics, which come from NVIDIA's DCGM. The columns are empty where the
        server reports none - AMD GPUs and the CPU flavour; for AMD GPUs see O(exporter_url).
    type: bool
    default: false
  metrics_url:
    description: The server's metrics URL for O(collect_metrics) (C(--metrics-url)).
    type: str
  server_metrics_url:
    description:
      - Triton's metrics endpoint, C(http://<server>:8002/metrics), read before and after
        the run; the differences of the model's C(nv_inference_*) counters are returned in
        RV(observed) (its C(server)). Unset, they are not read.
    type: str
  exporter_url:
    description:
      - AMD's device metrics exporter on the server's host, C(http://<host>:5000/metrics),
        sampled during the run for GPU power, activity and energy (C(gpu) in RV(observed)).
        Unset, or when it does not answer, the GPU values are null and C(gpu_reason) says
        why.
    type: str
  exporter_interval:
    description: Seconds between two samples of O(exporter_url) during the run.
    type: float
    default: 1.0
  exporter_max_samples:
    description: Samples of O(exporter_url) taken at most during the run.
    type: int
    default: 1800
  exporter_prefix:
    description:
      - The exporter's C(MetricsFieldPrefix), put before its metric names (empty by default;
        AMD's example configuration sets C(amd_)).
    type: str
    default: ""
  flavour:
    description:
      - The server's flavour; with C(cpu) and no O(exporter_url), the reason for the empty
        GPU values is that there is no GPU.
    type: str
    choices: [cpu, rocm]
    default: rocm
  extra_args:
    description: Further perf_analyzer arguments, passed as given after the others.
    type: list
    elements: str
    default: []
  executable:
    description: The perf_analyzer binary on the host; used when O(image) is unset.
    type: str
    default: perf_analyzer
  image:
    description:
      - A client image to run perf_analyzer in (C(docker run --rm --network=host),
        entrypoint C(perf_analyzer)); O(output_dir) is mounted for its files.
    type: str
  docker:
    description: The Docker CLI, for O(image).
    type: str
    default: docker
  output_dir:
    description: Directory on the host for the raw files; created when missing.
    type: path
    required: true
  name:
    description:
      - Base name of the raw files. Unset, C(<model>-b<batch>-c<range>) or
        C(<model>-b<batch>-r<range>) with C(:) as C(_).
    type: str
  timeout:
    description: Seconds the run may take before it is stopped and the task fails; 0 for no limit.
    type: int
    default: 0
  profile_export:
    description:
      - Also write perf_analyzer's C(--profile-export-file), kept as C(<name>.profile.json),
        and take the measurement windows from its window boundaries.
      - It holds every request's input and output tensors - about 0.6 MB per ResNet50
        request at batch 1, 600 MB for a one-minute sweep of a CPU server, far more on a
        GPU - so it is off by default, and the windows are counted from perf_analyzer's
        C(-v) C(Pass) lines instead (1.2 x O(measurement_interval) each in
        C(time_windows) mode, as perf_analyzer measures them).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Runs nothing and returns the command it would run.
  diff_mode:
    support: none
    description: Changes no managed state, so there is nothing to show.
notes:
  - perf_analyzer from the PyPI wheel C(perf-analyzer) 2.60 needs glibc 2.38 or newer
    (Debian 13, Ubuntu 24.04); on older hosts use the client image.
  - C(--shared-memory system) needs a CUDA runtime in that build; pass it through
    O(extra_args) only with the SDK image.
seealso:
  - name: perf_analyzer command line
    description: The options this module passes.
    link: https://github.com/triton-inference-server/perf_analyzer/blob/main/docs/cli.md
  - module: inferops.triton.benchmark_report
"""

EXAMPLES = r"""
- name: Measure resnet50 at batch 8, concurrency 1 to 4, with the slim client image
  inferops.triton.perf_analyzer:
    model: resnet50
    batch_size: 8
    concurrency_range: "1:4"
    input_data: zero
    image: inferops/perf-analyzer:2.60.0
    output_dir: /var/lib/inferops-triton/benchmark/runs/manual
  register: perf

- name: Show the throughput per concurrency
  ansible.builtin.debug:
    msg: "{{ perf.results | map(attribute='throughput_infer_per_sec') | list }}"

- name: Fixed request rates over HTTP from a load generator, with verbose columns
  inferops.triton.perf_analyzer:
    model: resnet50
    protocol: http
    url: "{{ hostvars[target].ansible_host }}:8000"
    request_rate_range: "10:40:10"
    verbose_csv: true
    executable: /opt/perf_analyzer/bin/perf_analyzer
    output_dir: /srv/perf/{{ target }}
"""

RETURN = r"""
# Samples: perf_analyzer 2.60 (PyPI wheel) against tritonserver 2.51.0, CPU flavour
# (tests/fixtures/perf_analyzer, SOURCE.md).
cmd:
  description: The command that ran, or would run in check mode.
  type: list
  elements: str
  returned: always
  sample: [docker, run, --rm, --name, perf-analyzer-0c1d2e3f4a5b, --network=host,
           "--volume=/var/lib/inferops-triton/benchmark/runs/x/.resnet50-b1-c1_2.abc:/results",
           --entrypoint, perf_analyzer, "inferops/perf-analyzer:2.60.0", -m, resnet50,
           -b, "1", -i, grpc, -u, "127.0.0.1:8001", --concurrency-range=1:2]
exit_code:
  description:
    - perf_analyzer's exit status; 2 with RV(unstable) when a load level did not stabilise
      (perf_analyzer stops at that level).
  type: int
  returned: unless check mode
  sample: 0
files:
  description:
    - The raw files kept, by kind - C(csv), C(windows), C(log), and C(profile) with
      O(profile_export). A kind perf_analyzer did not write is missing.
  type: dict
  returned: unless check mode
  sample:
    csv: /var/lib/inferops-triton/benchmark/runs/x/resnet50-b1-c1_2.csv
    windows: /var/lib/inferops-triton/benchmark/runs/x/resnet50-b1-c1_2.windows.json
    log: /var/lib/inferops-triton/benchmark/runs/x/resnet50-b1-c1_2.log
rows:
  description:
    - Every row of the CSV, every column under its own name, numbers typed, empty cells null.
  type: list
  elements: dict
  returned: unless check mode
  sample:
    - {"Concurrency": 1, "Inferences/Second": 23.4765, "Client Send": 84,
       "Network+Server Send/Recv": 345, "Server Queue": 2197, "Server Compute Input": 139,
       "Server Compute Infer": 37159, "Server Compute Output": 1986, "Client Recv": 7,
       "p50 latency": 41386, "p90 latency": 43902, "p95 latency": 46570, "p99 latency": 54148}
results:
  description:
    - The comparable numbers of each row under stable keys, latencies in microseconds
      (see the C(inferops.triton.parse_perf_csv) filter).
  type: list
  elements: dict
  returned: unless check mode
  sample:
    - {concurrency: 1, throughput_infer_per_sec: 23.4765, p50_latency_us: 41386,
       p90_latency_us: 43902, p95_latency_us: 46570, p99_latency_us: 54148,
       server_queue_us: 2197, server_compute_input_us: 139, server_compute_infer_us: 37159,
       server_compute_output_us: 1986}
load_mode:
  description: C(concurrency) or C(request_rate).
  type: str
  returned: always
  sample: concurrency
unstable:
  description: The requested load levels perf_analyzer could not stabilise (no row).
  type: list
  elements: float
  returned: unless check mode
  sample: [2]
profile:
  description:
    - The measurement windows per load level (C(experiments)), from the profile export
      (C(source=profile export), see the C(inferops.triton.parse_perf_profile) filter) or
      from the C(Pass) lines (C(source=passes)).
  type: dict
  returned: unless check mode
measured_seconds:
  description:
    - The sum of perf_analyzer's measurement windows over all load levels; null in
      C(count_windows) mode without O(profile_export).
  type: float
  returned: unless check mode
  sample: 24.01
started:
  description: UTC start of the run.
  type: str
  returned: unless check mode
  sample: "2026-12-02T08:15:00Z"
ended:
  description: UTC end of the run.
  type: str
  returned: unless check mode
  sample: "2026-12-02T08:15:31Z"
elapsed_seconds:
  description: Wall time of the run, container start included.
  type: float
  returned: unless check mode
  sample: 31.2
observed:
  description:
    - What the server and the GPU did during the run (the shape is C(Observer) in
      C(module_utils/bench/_observe.py)). C(seconds) is the time between the two readings
      of the server's counters. C(server) holds the model's counter differences - requests,
      failures, inferences, executions - and the queue and compute times per successful
      request in microseconds (they count perf_analyzer's warm-up and every load level);
      C(gpu) the exporter's samples, the host's GPU power in watts and activity in percent
      (means over the samples), and the energy in joules (C(energy_source) says how it was
      found); C(inferences_per_joule) the one over the other. A side that could not be read
      is null, with C(server_reason) or C(gpu_reason).
  type: dict
  returned: unless check mode
  sample:
    seconds: 31.4
    server: {url: "http://127.0.0.1:8002/metrics", requests: 712, failures: 0,
             inferences: 712, executions: 655, queue_us: 2150.3, compute_input_us: 140.2,
             compute_infer_us: 37012.9, compute_output_us: 1990.4, compute_us: 39143.5}
    server_reason: null
    gpu: null
    gpu_reason: "no exporter answered at http://127.0.0.1:5000/metrics: connection refused"
    inferences_per_joule: null
stdout:
  description: What perf_analyzer printed.
  type: str
  returned: unless check mode
stderr:
  description: What perf_analyzer printed on stderr.
  type: str
  returned: unless check mode
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.bench._observe import (
    Observer,
    gpu_absent_reason,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._perf import PerfCsvError
from ansible_collections.inferops.triton.plugins.module_utils.bench._perf_run import (
    PerfRunError,
    command,
    default_name,
    load_of,
    run,
    validate,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            model=dict(type="str", required=True),
            model_version=dict(type="str"),
            url=dict(type="str"),
            protocol=dict(type="str", choices=["grpc", "http"], default="grpc"),
            batch_size=dict(type="int", default=1),
            concurrency_range=dict(type="str"),
            request_rate_range=dict(type="str"),
            measurement_mode=dict(type="str", choices=["time_windows", "count_windows"],
                                  default="time_windows"),
            measurement_interval=dict(type="int", default=5000),
            measurement_request_count=dict(type="int", default=50),
            stability_percentage=dict(type="int", default=10),
            max_trials=dict(type="int", default=10),
            percentile=dict(type="int"),
            input_data=dict(type="str"),
            shapes=dict(type="list", elements="str", default=[]),
            verbose_csv=dict(type="bool", default=False),
            collect_metrics=dict(type="bool", default=False),
            metrics_url=dict(type="str"),
            server_metrics_url=dict(type="str"),
            exporter_url=dict(type="str"),
            exporter_interval=dict(type="float", default=1.0),
            exporter_max_samples=dict(type="int", default=1800),
            exporter_prefix=dict(type="str", default=""),
            flavour=dict(type="str", choices=["cpu", "rocm"], default="rocm"),
            extra_args=dict(type="list", elements="str", default=[]),
            executable=dict(type="str", default="perf_analyzer"),
            image=dict(type="str"),
            docker=dict(type="str", default="docker"),
            output_dir=dict(type="path", required=True),
            name=dict(type="str"),
            timeout=dict(type="int", default=0),
            profile_export=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("concurrency_range", "request_rate_range")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        validate(params)
    except PerfRunError as exc:
        module.fail_json(msg=str(exc))
    if module.check_mode:
        name = params["name"] or default_name(params)
        module.exit_json(changed=False, load_mode=load_of(params)[0],
                         cmd=command(params, params["output_dir"], name, "perf-analyzer"),
                         msg="check mode: perf_analyzer not run")
    observer = Observer(
        params["model"], server_url=params["server_metrics_url"],
        exporter_url=params["exporter_url"], interval=params["exporter_interval"],
        max_samples=params["exporter_max_samples"], prefix=params["exporter_prefix"],
        no_server_reason="not read (server_metrics_url unset)",
        no_exporter_reason=gpu_absent_reason(params["flavour"]))
    observer.start()
    try:
        result = run(params)
    except (PerfRunError, PerfCsvError) as exc:
        module.fail_json(msg=str(exc))
    finally:
        observed = observer.finish()
    result["observed"] = observed
    if result.pop("failed"):
        said = (result["stderr"] or result["stdout"]).strip().splitlines()[-15:]
        what = (f"failed (exit {result['exit_code']})" if result["exit_code"]
                else "ended without writing its CSV")
        module.fail_json(msg=f"perf_analyzer {what} for model {params['model']} batch "
                             f"{params['batch_size']}: " + "\n".join(said), **result)
    if result["unstable"]:
        module.warn(f"perf_analyzer could not stabilise {params['model']} batch "
                    f"{params['batch_size']} at {result['load_mode']} "
                    f"{', '.join(str(v) for v in result['unstable'])} within max_trials="
                    f"{params['max_trials']} windows of {params['measurement_interval']} ms "
                    f"at stability_percentage={params['stability_percentage']}; raise one of them")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
