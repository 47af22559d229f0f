# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: benchmark_host_summary
short_description: A host's benchmark summary.json, from its cells and what the role read
version_added: 0.1.0
description:
  - Builds the C(summary.json) the C(inferops.triton.benchmark) role writes for each measured
    host in C(<benchmark_results_dir>/<run id>/<host>/), which
    M(inferops.triton.benchmark_report) reads - C(run_id), C(host), C(started), C(ended), the
    C(metadata) to compare runs by, C(results) (every load level perf_analyzer measured,
    with its model, batch size and CSV file), C(unstable) (the levels it could not
    stabilise), C(measurement_seconds) and C(perf_analyzer_seconds).
  - The registered results are read here, not in the role - the server image is the first
    line of O(server_inspect), its id and digest its entry in O(server_image_info), the
    perf_analyzer version what O(versions) printed on O(client_host), the config hashes the
    C(checksum) of each stat in O(configs) (null for a missing config).
  - The shape is documented in C(plugins/module_utils/bench/_results_controller.py); the
    fleet report's own C(summary.json) is another shape.
options:
  _input:
    description:
      - The measured cells, one per M(inferops.triton.perf_analyzer) run - C(cell) (C(model),
        C(batch_size), C(name)), C(results), C(unstable), C(measured_seconds) and
        C(elapsed_seconds) of its result.
    type: list
    elements: dict
    required: true
  run_id:
    description: The run id.
    type: str
    required: true
  host:
    description: The measured host.
    type: str
    required: true
  started:
    description: When the sweep started, C(YYYY-MM-DDTHH:MM:SSZ).
    type: str
    required: true
  ended:
    description: When it ended; unset, now.
    type: str
  rocm:
    description:
      - The C(rocm) facts of M(inferops.triton.rocm_facts) (C(rocm_version), C(gpus)).
    type: dict
  server_inspect:
    description:
      - The registered C(docker inspect) of the server containers' image reference, one a
        line (the first is the image).
    type: dict
  server_image_info:
    description: The registered M(inferops.triton.image_info) of that image (may be skipped).
    type: dict
  versions:
    description: The registered C(perf_analyzer --version), looped over the client hosts.
    type: dict
  configs:
    description:
      - The registered M(ansible.builtin.stat) (sha256) of each model's C(config.pbtxt),
        looped over the models.
    type: dict
  client:
    description: C(slim), C(image) or C(binary).
    type: str
    required: true
  client_image:
    description: The client image; recorded unless O(client=binary).
    type: str
  client_host:
    description: The host perf_analyzer ran on.
    type: str
    required: true
  protocol:
    description: C(grpc) or C(http).
    type: str
    required: true
  load_mode:
    description: C(concurrency) or C(request_rate); the key of each unstable level.
    type: str
    required: true
  load_range:
    description: The load range, C(start:end[:step]).
    type: str
    required: true
  input_data:
    description: The request inputs perf_analyzer sent.
    type: str
  percentile:
    description:
      - The latency percentile perf_analyzer stabilised on; unset, the average latency.
    type: int
  measurement_interval_ms:
    description: The measurement interval.
    type: int
    required: true
seealso:
  - module: inferops.triton.benchmark_report
  - module: inferops.triton.perf_analyzer
"""

EXAMPLES = r"""
- name: Write summary.json for this host
  ansible.builtin.copy:
    content: "{{ summary | to_nice_json }}\n"
    dest: "results/{{ run }}/{{ inventory_hostname }}/summary.json"
    mode: "0644"
  delegate_to: localhost
  vars:
    summary: >-
      {{ measured | inferops.triton.benchmark_host_summary(
           run_id=run, host=inventory_hostname, started=started,
           rocm=ansible_facts['rocm'] | default({}), server_inspect=server_ref,
           server_image_info=server_image, versions=versions, configs=configs,
           client='slim', client_image='inferops/perf-analyzer:2.60.0',
           client_host=inventory_hostname, protocol='grpc', load_mode='concurrency',
           load_range='1:2', input_data='zero', measurement_interval_ms=4000) }}
"""

RETURN = r"""
_value:
  description: The summary, as C(summary.json) holds it.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.triton.plugins.module_utils.bench._results_controller import (
    BenchReportError,
    config_hashes,
    host_metadata,
    host_summary,
    image_of,
    server_ref_of,
    version_of,
)


def benchmark_host_summary(cells, *, run_id, host, started, client, client_host, protocol,
                           load_mode, load_range, measurement_interval_ms, ended=None,
                           rocm=None, server_inspect=None, server_image_info=None,
                           versions=None, configs=None, client_image=None, input_data=None,
                           percentile=None):
    server_ref = server_ref_of(server_inspect)
    metadata = host_metadata(
        rocm=rocm, server_ref=server_ref, server_image=image_of(server_image_info, server_ref),
        perf_analyzer_version=version_of(versions, client_host),
        model_config_sha256=config_hashes(configs), client=client, client_image=client_image,
        client_host=client_host, protocol=protocol, load_mode=load_mode, load_range=load_range,
        input_data=input_data, percentile=percentile,
        measurement_interval_ms=measurement_interval_ms)
    try:
        return host_summary(list(cells or []), run_id=run_id, host=host, started=started,
                            ended=ended, metadata=metadata)
    except BenchReportError as exc:
        raise AnsibleFilterError(f"benchmark_host_summary: {exc}") from None


class FilterModule:
    def filters(self):
        return {"benchmark_host_summary": benchmark_host_summary}
