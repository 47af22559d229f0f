"""tune/_search_controller.py: the autotune search's rules, on response surfaces given as
functions of the candidate (what a perf_analyzer sweep of it would give), so that the grid's
best is known."""

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.tune._search_controller import (
    CoordinateSearch,
    TuneError,
    combine,
    grid,
    grid_size,
    key_of,
    score,
    search_for,
)

SPACE = {"instance_count": [1, 2, 3], "max_batch_size": [1, 2, 4, 8],
         "max_queue_delay_microseconds": [0, 100, 1000], "intra_op_thread_count": [0, 1, 2]}
GUIDE = {"instance_count": 1, "max_batch_size": 8, "max_queue_delay_microseconds": 100,
         "intra_op_thread_count": 0}
SLO = {"kind": "throughput", "percentile": 99, "slo_ms": 200}


def sweep(throughput, p99_ms):
    """One candidate's points over concurrency 1..4: throughput rises, latency too."""
    return [{"concurrency": c, "throughput_infer_per_sec": throughput * min(c, 2) / 2,
             "p99_latency_us": p99_ms * 1000 * c / 2} for c in (1, 2, 3, 4)]


def surface(candidate):
    """Throughput that batching and instances raise, thread settings that matter, and a
    latency that a long queue delay and big batches push past the objective."""
    tput = 10 * (1 + 0.3 * (candidate["max_batch_size"] >= 4)) \
        * {1: 1.0, 2: 1.15, 3: 1.1}[candidate["instance_count"]] \
        * {0: 1.0, 1: 0.7, 2: 1.05}[candidate["intra_op_thread_count"]]
    p99 = 100 + 20 * candidate["max_batch_size"] + candidate["max_queue_delay_microseconds"] / 10
    return sweep(tput, p99)


def run(search, measure):
    while (candidate := search.propose()) is not None:
        search.record(candidate, measure(candidate))
    return search


def grid_best(measure, objective=None):
    """The grid's best score and every candidate that reaches it."""
    objective = objective or SLO
    scored = [(score(measure(c), objective), c) for c in grid(SPACE)]
    best = max(s["value"] for s, c in scored if s is not None)
    return best, [key_of(c) for s, c in scored if s is not None and s["value"] == best]


def test_it_finds_the_grids_best_with_a_third_of_its_measurements():
    search = run(CoordinateSearch(SPACE, GUIDE, SLO), surface)
    best_value, best = grid_best(surface)
    assert search.best()["score"]["value"] == pytest.approx(best_value)
    assert key_of(search.best()["candidate"]) in best
    assert len(search.measured) * 3 <= grid_size(SPACE) == 108


def test_the_start_twice_first_each_candidate_once_then_the_finalists_again():
    seen = []
    search = CoordinateSearch(SPACE, GUIDE, SLO)
    while (candidate := search.propose()) is not None:
        seen.append(key_of(candidate))
        search.record(candidate, surface(candidate))
    assert seen[:2] == [key_of(GUIDE)] * 2
    twice = {key for key in seen[2:] if seen.count(key) == 2}
    assert all(seen.count(key) <= 2 for key in seen)
    assert twice <= set(search.finalists) and 1 <= len(search.finalists) <= 3
    assert len(seen) <= search.budget == grid_size(SPACE) // 3 == 36


def test_the_runs_own_noise_sets_the_threshold():
    calls = []

    def measure(candidate):  # the start measured 10 and then 8.5: 15 % apart
        calls.append(candidate)
        gain = 1.05 if candidate["instance_count"] == 2 else 1.0
        return sweep(8.5 if len(calls) == 2 else 10 * gain, 100)
    search = run(CoordinateSearch(SPACE, GUIDE, SLO, noise=0.03), measure)
    assert search.noise_measured == pytest.approx(0.15) and search.noise == search.noise_measured
    assert search.current == GUIDE  # 10.5 is within 15 % of the start's mean, 9.25
    # two instances are a finalist (within the noise of the best) and their mean wins
    assert search.best()["candidate"]["instance_count"] == 2
    assert search.best()["score"]["values"] == [pytest.approx(10.5)] * 2


def test_a_lucky_measurement_is_measured_again_and_loses():
    lucky = dict(GUIDE, max_queue_delay_microseconds=0)
    seen = []

    def measure(candidate):  # the start 10 then 9 (10 % noise); lucky's first 11, then 8
        seen.append(candidate)
        if candidate == GUIDE:
            return sweep(10 if seen.count(GUIDE) == 1 else 9, 100)
        if candidate == lucky:
            return sweep(11 if seen.count(lucky) == 1 else 8, 100)
        return sweep(10.5 if candidate["intra_op_thread_count"] == 2 else 10, 100)
    search = run(CoordinateSearch(SPACE, GUIDE, SLO), measure)
    assert search.current == lucky and seen.count(lucky) == 2
    assert search.best()["candidate"] == dict(lucky, intra_op_thread_count=2)
    assert search.best()["score"]["value"] == pytest.approx(10.5)


def test_the_search_stays_within_its_budget():
    search = run(CoordinateSearch(SPACE, GUIDE, SLO, budget=10), surface)
    assert search.trials <= 10 and search.best() is not None
    # too small a budget is raised to one pass and the finalists
    assert CoordinateSearch({"a": [1, 2]}, {"a": 1}, SLO).budget == 2 + 1 + 1


def test_given_candidates_are_measured_in_order_and_the_best_mean_wins():
    a, b = {"instance_count": 1}, {"instance_count": 2}
    values = iter([10, 13, 12, 9, 11, 10])  # a: 10, 12, 11 = 11; b: 13, 9, 10 = 10.67
    search = search_for("given", {}, {}, SLO, candidates=[a, b] * 3)
    seen = []
    while (candidate := search.propose()) is not None:
        seen.append(candidate)
        search.record(candidate, sweep(next(values), 100))
    assert seen == [a, b] * 3
    assert search.best()["candidate"] == a
    assert search.best()["score"]["value"] == pytest.approx(11)
    with pytest.raises(TuneError, match="tune_candidates: \\[\\] is not a non-empty list"):
        search_for("given", {}, {}, SLO, candidates=[])


def test_a_candidate_meets_the_objective_when_half_its_measurements_do():
    met = score(sweep(10, 100), SLO)
    assert combine([met, None])["value"] == 10
    assert combine([met, None])["values"] == [10, None]
    assert combine([met, None, None]) is None
    assert combine([None]) is None


def test_a_point_over_the_objective_does_not_count():
    points = sweep(10, 150)  # p99 75, 150, 225, 300 ms
    assert score(points, SLO)["point"]["concurrency"] == 2
    assert score(points, dict(SLO, slo_ms=50)) is None


def test_a_candidate_that_misses_the_objective_is_never_chosen():
    def measure(candidate):  # more throughput, but always over the objective
        points = surface(candidate)
        if candidate["instance_count"] == 3:
            return [dict(p, throughput_infer_per_sec=1000, p99_latency_us=10**9)
                    for p in points]
        return points
    search = run(CoordinateSearch(SPACE, GUIDE, SLO), measure)
    assert search.best()["candidate"]["instance_count"] != 3


def test_a_gain_within_the_noise_keeps_the_current_value():
    def measure(candidate):  # two instances 2 % better: within 3 % noise
        return sweep(10 * (1.02 if candidate["instance_count"] == 2 else 1), 100)
    search = run(CoordinateSearch(SPACE, GUIDE, SLO, noise=0.03, finalists=1), measure)
    assert search.current == GUIDE and search.best()["candidate"] == GUIDE
    search = run(CoordinateSearch(SPACE, GUIDE, SLO, noise=0.01, finalists=1), measure)
    assert search.best()["candidate"]["instance_count"] == 2


def test_the_latency_objective_takes_the_lowest_latency_that_serves_the_rate():
    objective = {"kind": "latency", "percentile": 95, "rate": 9}
    points = [{"throughput_infer_per_sec": 8, "p95_latency_us": 1000},
              {"throughput_infer_per_sec": 9.5, "p95_latency_us": 3000},
              {"throughput_infer_per_sec": 12, "p95_latency_us": 5000}]
    assert score(points, objective)["value"] == 3000


def test_no_candidate_meets_the_objective():
    search = run(CoordinateSearch(SPACE, GUIDE, dict(SLO, slo_ms=1)), surface)
    assert search.best() is None


@pytest.mark.parametrize("space, start, words", [
    ({}, GUIDE, "tune_space: {} is not a mapping"),
    ({"instance_count": []}, GUIDE, "tune_space.instance_count: [] is not a non-empty list"),
    ({"instance_count": [1, 1]}, GUIDE, "lists a value twice"),
    ({"preferred_batch_size": [4]}, GUIDE, "no value for preferred_batch_size"),
])
def test_a_space_that_cannot_be_searched_is_named(space, start, words):
    with pytest.raises(TuneError, match=words.replace("[", r"\[").replace("]", r"\]")
                       .replace("{", r"\{").replace("}", r"\}")):
        CoordinateSearch(space, start, SLO)


def test_an_unknown_objective_is_named():
    with pytest.raises(TuneError, match="tune_objective: 'fastest' is not one of"):
        CoordinateSearch(SPACE, GUIDE, {"kind": "fastest"})


def test_the_search_takes_results_in_the_order_it_proposes():
    search = CoordinateSearch(SPACE, GUIDE, SLO)
    first = search.propose()
    with pytest.raises(TuneError, match="record the last candidate"):
        search.propose()
    with pytest.raises(TuneError, match="is not the candidate the search proposed"):
        search.record(dict(first, instance_count=3), [])


def test_the_grid_measures_every_candidate_and_keeps_the_best():
    space = {"a": [1, 2, 3], "b": [10, 20]}
    objective = {"kind": "throughput", "slo_ms": 100}
    search = search_for("grid", space, {"a": 1, "b": 10}, objective)
    seen = []
    while (candidate := search.propose()) is not None:
        seen.append(candidate)
        value = 100 + 10 * candidate["a"] * (candidate["b"] == 20)
        search.record(candidate, [{"concurrency": 1, "throughput_infer_per_sec": value,
                                   "p99_latency_us": 1000}])
    assert seen == grid(space) and len(seen) == grid_size(space) == 6
    assert search.best()["candidate"] == {"a": 3, "b": 20}
    with pytest.raises(TuneError,
                       match="tune_strategy: 'random' is not one of coordinate, grid, given"):
        search_for("random", space, {"a": 1, "b": 10}, {"kind": "throughput", "slo_ms": 1})


def test_parameters_that_hinge_on_each_other_are_searched_together():
    """As the lab measured (benchmarks/tune_search.py): two instances of one thread each
    serve the most, while two instances of the default threads, or one instance of one
    thread, serve far less than the start - no single change leads there."""
    def measure(candidate):
        tput = {(1, 0): 18, (1, 1): 9.5, (1, 2): 17.5, (2, 0): 12.5, (2, 1): 19.5,
                (2, 2): 12.5, (3, 0): 11, (3, 1): 17, (3, 2): 11}[
            (candidate["instance_count"], candidate["intra_op_thread_count"])]
        return sweep(tput, 100)
    alone = run(CoordinateSearch(SPACE, GUIDE, SLO), measure)
    assert alone.best()["candidate"]["instance_count"] == 1
    blocks = [("instance_count", "intra_op_thread_count"), ("max_batch_size",),
              ("max_queue_delay_microseconds",)]
    together = run(CoordinateSearch(SPACE, GUIDE, SLO, blocks=blocks), measure)
    picked = together.best()["candidate"]
    assert (picked["instance_count"], picked["intra_op_thread_count"]) == (2, 1)
    assert together.trials <= together.budget <= grid_size(SPACE) // 3
    with pytest.raises(TuneError, match="do not partition the space's parameters"):
        CoordinateSearch(SPACE, GUIDE, SLO, blocks=blocks[:2])
