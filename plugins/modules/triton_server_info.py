#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: triton_server_info
short_description: Health, models, load errors, metrics and a smoke test of a running Triton server
version_added: 0.1.0
description:
  - Asks a Triton Inference Server over HTTP, from the host the module runs on, whether it
    is live and ready (C(/v2/health/live), C(/v2/health/ready)), what it is
    (C(GET /v2)), which models its repository holds and in which state
    (C(POST /v2/repository/index); an UNAVAILABLE model carries Triton's load error in
    C(reason)), the served config of each READY model of interest
    (C(GET /v2/models/<m>/config)) and, from the metrics port, each model's request,
    inference and duration counters.
  - With O(smoke=true), sends one inference per READY model of interest (zeros of each
    input's declared shape and type) and checks that every declared output comes back
    with its declared shape.
  - With O(wait), first polls until the server has settled - live, every model of
    interest READY or UNAVAILABLE (or never loaded), and the server ready or kept not
    ready only by a model that failed to load - for at most that many seconds. Connection
    errors while it restarts are expected and not reported. The timeout is not a failure.
    A restricted API without its header (HTTP 403) ends the wait at once.
  - Requests that fail outside the wait are listed in RV(errors); a server that does not
    answer gives RV(live=false) and an entry there. The module fails only on bad
    arguments.
  - Uses the Python standard library only and connects directly (proxy environment
    variables are not used).
author: inferops.triton developers (@inferops)
options:
  metrics_url:
    description:
      - The server's Prometheus metrics URL (C(--metrics-port), 8002 by default).
      - An empty string skips metrics. O(headers) are not sent to it.
    type: str
    default: http://127.0.0.1:8002/metrics
  models:
    description:
      - The models of interest - whose config is returned, which are smoke-tested and
        waited for, and whose metrics are returned.
      - Empty means every model of the repository index (and every model in the metrics).
    type: list
    elements: str
    default: []
  smoke:
    description:
      - Send one inference to each READY model of interest - for each declared input a
        zero tensor (C(false) for BOOL, empty strings for TYPE_STRING) of shape C([1] + dims)
        when C(max_batch_size > 0), else C(dims), a variable (C(-1)) dimension as 1 - and
        check that each declared output is there with shape C([1] + dims) or C(dims)
        (C(-1) matches any size) and its declared datatype.
      - Inputs and outputs travel as JSON, FP16 and BF16 as binary tensor data (Triton
        takes them in no other form).
    type: bool
    default: false
  wait:
    description:
      - Seconds to wait, polling every second, for the server to settle before reading it.
        0 reads it at once.
    type: int
    default: 0
  timeout:
    description: Seconds each request may take.
    type: int
    default: 10
  unit:
    description:
      - The name the lines of RV(gate_failures) start with, such as the server's systemd
        unit. Empty means O(url).
    type: str
    default: ""
extends_documentation_fragment:
  - inferops.triton.attributes.read_only
  - inferops.triton.triton_api
notes:
  - A smoke inference counts in the server's metrics like any other request.
  - Sequence-batched and decoupled models are sent the same plain request; the server's
    refusal then shows in RV(smoke).
seealso:
  - name: KServe v2 inference protocol and Triton's extensions
    description: The HTTP endpoints this module reads.
    link: https://github.com/triton-inference-server/server/blob/main/docs/protocol/README.md
  - name: Triton metrics
    description: The C(nv_inference_*) counters returned in RV(metrics).
    link: https://github.com/triton-inference-server/server/blob/main/docs/user_guide/metrics.md
"""

EXAMPLES = r"""
- name: Wait for the server and its models, and smoke-test each model
  inferops.triton.triton_server_info:
    wait: 300
    smoke: true
  register: triton

- name: Fail with Triton's own load errors
  ansible.builtin.fail:
    msg: "{{ triton.gate_failures | join('; ') }}"
  when: triton.gate_failures | length > 0

- name: Read one model's config and counters on a server with a restricted API
  inferops.triton.triton_server_info:
    url: http://127.0.0.1:8000
    headers:
      infer-key: "{{ triton_api_key }}"
    models: [resnet50]
  register: resnet50

- name: Show how many inferences resnet50 has served
  ansible.builtin.debug:
    msg: "{{ resnet50.metrics.resnet50.inference_count | default(0) }}"
"""

RETURN = r"""
# Samples: tritonserver 2.51.0 (CPU flavour), captured in tests/fixtures/triton (SOURCE.md).
live:
  description:
    - Whether C(GET /v2/health/live) answered 200 (Triton answers 400 for no).
    - Also false, with an entry in RV(errors), when the server does not answer or refuses
      to (HTTP 403 from a restricted API without its header in O(headers)).
  type: bool
  returned: always
  sample: true
ready:
  description:
    - Whether C(GET /v2/health/ready) answered 200. With C(--strict-readiness) (the
      default) a model that failed to load keeps the server not ready.
  type: bool
  returned: always
  sample: false
server:
  description: The server metadata (C(GET /v2)), or null when it could not be read.
  type: dict
  returned: always
  sample:
    name: triton
    version: 2.51.0
    extensions: [classification, sequence, model_repository,
                 "model_repository(unload_dependents)", schedule_policy, model_configuration,
                 system_shared_memory, cuda_shared_memory, binary_tensor_data, parameters,
                 statistics, trace, logging]
models:
  description:
    - The repository index (C(POST /v2/repository/index)), one entry per model version,
      each with C(name), C(version), C(state) and C(reason).
    - C(state) is READY, UNAVAILABLE, LOADING or UNLOADING; C(version), C(state) and
      C(reason) are null for a model the server never loaded (explicit model control);
      C(reason) holds the load error of an UNAVAILABLE model (C(unloaded) after an unload).
  type: list
  elements: dict
  returned: always
  sample:
    - name: broken
      version: "1"
      state: UNAVAILABLE
      reason: "Internal: ValueError: onnxruntime_cpu: /models/broken/1/model.onnx: config
        declares output 'probabilities' but the ONNX model has outputs
        ['resnetv24_dense0_fwd']\n\nAt:\n
        \ /opt/tritonserver/backends/onnxruntime_cpu/model.py(201): initialize\n"
    - {name: resnet50, version: "1", state: READY, reason: null}
    - {name: types, version: "1", state: READY, reason: null}
unavailable:
  description:
    - The index entries of the models of interest that have no READY version. A model of
      interest the index does not name has C(version) and C(state) null and a C(reason)
      that says so.
  type: list
  elements: dict
  returned: always
  sample:
    - name: broken
      version: "1"
      state: UNAVAILABLE
      reason: "Internal: ValueError: onnxruntime_cpu: /models/broken/1/model.onnx: config
        declares output 'probabilities' but the ONNX model has outputs
        ['resnetv24_dense0_fwd']\n\nAt:\n
        \ /opt/tritonserver/backends/onnxruntime_cpu/model.py(201): initialize\n"
configs:
  description: The served config (C(GET /v2/models/<m>/config)) of each READY model of interest.
  type: dict
  returned: always
  sample:
    # Abridged: the server returns every field of ModelConfig.
    resnet50:
      name: resnet50
      backend: onnxruntime_cpu
      max_batch_size: 8
      input:
        - {name: data, data_type: TYPE_FP32, format: FORMAT_NONE, dims: [3, 224, 224]}
      output:
        - {name: resnetv24_dense0_fwd, data_type: TYPE_FP32, dims: [1000]}
      dynamic_batching: {preferred_batch_size: [8], max_queue_delay_microseconds: 2000}
      instance_group: [{name: resnet50_0, kind: KIND_CPU, count: 1}]
metrics:
  description:
    - Per model, Triton's counters summed over its versions - C(request_success),
      C(request_failure), C(inference_count), C(execution_count) and the cumulative
      microseconds C(queue_us), C(compute_input_us), C(compute_infer_us),
      C(compute_output_us), C(request_us) (C(nv_inference_request_success),
      C(nv_inference_request_failure), C(nv_inference_count), C(nv_inference_exec_count),
      C(nv_inference_*_duration_us)); 0 where the server reports none.
    - The server lists a model that failed to load too, with zeros.
    - Empty when O(metrics_url) is empty or the metrics could not be read.
  type: dict
  returned: always
  sample:
    resnet50:
      request_success: 4
      request_failure: 0
      inference_count: 4
      execution_count: 4
      queue_us: 8837
      compute_input_us: 3050
      compute_infer_us: 960879
      compute_output_us: 1586
      request_us: 974386
smoke:
  description:
    - With O(smoke=true), per model of interest whether its zero inference came back as
      declared (C(ok)), the shape of each output (C(outputs)) and what differed or why it
      did not run (C(msg)). A model that is not READY has C(ok=false). Empty otherwise.
  type: dict
  returned: always
  sample:
    resnet50:
      ok: true
      outputs: {resnetv24_dense0_fwd: [1, 1000]}
      msg: every declared output has its declared shape
    broken:
      ok: false
      outputs: {}
      msg: "not run: version 1 is UNAVAILABLE: Internal: ValueError: onnxruntime_cpu:
        /models/broken/1/model.onnx: config declares output 'probabilities' but the ONNX
        model has outputs ['resnetv24_dense0_fwd']\n\nAt:\n
        \ /opt/tritonserver/backends/onnxruntime_cpu/model.py(201): initialize\n"
waited:
  description: Seconds spent waiting for the server to settle (0 without O(wait)).
  type: float
  returned: always
  sample: 8.037
gate_failures:
  description:
    - What keeps the server from passing the readiness gate, one line each, as
      M(inferops.triton.triton_service) returns them when it gates its own servers - not
      ready (after the wait, with the last error), a model of interest not READY (with
      Triton's reason), a zero inference of O(smoke) that failed. Each line starts with
      O(unit), or O(url). Empty when it passes.
  type: list
  elements: str
  returned: always
  sample:
    - "triton-server.service not ready after 300 s"
    - "triton-server.service: model broken is UNAVAILABLE: Internal: ValueError: ..."
errors:
  description:
    - The requests that failed (outside the wait), each with what went wrong.
    - A server that does not answer is one entry for its HTTP endpoint (the rest is not
      asked) and one for the metrics URL.
  type: list
  elements: str
  returned: always
  sample:
    - "GET http://127.0.0.1:18000/v2/health/live: connection refused (is the server running,
      and on this address?)"
    - "GET http://127.0.0.1:18002/metrics: connection refused"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.server._client import (
    API_ARGS,
    TritonClient,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._gate import gate_failures
from ansible_collections.inferops.triton.plugins.module_utils.server._info import server_info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            **API_ARGS,
            metrics_url=dict(type="str", default="http://127.0.0.1:8002/metrics"),
            models=dict(type="list", elements="str", default=[]),
            smoke=dict(type="bool", default=False),
            wait=dict(type="int", default=0),
            timeout=dict(type="int", default=10),
            unit=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for name in ("url", "metrics_url"):
        if params[name] and not params[name].startswith(("http://", "https://")):
            module.fail_json(msg=f"{name} must be an http:// or https:// URL, got "
                                 f"{params[name]!r}")
    if params["wait"] < 0 or params["timeout"] < 1:
        module.fail_json(msg=f"wait must be 0 or more and timeout 1 or more seconds, got "
                             f"wait={params['wait']} timeout={params['timeout']}")
    client = TritonClient(params["url"], params["metrics_url"],
                          {str(k): str(v) for k, v in params["headers"].items()},
                          params["timeout"])
    result = server_info(client, params["models"], params["smoke"], params["wait"])
    result["gate_failures"] = gate_failures({**result, "unit": params["unit"] or params["url"]})
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
