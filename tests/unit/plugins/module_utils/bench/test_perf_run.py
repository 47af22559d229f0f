"""The perf_analyzer module's command line and checks (the runs themselves are in
tests/integration/test_benchmark.py, against the real server)."""

import lzma
from pathlib import Path

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.bench._perf import (
    parse_profile_export,
)
from ansible_collections.inferops.triton.plugins.module_utils.bench._perf_run import (
    PerfRunError,
    command,
    default_name,
    missing_levels,
    parse_range,
    perf_args,
    run,
    utc_text,
    validate,
    windows_from_passes,
)

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "perf_analyzer"


def options(**over):
    params = dict(model="resnet50", model_version=None, url=None, protocol="grpc", batch_size=1,
                  concurrency_range=None, request_rate_range=None,
                  measurement_mode="time_windows", measurement_interval=5000,
                  measurement_request_count=50, stability_percentage=10, max_trials=10,
                  percentile=None, input_data=None, shapes=[], verbose_csv=False,
                  collect_metrics=False, metrics_url=None, extra_args=[],
                  executable="perf_analyzer", image=None, docker="docker",
                  output_dir="/tmp/out", name=None, timeout=0, profile_export=False)
    params.update(over)
    return params


@pytest.mark.parametrize("text,integer,levels", [
    ("1", True, [1]),
    ("1:4", True, [1, 2, 3, 4]),
    ("2:8:3", True, [2, 5, 8]),
    ("5:10:2.5", False, [5.0, 7.5, 10.0]),
    ("0.5:1.5:0.5", False, [0.5, 1.0, 1.5]),
])
def test_ranges_walk_like_perf_analyzer(text, integer, levels):
    assert parse_range(text, "opt", integer) == levels


@pytest.mark.parametrize("text", ["", "a:b", "1:2:3:4", "0:4", "4:2", "1:4:0", "1.5:3"])
def test_bad_ranges_name_the_option_and_value(text):
    with pytest.raises(PerfRunError, match=rf"concurrency_range={text!r}"):
        parse_range(text, "concurrency_range", integer=True)


def test_the_default_is_concurrency_one_over_grpc_on_loopback():
    args = perf_args(options(), "/results", "r")
    assert args[:8] == ["-m", "resnet50", "-b", "1", "-i", "grpc", "-u", "127.0.0.1:8001"]
    assert "--concurrency-range=1" in args
    assert args[-3:] == ["-v", "-f", "/results/r.csv"]  # -v: a Pass line per window
    assert not any(a.startswith("--profile-export-file") for a in args)
    assert "--measurement-interval=5000" in args


def test_request_rate_http_and_every_option():
    args = perf_args(options(protocol="http", request_rate_range="5:10:5", model_version="2",
                             percentile=99, input_data="zero", shapes=["data:3,224,224"],
                             verbose_csv=True, collect_metrics=True,
                             metrics_url="127.0.0.1:8002/metrics", batch_size=8,
                             measurement_mode="count_windows", measurement_request_count=80,
                             extra_args=["--async"], profile_export=True), "/results", "r")
    assert "-u" in args and args[args.index("-u") + 1] == "127.0.0.1:8000"
    for arg in ("--request-rate-range=5:10:5", "--percentile=99", "--input-data=zero",
                "--verbose-csv", "--collect-metrics", "--metrics-url=127.0.0.1:8002/metrics",
                "--measurement-mode=count_windows", "--measurement-request-count=80",
                "--profile-export-file=/results/r.profile.json"):
        assert arg in args
    assert args[args.index("-x") + 1] == "2"
    assert args[args.index("--shape") + 1] == "data:3,224,224"
    assert args[-1] == "--async"
    assert not any(a.startswith("--concurrency-range") for a in args)


def test_a_container_runs_on_the_host_network_with_only_its_files_mounted():
    argv = command(options(image="inferops/perf-analyzer:2.60.0", input_data="/srv/in.json"),
                   "/tmp/out/.stage", "r", "perf-analyzer-x")
    assert argv[:6] == ["docker", "run", "--rm", "--name", "perf-analyzer-x", "--network=host"]
    assert "--volume=/tmp/out/.stage:/results" in argv
    assert "--volume=/srv/in.json:/srv/in.json:ro" in argv
    assert not any("privileged" in a for a in argv)
    image = argv.index("inferops/perf-analyzer:2.60.0")
    assert argv[image - 2:image] == ["--entrypoint", "perf_analyzer"]
    assert "-f" in argv and argv[argv.index("-f") + 1] == "/results/r.csv"


def test_a_host_binary_writes_straight_to_the_staging_directory():
    argv = command(options(executable="/opt/pa/bin/perf_analyzer"), "/tmp/out/.stage", "r", "x")
    assert argv[0] == "/opt/pa/bin/perf_analyzer"
    assert argv[argv.index("-f") + 1] == "/tmp/out/.stage/r.csv"


@pytest.mark.parametrize("over,message", [
    ({"concurrency_range": "1:2", "request_rate_range": "5"}, "exclusive"),
    ({"batch_size": 0}, "batch_size=0: must be 1 or more"),
    ({"max_trials": 0}, "max_trials=0"),
    ({"percentile": 100}, "percentile=100: must be 1 to 99"),
    ({"shapes": ["data"]}, "shapes: 'data' is not <input name>:<dim>"),
    ({"shapes": ["data:3,x"]}, "shapes: 'data:3,x'"),
    ({"name": "../x"}, "name='../x'"),
    ({"request_rate_range": "0"}, "request_rate_range='0'"),
])
def test_what_perf_analyzer_would_refuse_is_said_before_it_runs(over, message):
    with pytest.raises(PerfRunError, match=message.replace("(", r"\(").replace("[", r"\[")):
        validate(options(**over))


def test_default_names_say_the_cell():
    assert default_name(options(batch_size=8, concurrency_range="1:4")) == "resnet50-b8-c1_4"
    assert default_name(options(request_rate_range="5:10:5")) == "resnet50-b1-r5_10_5"


def test_levels_without_a_row_are_the_unstable_ones():
    rows = [{"Concurrency": 1, "Inferences/Second": 23.4}, {"Concurrency": 3}]
    assert missing_levels(options(concurrency_range="1:4"), rows) == [2, 4]
    # perf_analyzer reports the rate it reached: 9.98 for an asked 10 is that level
    rows = [{"Request Rate": 4.99}, {"Request Rate": 9.98}]
    assert missing_levels(options(request_rate_range="5:15:5"), rows) == [15.0]


def test_windows_are_counted_from_the_pass_lines():
    """Upstream's -v sample (issue 3657): three windows of 5000 ms at concurrency 1, each
    measured for 1.2 x the interval, as perf_analyzer's inference_profiler sleeps."""
    stdout = (FIXTURES / "upstream-issue-3657-verbose.stdout").read_text()
    windows = windows_from_passes(stdout, options(concurrency_range="1"))
    assert windows["experiments"] == [{"mode": "concurrency", "value": 1, "windows": 3,
                                       "measured_seconds": 18.0}]
    assert windows["measured_seconds"] == 18.0 and windows["source"] == "passes"
    # count windows have no fixed length: the count alone
    counted = windows_from_passes(stdout, options(measurement_mode="count_windows"))
    assert counted["experiments"][0]["windows"] == 3 and counted["measured_seconds"] is None


def test_stdout_without_pass_lines_has_no_windows():
    stdout = (FIXTURES / "lab-grpc-concurrency-b1.stdout").read_text()  # run without -v
    windows = windows_from_passes(stdout, options(concurrency_range="1:2"))
    assert [e["windows"] for e in windows["experiments"]] == [0, 0]
    assert windows["measured_seconds"] == 0


def test_pass_lines_give_the_windows_the_profile_export_measured():
    """One lab run with both -v and the profile export: the Pass lines times 1.2 x 2000 ms
    are the export's window boundaries, level by level, within 2% (each boundary also
    holds perf_analyzer's collection of the window's statistics, about 25 ms here)."""
    stdout = (FIXTURES / "lab-grpc-concurrency-v-b1.stdout").read_text()
    export = lzma.decompress((FIXTURES / "lab-grpc-concurrency-v-b1.profile.json.xz")
                             .read_bytes()).decode()
    passes = windows_from_passes(stdout, options(concurrency_range="1:2",
                                                 measurement_interval=2000))
    measured = parse_profile_export(export)
    assert [(e["value"], e["windows"]) for e in passes["experiments"]] == [
        (e["value"], e["windows"]) for e in measured["experiments"]]
    for counted, exported in zip(passes["experiments"], measured["experiments"]):
        seconds = exported["measured_ns"] / 1e9
        assert counted["measured_seconds"] == pytest.approx(seconds, rel=0.02)
    assert passes["measured_seconds"] == pytest.approx(measured["measured_seconds"], rel=0.02)


@pytest.mark.parametrize("executable,exit_code", [("/bin/false", 1), ("/bin/echo", 0)])
def test_a_run_without_a_csv_is_a_failure_not_an_unstable_level(
        tmp_path, executable, exit_code):
    """Real processes that are not perf_analyzer: one fails, one ends well but measures
    nothing. Neither is reported as an unstable level; the output is kept for the reader."""
    result = run(options(executable=executable, output_dir=str(tmp_path), name="r"))
    assert result["failed"] and result["unstable"] == [] and result["results"] == []
    assert result["exit_code"] == exit_code
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.log", "r.windows.json"]
    assert not any(p.name.startswith(".r.") for p in tmp_path.iterdir())  # staging removed


def test_a_missing_executable_says_what_to_set(tmp_path):
    with pytest.raises(PerfRunError, match="set executable to perf_analyzer's path"):
        run(options(executable=str(tmp_path / "nope"), output_dir=str(tmp_path)))


def test_utc_text():
    """The one time format of the benchmark: the module's started and ended, a host summary's."""
    assert utc_text(0) == "1970-01-01T00:00:00Z"
    assert utc_text(1796199300.9) == "2026-12-02T08:15:00Z"
    assert len(utc_text()) == len("2026-12-02T08:15:00Z") and utc_text().endswith("Z")


def test_the_sweep_has_a_cell_per_model_and_batch_size_over_one_load():
    from ansible_collections.inferops.triton.plugins.module_utils.bench._perf_run import sweep
    plan = sweep(["resnet50", "bert"], [1, 8], concurrency_range="1:2")
    assert plan["load"] == "concurrency" and plan["range"] == "1:2"
    assert [(c["index"], c["model"], c["batch_size"], c["name"]) for c in plan["cells"]] == [
        (1, "resnet50", 1, "resnet50-b1"), (2, "resnet50", 8, "resnet50-b8"),
        (3, "bert", 1, "bert-b1"), (4, "bert", 8, "bert-b8")]
    # the line the play prints for each cell (test_benchmark reads it in the play's output)
    assert plan["cells"][0]["title"] == \
        "Cell 1/4 (3 after it): resnet50 batch 1, concurrency 1:2"
    assert plan["cells"][3]["title"] == "Cell 4/4 (0 after it): bert batch 8, concurrency 1:2"


def test_a_request_rate_range_makes_the_sweep_vary_the_rate_as_one_run_does():
    from ansible_collections.inferops.triton.plugins.module_utils.bench._perf_run import (
        load_of,
        sweep,
    )
    plan = sweep(["m"], [1], concurrency_range="1:4", request_rate_range="3:6:3")
    one_run = {"concurrency_range": "1:4", "request_rate_range": "3:6:3"}
    assert (plan["load"], plan["range"]) == load_of(one_run)
    assert plan["cells"][0]["title"] == "Cell 1/1 (0 after it): m batch 1, request rate 3:6:3"
    assert sweep([], [1], "1:2")["cells"] == []
