# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One model's tuning run: the baseline measured, the search driven to its end, the
configuration served before put back whatever happens, and the evidence returned.

The run is given two callables, so that the same code drives a real server (the
``triton_tune`` action plugin passes the host modules ``triton_model_load`` and
``perf_analyzer``) and a test's surface:

- ``load(config)``: load the model with that configuration (a dict) in place of its
  config.pbtxt, and return the configuration the server then serves; raises
  ``LoadFailed`` with the server's error when the server refuses it;
- ``measure(label)``: one perf_analyzer sweep of the loaded model; returns its points
  (the module's ``results``: load level, throughput, latency percentiles in microseconds).

Controller-side: runs where the search is driven, never on a host.
"""

from __future__ import annotations

from ansible_collections.inferops.triton.plugins.module_utils.tune._candidate_controller import (
    CandidateError,
    blocks,
    config_for,
    current,
)
from ansible_collections.inferops.triton.plugins.module_utils.tune._search_controller import (
    TuneError,
    grid_size,
    score,
    search_for,
)


class LoadFailed(Exception):
    """The server refused a configuration (the message is its error)."""


def _load_level(point: dict):
    """A point's load level, for the evidence's order (perf_analyzer's CSV lists its points
    by throughput)."""
    return point.get("concurrency") or point.get("request_rate") or 0


def _trial(served, candidate, objective, load, measure, label):
    """Load ``candidate`` and measure it: its entry in the run's evidence."""
    entry = {"candidate": dict(candidate), "label": label, "served": None, "points": [],
             "score": None, "error": None}
    try:
        config = config_for(served, candidate)
    except CandidateError as exc:  # a baseline this model cannot take, e.g. batching
        entry["error"] = f"not a configuration of {served.get('name')}: {exc}"
        return entry
    try:
        now = load(config)
    except LoadFailed as exc:
        entry["error"] = f"load refused: {exc}"
        return entry
    # what the server says it serves: the evidence that the candidate took effect
    entry["served"] = current(now, list(candidate)) if now else None
    entry["points"] = sorted(measure(label), key=_load_level)
    entry["score"] = score(entry["points"], objective)
    return entry


def _start(served: dict, space: dict) -> dict:
    """What ``served`` has for each parameter, or the space's first value where the space
    leaves what it has out (the search stays inside the space it was given)."""
    have = current(served, space)
    return {name: have[name] if have[name] in values else values[0]
            for name, values in space.items()}


def tune(served: dict, space: dict, objective: dict, load, measure, start=None,
         baseline=None, noise=0.03, max_passes=3, strategy="coordinate", candidates=None,
         finalists=2, budget=None) -> dict:
    """Search ``space`` from ``start`` (default: what ``served`` has, within the space),
    measuring ``baseline`` (e.g. the guide's configuration) first in the same run; always
    ends by loading ``served`` (the configuration served before) again. ``strategy``
    ``given`` measures ``candidates`` in their order instead of searching ``space``."""
    if strategy == "given":
        space, start = {}, {}
    start = dict(start) if start else _start(served, space)
    search = search_for(strategy, space, start, objective, noise, max_passes,
                        candidates=candidates, finalists=finalists, budget=budget,
                        blocks=blocks(space))
    # every value of the space (every given candidate) as a configuration of this model,
    # before anything loads
    for name, values in space.items():
        for value in values:
            config_for(served, dict(start, **{name: value}))
    for candidate in candidates if strategy == "given" else []:
        config_for(served, candidate)
    trials, base, restored = [], None, False
    try:
        if baseline:
            base = _trial(served, baseline, objective, load, measure, "baseline")
        while True:
            candidate = search.propose()
            if candidate is None:
                break
            entry = _trial(served, candidate, objective, load, measure,
                           f"candidate-{len(trials) + 1:03d}")
            search.record(candidate, entry["points"])
            trials.append(entry)
    finally:
        # The configuration served before, loaded as an override: loading without one
        # would not put it back, as Triton keeps a model whose files did not change
        # loaded as it is (seen with the lab's tritonserver).
        try:
            load(served)
        except LoadFailed as exc:
            raise TuneError(f"the configuration served before tuning did not load again: "
                            f"{exc}") from None
        restored = True
    winner = search.best()
    return {
        "objective": dict(objective),
        "strategy": strategy,
        "space": {name: list(values) for name, values in space.items()},
        "start": start,
        "baseline": base,
        "candidates": trials,
        "winner": None if winner is None else {
            "candidate": winner["candidate"], "score": winner["score"],
            "config": config_for(served, winner["candidate"])},
        "measurements": len(trials),
        "grid": grid_size(space) if space else None,
        "budget": search.budget,
        "blocks": [list(block) for block in search.blocks],
        "passes": search.passes,
        "noise": {"given": search.noise_given, "measured": search.noise_measured,
                  "used": search.noise},
        "finalists": [search.measured[key]["candidate"] for key in search.finalists],
        "restored": restored,
    }


__all__ = ["LoadFailed", "TuneError", "tune"]
