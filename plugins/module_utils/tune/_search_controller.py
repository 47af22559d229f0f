# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Autotune's search: which serving configurations to measure, in which order, and which
one wins under the objective.

A candidate is a mapping of parameter -> value (instance count, max_batch_size, queue
delay, ...); the space gives each parameter its values in order. A measurement is the list
of points one perf_analyzer sweep gave a candidate (load level, throughput, latency
percentiles in microseconds). The objective scores a measurement:

- ``throughput``: the highest throughput among the points whose latency at the objective's
  percentile is at or under ``slo_ms`` (no such point: the candidate misses the objective);
- ``latency``: the lowest latency at the percentile among the points that served at least
  ``rate`` inferences per second.

The search is coordinate descent from a start (the inventory's or the guide's
configuration): one parameter at a time, every value of it with the others held, the best
kept when it beats the current one by more than the noise; passes until one changes
nothing. Each distinct candidate is measured once. With a parameters' values v1..vk it
measures about sum(v) per pass instead of the grid's product(v), and finds the grid's best
wherever the parameters' effects do not hinge on each other much more than the noise.

Controller-side: runs where the search is driven, never on a host.
"""

from __future__ import annotations

import itertools
import math

OBJECTIVES = ("throughput", "latency")


class TuneError(ValueError):
    """A search that cannot be set up as given; the message names the setting."""


def key_of(candidate: dict) -> tuple:
    """A candidate's identity: its parameters and values, order-free."""
    return tuple(sorted(candidate.items()))


def check_space(space: dict, start: dict) -> None:
    if not isinstance(space, dict) or not space:
        raise TuneError(f"tune_space: {space!r} is not a mapping of parameter -> values")
    for name, values in space.items():
        if not isinstance(values, list) or not values:
            raise TuneError(f"tune_space.{name}: {values!r} is not a non-empty list of values")
        if len(set(map(repr, values))) != len(values):
            raise TuneError(f"tune_space.{name}: {values!r} lists a value twice")
    missing = sorted(set(space) - set(start))
    if missing:
        raise TuneError(f"the start configuration has no value for {', '.join(missing)}; "
                        f"it has {', '.join(sorted(start)) or 'none'}")


def score(points: list, objective: dict) -> dict | None:
    """The measurement's best point under the objective, as ``{"value", "point"}`` (value:
    throughput to maximise, or latency to minimise, in the point's units), or None when no
    point meets it."""
    kind = objective.get("kind")
    percentile = int(objective.get("percentile", 99))
    latency_key = f"p{percentile}_latency_us"
    if kind == "throughput":
        bound = float(objective["slo_ms"]) * 1000
        eligible = [p for p in points if p.get(latency_key) is not None
                    and p[latency_key] <= bound and p.get("throughput_infer_per_sec")]
        if not eligible:
            return None
        best = max(eligible, key=lambda p: p["throughput_infer_per_sec"])
        return {"value": best["throughput_infer_per_sec"], "point": best}
    if kind == "latency":
        rate = float(objective["rate"])
        eligible = [p for p in points if p.get(latency_key) is not None
                    and (p.get("throughput_infer_per_sec") or 0) >= rate]
        if not eligible:
            return None
        best = min(eligible, key=lambda p: p[latency_key])
        return {"value": best[latency_key], "point": best}
    raise TuneError(f"tune_objective: {kind!r} is not one of {', '.join(OBJECTIVES)}")


def better(new: dict | None, old: dict | None, objective: dict, noise: float) -> bool:
    """Whether score ``new`` beats ``old`` by more than the relative ``noise``."""
    if new is None:
        return False
    if old is None:
        return True
    if objective["kind"] == "throughput":
        return new["value"] > old["value"] * (1 + noise)
    return new["value"] < old["value"] * (1 - noise)


class CoordinateSearch:
    """Propose a candidate, record its measurement, until ``propose`` returns None.

    ``noise``: the relative difference below which two scores are the same (a change of
    parameter must win by more); ``max_passes`` bounds the passes over the parameters."""

    def __init__(self, space: dict, start: dict, objective: dict, noise: float = 0.03,
                 max_passes: int = 3):
        check_space(space, start)
        if objective.get("kind") not in OBJECTIVES:
            raise TuneError(f"tune_objective: {objective.get('kind')!r} is not one of "
                            f"{', '.join(OBJECTIVES)}")
        self.space, self.objective = space, objective
        self.noise, self.max_passes = float(noise), int(max_passes)
        self.current = {name: start[name] for name in space}
        self.measured: dict = {}  # key -> {"candidate", "points", "score"}
        self.passes = 0
        self._plan = self._walk()
        self._waiting = None

    def _walk(self):
        """The candidates in the order the search wants them, deciding as results come."""
        yield dict(self.current)
        for number in range(1, self.max_passes + 1):
            self.passes, changed = number, False
            for name, values in self.space.items():
                for value in values:
                    candidate = dict(self.current, **{name: value})
                    if key_of(candidate) not in self.measured:
                        yield candidate
                best = self.current
                for value in values:
                    candidate = dict(self.current, **{name: value})
                    if better(self.measured[key_of(candidate)]["score"],
                              self.measured[key_of(best)]["score"], self.objective,
                              self.noise):
                        best = candidate
                if best is not self.current:
                    self.current, changed = best, True
            if not changed:
                return

    def propose(self) -> dict | None:
        if self._waiting is not None:
            raise TuneError("record the last candidate's measurement before the next")
        self._waiting = next(self._plan, None)
        return None if self._waiting is None else dict(self._waiting)

    def record(self, candidate: dict, points: list) -> dict | None:
        if self._waiting is None or key_of(candidate) != key_of(self._waiting):
            raise TuneError(f"{candidate!r} is not the candidate the search proposed")
        result = score(points, self.objective)
        self.measured[key_of(candidate)] = {"candidate": dict(candidate), "points": points,
                                            "score": result}
        self._waiting = None
        return result

    def best(self) -> dict | None:
        """The winner: the current candidate, when it meets the objective."""
        entry = self.measured.get(key_of(self.current))
        return entry if entry and entry["score"] is not None else None


class GridSearch(CoordinateSearch):
    """Every candidate of the grid once, in order; the best is the best of them all (the
    earlier one on a tie within the noise). What the coordinate search is measured
    against (benchmarks/tune_search.py)."""

    def _walk(self):
        self.passes = 1
        yield from grid(self.space)

    def best(self) -> dict | None:
        winner = None
        for entry in self.measured.values():
            if better(entry["score"], winner and winner["score"], self.objective, self.noise):
                winner = entry
        return winner


STRATEGIES = {"coordinate": CoordinateSearch, "grid": GridSearch}


def search_for(strategy: str, space: dict, start: dict, objective: dict, noise: float = 0.03,
               max_passes: int = 3) -> CoordinateSearch:
    if strategy not in STRATEGIES:
        raise TuneError(f"tune_strategy: {strategy!r} is not one of {', '.join(STRATEGIES)}")
    return STRATEGIES[strategy](space, start, objective, noise, max_passes)


def grid(space: dict) -> list:
    """Every candidate of the space, as the full grid measures them."""
    names = list(space)
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(space[name] for name in names))]


def grid_size(space: dict) -> int:
    return math.prod(len(values) for values in space.values())
