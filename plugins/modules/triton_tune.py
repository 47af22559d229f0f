#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: triton_tune
short_description: Find a model's best serving configuration on a running Triton server
version_added: 0.1.0
description:
  - An action driven from the controller against the host of the task, whose Triton
    server runs with C(--model-control-mode=explicit).
  - Loads each candidate configuration of O(model) through the repository API with
    M(inferops.triton.triton_model_load) - the served configuration with the candidate's
    values put in, in place of C(config.pbtxt), which is never rewritten - and measures it
    with M(inferops.triton.perf_analyzer) over the load range of O(perf).
  - The candidates come from a coordinate search over O(space) from O(start) - one
    parameter at a time, every value with the others held (parameters whose effects hinge
    on each other together, every combination of them - the instance count with ONNX
    Runtime's thread counts, C(max_batch_size) with C(preferred_batch_size)), the best
    kept when it beats the current one by more than the noise; passes until one changes
    nothing, at most O(max_passes). The start is measured twice, and the noise is the
    larger of the two results' relative spread and O(noise). Then the finalists (the
    current candidate and the best others within the noise of the best, O(finalists) in
    all) are measured again and the best mean wins. At most O(budget) measurements in
    all. O(baseline), when given, is measured first in the same run.
  - A candidate the server refuses to load is recorded with the server's error and scores
    nothing; the search goes on. A load level perf_analyzer could not stabilise within its
    C(max_trials) is kept in the candidate's points as C(stable=false) and scores nothing.
  - At the end, and when a step fails, the configuration served before is loaded again, as
    an override (Triton keeps a model whose files did not change as it is loaded, so a
    load without one would leave the last candidate serving). The model's files are
    never written.
  - In check mode nothing is loaded or measured.
author: inferops.triton developers (@inferops)
options:
  model:
    description: The model to tune.
    type: str
    required: true
  space:
    description:
      - The values to try for each parameter, in order; empty, the flavour's default space
        (instances 1, 2, 4; where the model batches, its max_batch_size and twice it, queue
        delays 0, 100, 1000, 5000 us; the CPU flavour's intra-op threads 0, 1, 2; a
        migraphx accelerator's largest batch). Parameters - C(instance_count),
        C(max_batch_size), C(max_queue_delay_microseconds), C(preferred_batch_size) (a
        list per value), C(intra_op_thread_count), C(inter_op_thread_count),
        C(migraphx_max_dynamic_batch) (a C(migraphx) accelerator's).
    type: dict
    default: {}
  flavour:
    description: The server's flavour, for the default space.
    type: str
    choices: [rocm, cpu]
    default: rocm
  objective:
    description:
      - C(kind=throughput) - the highest throughput among the load levels whose latency
        at C(percentile) is at or under C(slo_ms); C(kind=latency) - the lowest latency at
        C(percentile) among the load levels that served at least C(rate) inferences per
        second.
    type: dict
    required: true
  start:
    description: The search's first candidate; unset, the values the server serves.
    type: dict
  baseline:
    description: A configuration measured first for comparison, such as the guide's.
    type: dict
  noise:
    description:
      - The relative difference below which two results are the same, at least; the
        search uses the spread of its start's two measurements where that is larger.
    type: float
    default: 0.03
  finalists:
    description: How many candidates the coordinate search measures again before it picks.
    type: int
    default: 2
  budget:
    description:
      - The most measurements of the coordinate search; 0, a third of the grid's, and at
        least its first pass and the finalists.
    type: int
    default: 0
  candidates:
    description:
      - The configurations O(strategy=given) measures, in order (one listed twice is
        measured twice); each a mapping of the parameters of O(space).
    type: list
    elements: dict
    default: []
  strategy:
    description:
      - C(coordinate) - the search above. C(grid) - every candidate of O(space) once, the
        best of all winning; for comparison, as it measures the product of the values'
        counts. C(given) - the O(candidates) in their order, the best mean winning (for
        configurations measured side by side).
    type: str
    choices: [coordinate, grid, given]
    default: coordinate
  max_passes:
    description: The most passes over the parameters.
    type: int
    default: 3
  perf:
    description:
      - The M(inferops.triton.perf_analyzer) arguments of each measurement (its load range,
        windows, client image); C(model) and C(name) are set per candidate.
    type: dict
    default: {}
  timeout:
    description: Seconds a load may take.
    type: int
    default: 300
extends_documentation_fragment:
  - inferops.triton.triton_api
seealso:
  - module: inferops.triton.triton_model_load
  - module: inferops.triton.perf_analyzer
"""

EXAMPLES = r"""
- name: The highest throughput of resnet50 with p99 at or under 50 ms
  inferops.triton.triton_tune:
    model: resnet50
    space:
      instance_count: [1, 2, 4]
      max_queue_delay_microseconds: [0, 100, 1000, 5000]
    objective: {kind: throughput, percentile: 99, slo_ms: 50}
    baseline: {instance_count: 1, max_queue_delay_microseconds: 100}
    perf:
      image: inferops/perf-analyzer:latest
      concurrency_range: "1:16:2"
      protocol: http
  register: tuned
"""

RETURN = r"""
winner:
  description:
    - The best candidate that meets the objective (C(candidate), C(score), C(config)).
    - Null when none does.
  returned: success
  type: dict
candidates:
  description: Every candidate measured, in order - its values, points, score and any load error.
  returned: success
  type: list
  elements: dict
baseline:
  description: The baseline's measurement, when one was given.
  returned: success
  type: dict
measurements:
  description: How many measurements the search took.
  returned: success
  type: int
noise:
  description:
    - C(given) - the floor given; C(measured) - the relative spread of the start's two
      measurements (null without two that met the objective); C(used) - the threshold.
  returned: success
  type: dict
finalists:
  description: The candidates measured again before the pick.
  returned: success
  type: list
  elements: dict
grid:
  description: How many candidates the full grid of O(space) has.
  returned: success
  type: int
served:
  description: The configuration the server served before the search.
  returned: success
  type: dict
"""
