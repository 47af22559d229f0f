# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Autotune's candidates as model configurations: which serving parameters a search may
vary, and the configuration a candidate is - the served configuration (Triton's JSON form,
as ``GET /v2/models/<m>/config`` returns it) with the candidate's values put in.

The parameters and where each lives in the configuration:

- ``instance_count``: ``instance_group[*].count`` (every group; the kind and GPUs stay);
- ``max_batch_size``: ``max_batch_size`` (the ONNX signature decides whether the model
  batches at all; a candidate may not turn batching on or off);
- ``max_queue_delay_microseconds``, ``preferred_batch_size``: ``dynamic_batching``'s;
- ``intra_op_thread_count``, ``inter_op_thread_count``: ``parameters``, the keys the
  onnxruntime backends read (Triton's C++ backend and the CPU flavour's
  ``onnxruntime_cpu``), as ``string_value``;
- ``migraphx_max_dynamic_batch``: the ``migraphx`` GPU execution accelerator's parameter
  (AMD's 7.2 guide), ROCm flavour only.

Controller-side: runs where the search is driven, never on a host.
"""

from __future__ import annotations

import copy

PARAMETERS = ("instance_count", "max_batch_size", "max_queue_delay_microseconds",
              "preferred_batch_size", "intra_op_thread_count", "inter_op_thread_count",
              "migraphx_max_dynamic_batch")
THREADS = ("intra_op_thread_count", "inter_op_thread_count")
# Parameters whose effects hinge on each other, searched together: the instances share the
# cores that each instance's ONNX Runtime threads divide (two instances of one thread each
# can serve what one instance of two threads does, where either change alone loses - seen
# on the lab, benchmarks/tune_search.py); the batcher's preferred sizes must fit its
# max_batch_size.
COUPLED = (("instance_count", *THREADS), ("max_batch_size", "preferred_batch_size"))


class CandidateError(ValueError):
    """A candidate that cannot be a configuration of this model; the message says why."""


def _positive(name, value, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        kind = "non-negative" if allow_zero else "positive"
        raise CandidateError(f"{name}: {value!r} is not a {kind} integer")


def check_names(candidate) -> None:
    """Refuse a parameter autotune does not vary, naming it and the ones it does."""
    unknown = sorted(set(candidate) - set(PARAMETERS))
    if unknown:
        raise CandidateError(f"{', '.join(unknown)}: not a parameter autotune varies; it "
                             f"varies {', '.join(PARAMETERS)}")


def check(candidate: dict, served: dict) -> None:
    """Refuse what the served configuration rules out, naming the parameter."""
    check_names(candidate)
    batching = int(served.get("max_batch_size") or 0) > 0
    for name, value in candidate.items():
        if name == "preferred_batch_size":
            if not isinstance(value, list):
                raise CandidateError(f"preferred_batch_size: {value!r} is not a list of sizes")
            for size in value:
                _positive(name, size)
        else:
            _positive(name, value, allow_zero=name in THREADS
                      or name == "max_queue_delay_microseconds")
    if not batching and ({"max_batch_size", "max_queue_delay_microseconds",
                          "preferred_batch_size"} & set(candidate)):
        raise CandidateError(f"{served.get('name')}: max_batch_size is 0 (its inputs have no "
                             "batch dimension), so batching parameters cannot vary")
    limit = candidate.get("max_batch_size", served.get("max_batch_size"))
    too_big = [size for size in candidate.get("preferred_batch_size", []) if size > limit]
    if too_big:
        raise CandidateError(f"preferred_batch_size: {too_big} exceed max_batch_size {limit}")
    if "migraphx_max_dynamic_batch" in candidate and not _migraphx(served):
        raise CandidateError(f"{served.get('name')}: migraphx_max_dynamic_batch is the "
                             "migraphx accelerator's, which this configuration does not use")


def _migraphx(config):
    accelerators = (config.get("optimization", {}).get("execution_accelerators", {})
                    .get("gpu_execution_accelerator", []))
    return [a for a in accelerators if a.get("name") == "migraphx"]


def config_for(served: dict, candidate: dict) -> dict:
    """The configuration to load for ``candidate``: ``served`` with its values put in."""
    check(candidate, served)
    config = copy.deepcopy(served)
    for name, value in candidate.items():
        if name == "instance_count":
            groups = config.get("instance_group") or [{}]
            config["instance_group"] = [dict(group, count=value) for group in groups]
        elif name == "max_batch_size":
            config["max_batch_size"] = value
        elif name in ("max_queue_delay_microseconds", "preferred_batch_size"):
            config.setdefault("dynamic_batching", {})[name] = value
        elif name in THREADS:
            config.setdefault("parameters", {})[name] = {"string_value": str(value)}
        else:
            for accelerator in _migraphx(config):
                accelerator.setdefault("parameters", {})[name] = str(value)
    return config


def default_space(served: dict, flavour: str) -> dict:
    """The space searched when the inventory names none: instances, and where the model
    batches the queue delay and twice its max_batch_size (a size its ONNX file does not
    allow is refused by the server and recorded); ONNX Runtime's intra-op threads for the
    CPU flavour (0 is its default, one per core), MIGraphX's largest compiled batch for a
    migraphx accelerator."""
    space = {"instance_count": [1, 2, 4]}
    size = int(served.get("max_batch_size") or 0)
    if size > 0:
        space["max_batch_size"] = [size, size * 2]
        space["max_queue_delay_microseconds"] = [0, 100, 1000, 5000]
    if flavour == "cpu":
        space["intra_op_thread_count"] = [0, 1, 2]
    elif _migraphx(served) and size > 0:
        space["migraphx_max_dynamic_batch"] = [size, size * 2]
    return space


def blocks(space: dict) -> list:
    """The space's parameters in the groups a search varies together (``COUPLED``, as far
    as the space has them), each other parameter alone, in the space's order."""
    groups, seen = [], set()
    for name in space:
        if name in seen:
            continue
        group = next((g for g in COUPLED if name in g), (name,))
        block = tuple(n for n in space if n in group)
        seen.update(block)
        groups.append(block)
    return groups


def entry_for(entry: dict, candidate: dict) -> dict:
    """A ``triton_models`` entry with ``candidate`` put in: the values go where
    ``config_for`` puts them in the entry's ``config``, except two of the entry's own
    conveniences, which keep their place: ``instances_per_gpu`` takes ``instance_count``,
    and the entry's ``accelerator`` takes ``migraphx_max_dynamic_batch``."""
    entry = copy.deepcopy(entry)
    rest = dict(candidate)
    if "instance_count" in rest and "instances_per_gpu" in entry:
        entry["instances_per_gpu"] = rest.pop("instance_count")
    accelerator = entry.get("accelerator")
    if "migraphx_max_dynamic_batch" in rest and isinstance(accelerator, dict) \
            and accelerator.get("name") == "migraphx":
        value = rest.pop("migraphx_max_dynamic_batch")
        _positive("migraphx_max_dynamic_batch", value)
        accelerator.setdefault("parameters", {})["migraphx_max_dynamic_batch"] = value
    entry["config"] = config_for(entry.get("config") or {}, rest)
    return entry


def current(served: dict, names) -> dict:
    """The values the served configuration has for ``names``: the search's start when it
    starts from the inventory's configuration."""
    values = {}
    for name in names:
        if name == "instance_count":
            groups = served.get("instance_group") or [{}]
            values[name] = int(groups[0].get("count", 1))
        elif name == "max_batch_size":
            values[name] = int(served.get("max_batch_size") or 0)
        elif name == "max_queue_delay_microseconds":
            values[name] = int(served.get("dynamic_batching", {}).get(name, 0) or 0)
        elif name == "preferred_batch_size":
            values[name] = [int(v) for v in served.get("dynamic_batching", {}).get(name, [])]
        elif name in THREADS:
            text = served.get("parameters", {}).get(name, {}).get("string_value", "")
            values[name] = int(text) if text.strip() else 0
        elif name == "migraphx_max_dynamic_batch":
            accelerators = _migraphx(served)
            text = accelerators[0].get("parameters", {}).get(name, "") if accelerators else ""
            values[name] = int(text) if str(text).strip() else 0
        else:
            raise CandidateError(f"{name}: not a parameter autotune varies; it varies "
                                 f"{', '.join(PARAMETERS)}")
    return values
