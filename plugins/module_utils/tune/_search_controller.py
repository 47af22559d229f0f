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

The search is (block) coordinate descent from a start (the inventory's or the guide's
configuration): one parameter at a time - or one block of parameters whose effects hinge
on each other, every combination of theirs - with the others held, the best kept when it
beats the current one by more than the noise; passes until one changes nothing. With
blocks of sizes b1..bk it measures about sum(b) per pass instead of the grid's product(b),
and finds the grid's best wherever the blocks' effects do not hinge on each other much
more than the noise. The noise is the run's own: the start is measured
twice, and a change must win by more than the two results differ (or the given floor). A
single measurement is noisy, so the search ends by measuring its finalists again (the
current candidate and the best others within the noise of the best) and takes the best
mean. Its measurements stay within a budget (by default a third of the grid's).

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


def within(new: dict | None, best: dict | None, objective: dict, noise: float) -> bool:
    """Whether score ``new`` is no worse than ``best`` by more than the relative ``noise``."""
    if new is None or best is None:
        return False
    if objective["kind"] == "throughput":
        return new["value"] >= best["value"] * (1 - noise)
    return new["value"] <= best["value"] * (1 + noise)


def combine(scores: list) -> dict | None:
    """One candidate's score over its measurements (each a ``score`` or None): the mean of
    those that met the objective, when at least half of them did; ``point`` is the measured
    point nearest that mean, ``values`` every measurement's value (None: missed)."""
    met = [s for s in scores if s is not None]
    if not met or len(met) * 2 < len(scores):
        return None
    mean = sum(s["value"] for s in met) / len(met)
    nearest = min(met, key=lambda s: abs(s["value"] - mean))
    return {"value": mean, "point": nearest["point"],
            "values": [None if s is None else s["value"] for s in scores]}


def spread(scores: list) -> float | None:
    """The relative spread of one candidate's measurements, (max - min) / max, or None
    unless every measurement met the objective and there are two or more."""
    if len(scores) < 2 or any(s is None for s in scores):
        return None
    values = [s["value"] for s in scores]
    return (max(values) - min(values)) / max(values) if max(values) else None


def default_budget(space: dict, finalists: int, blocks: list) -> int:
    """The coordinate search's measurements at most: a third of the grid's, and never less
    than its first pass (the start twice, every other combination of each block once) and
    the finalists' second measurements (the start, measured twice, may be one of them)."""
    first_pass = 2 + sum(math.prod(len(space[n]) for n in block) - 1 for block in blocks)
    return max(grid_size(space) // 3, first_pass + max(finalists - 1, 0))


def check_blocks(space: dict, blocks: list) -> None:
    names = [name for block in blocks for name in block]
    if sorted(names) != sorted(space):
        raise TuneError(f"the search's blocks {blocks!r} do not partition the space's "
                        f"parameters {', '.join(space)}")


class CoordinateSearch:
    """Propose a candidate, record its measurement, until ``propose`` returns None.

    The start is measured twice: the two results' relative spread is the run's own noise,
    and the threshold a change of parameter must win by is the larger of it and ``noise``.
    After the passes (at most ``max_passes``, or until ``budget`` measurements are used),
    the current candidate and the best others within the threshold of the best result,
    ``finalists`` in all, are measured again, and the best mean of them wins."""

    def __init__(self, space: dict, start: dict, objective: dict, noise: float = 0.03,
                 max_passes: int = 3, finalists: int = 2, budget: int | None = None,
                 blocks: list | None = None):
        check_space(space, start)
        check_objective(objective)
        self.space, self.objective = space, objective
        self.blocks = [tuple(block) for block in blocks] if blocks else [(n,) for n in space]
        check_blocks(space, self.blocks)
        self.noise_given = self.noise = float(noise)
        self.noise_measured = None
        self.max_passes, self.finalist_count = int(max_passes), int(finalists)
        self.budget = int(budget) if budget else default_budget(space, self.finalist_count,
                                                                self.blocks)
        self.current = {name: start[name] for name in space}
        self.measured: dict = {}  # key -> {"candidate", "points", "scores", "score"}
        self.trials = 0
        self.passes = 0
        self.finalists: list = []
        self._plan = self._walk()
        self._waiting = None

    def _entry(self, candidate):
        return self.measured.get(key_of(candidate))

    def _score(self, candidate):
        entry = self._entry(candidate)
        return entry and entry["score"]

    def _walk(self):
        """The candidates in the order the search wants them, deciding as results come."""
        yield dict(self.current)
        yield dict(self.current)
        self._calibrate()
        reserve = max(self.finalist_count - 1, 0)
        for number in range(1, self.max_passes + 1):
            self.passes, changed = number, False
            for block in self.blocks:
                options = [dict(self.current, **dict(zip(block, values, strict=True)))
                           for values in itertools.product(*(self.space[n] for n in block))]
                for candidate in options:
                    if self._entry(candidate) is None:
                        if self.trials + reserve >= self.budget:
                            break
                        yield candidate
                best = self.current
                for candidate in options:
                    if better(self._score(candidate), self._score(best), self.objective,
                              self.noise):
                        best = candidate
                if best is not self.current:
                    self.current, changed = best, True
            if not changed or self.trials + reserve >= self.budget:
                break
        yield from self._finals()

    def _calibrate(self):
        """The run's own noise, from the start's two measurements."""
        measured = spread(self._entry(self.current)["scores"])
        if measured is not None:
            self.noise_measured = measured
            self.noise = max(self.noise_given, measured)

    def _finals(self):
        top = self._score(self.current)
        if top is None:
            return
        ranked = sorted((e for e in self.measured.values() if e["score"] is not None),
                        key=lambda e: e["score"]["value"],
                        reverse=self.objective["kind"] == "throughput")
        best = ranked[0]["score"]
        self.finalists = [key_of(self.current)] + [
            key_of(e["candidate"]) for e in ranked
            if key_of(e["candidate"]) != key_of(self.current)
            and within(e["score"], best, self.objective, self.noise)][
                :self.finalist_count - 1]
        for key in self.finalists:
            entry = self.measured[key]
            if len(entry["scores"]) < 2 and self.trials < self.budget:
                yield dict(entry["candidate"])

    def propose(self) -> dict | None:
        if self._waiting is not None:
            raise TuneError("record the last candidate's measurement before the next")
        self._waiting = next(self._plan, None)
        return None if self._waiting is None else dict(self._waiting)

    def record(self, candidate: dict, points: list) -> dict | None:
        """Take the proposed candidate's measurement; returns the candidate's score over
        all its measurements so far."""
        if self._waiting is None or key_of(candidate) != key_of(self._waiting):
            raise TuneError(f"{candidate!r} is not the candidate the search proposed")
        entry = self.measured.setdefault(key_of(candidate), {
            "candidate": dict(candidate), "points": [], "scores": [], "score": None})
        entry["points"] = points
        entry["scores"].append(score(points, self.objective))
        entry["score"] = combine(entry["scores"])
        self.trials += 1
        self._waiting = None
        return entry["score"]

    def _best_of(self, keys) -> dict | None:
        winner = None
        for key in keys:
            entry = self.measured[key]
            if better(entry["score"], winner and winner["score"], self.objective, 0):
                winner = entry
        return winner

    def best(self) -> dict | None:
        """The winner: the finalist with the best mean, when one meets the objective."""
        if self.finalists:
            return self._best_of(self.finalists)
        entry = self._entry(self.current)
        return entry if entry and entry["score"] is not None else None


class GridSearch(CoordinateSearch):
    """Every candidate of the grid once, in order; the best is the best of them all (the
    earlier one on a tie within the noise). What the coordinate search is measured
    against (benchmarks/tune_search.py)."""

    def __init__(self, space, start, objective, noise=0.03, max_passes=1, finalists=0,
                 budget=None, blocks=None):
        super().__init__(space, start, objective, noise, max_passes, finalists,
                         budget or grid_size(space), blocks)

    def _walk(self):
        self.passes = 1
        yield from grid(self.space)

    def best(self) -> dict | None:
        winner = None
        for entry in self.measured.values():
            if better(entry["score"], winner and winner["score"], self.objective, self.noise):
                winner = entry
        return winner


class GivenSearch(CoordinateSearch):
    """The given candidates in their order, a candidate listed twice measured twice (e.g.
    configurations measured side by side, in rounds); the best mean wins."""

    def __init__(self, candidates: list, objective: dict, noise: float = 0.03):
        if not isinstance(candidates, list) or not candidates or not all(
                isinstance(c, dict) and c for c in candidates):
            raise TuneError(f"tune_candidates: {candidates!r} is not a non-empty list of "
                            f"parameter -> value mappings")
        check_objective(objective)
        self.space, self.objective, self.candidates = {}, objective, candidates
        self.blocks = []
        self.noise_given = self.noise = float(noise)
        self.noise_measured = None
        self.max_passes, self.finalist_count = 1, 0
        self.budget = len(candidates)
        self.current = dict(candidates[0])
        self.measured, self.trials, self.passes, self.finalists = {}, 0, 1, []
        self._plan = iter(candidates)
        self._waiting = None

    def best(self) -> dict | None:
        return self._best_of(list(self.measured))


STRATEGIES = ("coordinate", "grid", "given")


def check_objective(objective: dict) -> None:
    if objective.get("kind") not in OBJECTIVES:
        raise TuneError(f"tune_objective: {objective.get('kind')!r} is not one of "
                        f"{', '.join(OBJECTIVES)}")


def search_for(strategy: str, space: dict, start: dict, objective: dict, noise: float = 0.03,
               max_passes: int = 3, candidates: list | None = None, finalists: int = 2,
               budget: int | None = None, blocks: list | None = None) -> CoordinateSearch:
    if strategy == "coordinate":
        return CoordinateSearch(space, start, objective, noise, max_passes, finalists, budget,
                                blocks)
    if strategy == "grid":
        return GridSearch(space, start, objective, noise)
    if strategy == "given":
        return GivenSearch(candidates, objective, noise)
    raise TuneError(f"tune_strategy: {strategy!r} is not one of {', '.join(STRATEGIES)}")


def grid(space: dict) -> list:
    """Every candidate of the space, as the full grid measures them."""
    names = list(space)
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(space[name] for name in names))]


def grid_size(space: dict) -> int:
    return math.prod(len(values) for values in space.values())
