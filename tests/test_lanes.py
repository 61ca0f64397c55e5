"""Experiments side by side: one child process per backend, dealt to lanes by measured seconds;
results, failures and interrupts come back from every lane."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import mlflow
import pytest

from dltp import child, lanes
from dltp.errors import DltpError

SECONDS = {("a", "torch"): 50, ("b", "torch"): 10, ("c", "jax"): 30, ("d", "torch"): 40, ("e", "jax"): 5}


def seconds(unit, backend):
    return SECONDS[(unit, backend)]


def lanes_of(plan):
    return [[(batch.backend, batch.units) for batch in lane] for lane in plan]


def test_one_process_per_backend_and_the_longest_first_onto_the_least_loaded_lane():
    backend_of = {"a": "torch", "b": "torch", "c": "jax", "d": "torch", "e": "jax"}
    plan = lanes.plan(list(backend_of), backend_of, 2, seconds)
    assert lanes_of(plan) == [[("torch", ["a", "b", "d"])], [("jax", ["c", "e"])]]
    assert plan[0][0].estimate_s == lanes.START_S + 100


def test_one_lane_runs_every_batch_one_after_another():
    backend_of = {"a": "torch", "c": "jax", "b": "torch"}
    plan = lanes.plan(list(backend_of), backend_of, 1, seconds)
    assert lanes_of(plan) == [[("torch", ["a", "b"]), ("jax", ["c"])]]


def test_a_single_backend_is_cut_where_the_two_halves_are_most_even():
    backend_of = {"a": "torch", "b": "torch", "d": "torch"}  # 50, 10, 40 s: cut after a
    plan = lanes.plan(list(backend_of), backend_of, 2, seconds)
    assert sorted(lanes_of(plan)) == [[("torch", ["a"])], [("torch", ["b", "d"])]]


def test_more_lanes_than_experiments_leave_none_empty():
    plan = lanes.plan(["a", "b"], {"a": "torch", "b": "torch"}, 8, seconds)
    assert len(plan) == 2 and all(plan)


def test_jobs_come_from_the_flag_then_the_variable_then_the_cores(monkeypatch):
    monkeypatch.setenv("DLTP_JOBS", "3")
    assert lanes.resolve_jobs(2, threads=1, units=10) == 2
    assert lanes.resolve_jobs(None, threads=1, units=10) == 3
    assert lanes.resolve_jobs(None, threads=1, units=2) == 2  # never more lanes than experiments
    monkeypatch.delenv("DLTP_JOBS")
    monkeypatch.setattr(lanes.backends, "gpu_visible", lambda: False)
    monkeypatch.setattr(lanes.backends, "cores", lambda: 8)
    assert lanes.resolve_jobs(None, threads=4, units=10) == 2
    assert lanes.resolve_jobs(None, threads=1, units=10) == 8
    assert lanes.resolve_jobs(None, threads=None, units=10) == 2  # no thread count: two halves
    monkeypatch.setattr(lanes.backends, "gpu_visible", lambda: True)
    assert lanes.resolve_jobs(None, threads=4, units=10) == 1  # one GPU: one experiment at a time


class Recorder:
    """Stands for child.run_batch: records each batch's threads and CPUs; "a" ends only once lane 1
    (which runs "b") has ended, so that "c", after "a" on lane 0, starts alone."""

    def __init__(self):
        self.seen = {}
        self.b_started = threading.Event()

    def __call__(self, units, args, backend, threads, *, output, on_result, started, cpus):
        self.seen[units[0]] = (threads, cpus)
        if units[0] == "b":
            self.b_started.set()
        if units[0] == "a":
            assert self.b_started.wait(30)
            deadline = time.monotonic() + 30
            while any(t.name == "dltp-lane-1" for t in threading.enumerate()) and time.monotonic() < deadline:
                time.sleep(0.01)
        for unit in units:
            on_result(unit, {"experiment": unit})
        return 0


def side_by_side(monkeypatch, threads):
    monkeypatch.setattr(lanes.backends, "cores", lambda: 8)
    monkeypatch.setattr(lanes.os, "sched_getaffinity", lambda pid: set(range(8)))
    plan = [[lanes.Batch("torch", ["a"], 1), lanes.Batch("jax", ["c"], 1)], [lanes.Batch("torch", ["b"], 1)]]
    recorder = Recorder()
    outcome = lanes.run(plan, None, threads, on_result=lambda unit, result: None, run_batch=recorder)
    assert set(outcome.results) == {"a", "b", "c"} and not outcome.codes
    return recorder.seen


def test_lanes_side_by_side_split_the_cores_and_a_lane_left_alone_gets_them_all(monkeypatch):
    seen = side_by_side(monkeypatch, threads=None)
    assert seen["a"][0] == seen["b"][0] == 4  # two lanes running: half the cores each
    assert sorted(seen["a"][1] + seen["b"][1]) == list(range(8))  # on CPUs of their own
    assert seen["c"] == (8, None)  # alone: every core, nothing to bind


def test_a_thread_count_the_user_set_wins_over_the_share(monkeypatch):
    seen = side_by_side(monkeypatch, threads=1)
    assert {unit: threads for unit, (threads, _) in seen.items()} == {"a": 1, "b": 1, "c": 1}
    assert seen["a"][1] != seen["b"][1]  # side by side: two different CPUs


@pytest.mark.parametrize("argv, threads", [(["tp1"], 8), (["tp1", "tp2.diagnose", "--jobs", "1"], 8),
                                           (["tp1", "--threads", "3"], 3)])
def test_experiments_one_at_a_time_get_every_core_unless_the_user_says(monkeypatch, capsys, argv, threads):
    from dltp import cli

    monkeypatch.delenv("DLTP_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(lanes.backends, "cores", lambda: 8)
    given = {}

    def run_here(unit, cfg, backend, threads):
        given[unit] = threads
        return {"experiment": unit}

    monkeypatch.setattr(cli, "_run_here", run_here)
    assert cli.main(["run", *argv, "--backend", "torch"]) == 0
    assert set(given.values()) == {threads} and len(given) == len([a for a in argv if a.startswith("tp")])


@pytest.mark.parametrize("value, message", [("0", "DLTP_JOBS must be at least 1"),
                                            ("two", "DLTP_JOBS must be a whole number")])
def test_bad_job_counts_are_clear_errors(monkeypatch, value, message):
    monkeypatch.setenv("DLTP_JOBS", value)
    with pytest.raises(DltpError, match=message):
        lanes.resolve_jobs(None, threads=1, units=3)


def test_estimates_come_from_the_recorded_quick_suite():
    prefs = {"cpu": {"quick": {"figures": {"tp1": {"torch": 9.5}}}}}
    assert lanes.estimate("tp1", "torch", True, prefs) == 9.5
    assert lanes.estimate("tp1", "jax", True, prefs) == lanes.UNMEASURED_S
    assert lanes.estimate("tp1", "torch", False, prefs) == lanes.UNMEASURED_S  # full budget: unmeasured


def test_the_header_line_names_its_experiment():
    assert child.header_unit(child.header("tp4.unet", "jax", "auto: cpu/quick measurement") + "\n") == "tp4.unet"
    assert child.header_unit("== not a header") is None


def _env(**extra):
    env = {**os.environ, "DLTP_OFFLINE": "1", **extra}
    env.pop("DLTP_JOBS", None)
    return env


@pytest.mark.slow
def test_two_experiments_side_by_side_each_in_its_own_process(mlflow_store, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "dltp", "run", "tp5.attention", "tp4.conv3d", "--quick",
                           "--epochs", "2", "--backend", "torch", "--jobs", "2", "--threads", "1", "--json"],
                          capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert "2 lanes side by side" in proc.stdout
    assert any(line.startswith("tp4.conv3d    | == tp4.conv3d (torch) ==") for line in lines)
    assert any(line.startswith("tp5.attention | ") and "Epoch 2/2" in line for line in lines)
    assert "wall time" in proc.stdout and "(2 lanes side by side)" in proc.stdout
    payload = json.loads(lines[-1])
    assert [r["experiment"] for r in payload["results"]] == ["tp5.attention", "tp4.conv3d"]
    assert payload["failed"] == [] and all(r["backend_choice"] == "--backend" for r in payload["results"])
    statuses = {r.info.run_name: r.info.status
                for r in mlflow.search_runs(search_all_experiments=True, output_format="list")}
    assert statuses and set(statuses.values()) == {"FINISHED"}
    assert len({r["run_id"] for r in payload["results"]}) == 2


@pytest.mark.slow
def test_a_failing_lane_is_reported_and_the_run_exits_1(mlflow_store, tmp_path):
    # offline, no MNIST files: both lanes fail with their own clear message
    proc = subprocess.run([sys.executable, "-m", "dltp", "run", "tp1", "tp1.batching", "--dataset", "mnist",
                           "--quick", "--backend", "torch", "--jobs", "2", "--json"],
                          capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "put mnist.npz" in proc.stderr
    assert "tp1 FAILED (exit code 2)" in proc.stderr and "tp1.batching FAILED (exit code 2)" in proc.stderr
    payload = json.loads(proc.stdout.splitlines()[-1])
    assert payload["results"] == [] and payload["failed"] == ["tp1", "tp1.batching"]


@pytest.mark.slow
def test_sigterm_to_the_parent_stops_every_lane_and_marks_the_runs_killed(mlflow_store, tmp_path):
    stderr = open(tmp_path / "stderr.txt", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "dltp", "run", "tp5.attention", "tp4.conv3d", "--epochs", "500",
                             "--backend", "torch", "--jobs", "2", "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=stderr, text=True, env=_env(), cwd=tmp_path,
                            start_new_session=True)
    seen, deadline = set(), time.monotonic() + 300
    for line in proc.stdout:  # wait until both lanes train
        if "Epoch 2/" in line:
            seen.add(line.split("|")[0].strip())
        if len(seen) == 2 or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGTERM)  # the parent alone: it must pass it on to every lane
    proc.communicate(timeout=180)
    stderr.seek(0)
    err = stderr.read()
    assert seen == {"tp5.attention", "tp4.conv3d"}
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert sorted(r.info.status for r in runs) == ["KILLED", "KILLED"]
