"""One tuning run driven over a served configuration (the lab's, tests/fixtures/triton/
config-resnet50.json): what is loaded in which order, the evidence, and the repository's
configuration put back at the end, also when a step fails. The server is the test's: a
load records the configuration, a measurement answers from a throughput surface."""

import json
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.tune._candidate_controller import (
    CandidateError,
)
from ansible_collections.inferops.triton.plugins.module_utils.tune._tune_controller import (
    LoadFailed,
    tune,
)

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "triton"
OBJECTIVE = {"kind": "throughput", "percentile": 99, "slo_ms": 100}
SPACE = {"instance_count": [1, 2, 3], "max_queue_delay_microseconds": [0, 500, 2000]}


class Server:
    """Loads and sweeps: throughput peaks at 2 instances and 500 us; 3 instances is refused."""

    def __init__(self):
        self.loaded, self.config = [], None

    def load(self, config):
        if config and config["instance_group"][0]["count"] == 3:
            raise LoadFailed("failed to allocate memory")
        self.loaded.append(config)
        self.config = config
        return config

    def measure(self, label):
        count = self.config["instance_group"][0]["count"]
        delay = int(self.config["dynamic_batching"]["max_queue_delay_microseconds"])
        rate = 100 * count + {0: 0, 100: 0, 500: 40, 2000: 10}[delay]
        return [{"concurrency": level, "throughput_infer_per_sec": rate * level / 4,
                 "p99_latency_us": 20000 * level} for level in (8, 4, 2, 1)]  # as the CSV


@pytest.fixture()
def served():
    return json.loads((FIXTURES / "config-resnet50.json").read_text())


def test_the_run_measures_the_baseline_first_and_puts_the_repository_back(served):
    server = Server()
    out = tune(served, SPACE, OBJECTIVE, server.load, server.measure,
               baseline={"instance_count": 1, "max_queue_delay_microseconds": 100})
    assert server.loaded[0]["dynamic_batching"]["max_queue_delay_microseconds"] == 100
    assert server.loaded[-1] == served and out["restored"]
    assert out["winner"]["candidate"] == {"instance_count": 2, "max_queue_delay_microseconds": 500}
    assert out["winner"]["config"]["instance_group"][0]["count"] == 2
    # the best point under 100 ms p99 is concurrency 4 (80 ms); 8 is 160 ms
    assert out["winner"]["score"]["point"]["concurrency"] == 4
    assert out["baseline"]["score"]["value"] == 100
    assert out["grid"] == 9 and out["measurements"] < 9
    assert out["blocks"] == [["instance_count"], ["max_queue_delay_microseconds"]]
    refused = [e for e in out["candidates"] if e["error"]]
    assert refused and {e["candidate"]["instance_count"] for e in refused} == {3}
    assert refused[0]["error"] == "load refused: failed to allocate memory"
    assert out["start"] == {"instance_count": 1, "max_queue_delay_microseconds": 2000}


def test_the_search_starts_inside_its_space(served):
    # the served 2000 us is not among the space's delays: the search starts at its first
    server = Server()
    out = tune(served, {"instance_count": [1, 2], "max_queue_delay_microseconds": [0, 500]},
               OBJECTIVE, server.load, server.measure)
    assert out["start"] == {"instance_count": 1, "max_queue_delay_microseconds": 0}
    assert all(e["candidate"]["max_queue_delay_microseconds"] in (0, 500)
               for e in out["candidates"])
    assert out["winner"]["candidate"] == {"instance_count": 2, "max_queue_delay_microseconds": 500}
    assert all(e["served"] == e["candidate"] for e in out["candidates"] if not e["error"])
    # the evidence lists each candidate's points by load level
    assert [p["concurrency"] for p in out["candidates"][0]["points"]] == [1, 2, 4, 8]


def test_a_failing_measurement_still_puts_the_repository_back(served):
    server = Server()

    def broken(label):
        raise RuntimeError("perf_analyzer crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        tune(served, SPACE, OBJECTIVE, server.load, broken)
    assert server.loaded[-1] == served


def test_a_space_the_model_cannot_take_fails_before_anything_loads(served):
    server = Server()
    with pytest.raises(CandidateError, match="preferred_batch_size: \\[16\\] exceed"):
        tune(served, {"preferred_batch_size": [[4], [16]]}, OBJECTIVE, server.load,
             server.measure)
    assert server.loaded == []


def test_a_baseline_the_model_cannot_take_is_recorded_not_fatal(served):
    server = Server()
    unbatched = dict(served, max_batch_size=0)
    out = tune(unbatched, {"instance_count": [1, 2]}, OBJECTIVE, server.load, server.measure,
               baseline={"instance_count": 1, "max_queue_delay_microseconds": 100})
    assert out["baseline"]["error"].startswith("not a configuration of resnet50: ")
    assert out["winner"] is not None


def test_given_candidates_are_measured_side_by_side_and_checked_before_loading(served):
    server = Server()
    guide = {"instance_count": 1, "max_queue_delay_microseconds": 100}
    tuned = {"instance_count": 2, "max_queue_delay_microseconds": 500}
    out = tune(served, {}, OBJECTIVE, server.load, server.measure, strategy="given",
               candidates=[guide, tuned] * 2)
    assert [e["candidate"] for e in out["candidates"]] == [guide, tuned] * 2
    assert out["winner"]["candidate"] == tuned
    assert out["winner"]["score"]["values"] == [240.0, 240.0]
    assert out["grid"] is None and out["space"] == {} and server.loaded[-1] == served
    server = Server()
    with pytest.raises(CandidateError, match="preferred_batch_size"):
        tune(served, {}, OBJECTIVE, server.load, server.measure, strategy="given",
             candidates=[guide, {"preferred_batch_size": [16]}])
    assert server.loaded == []
