"""The quick suite's goals are read on every round: met only when every round's ratio meets the
goal, not met when none does, and otherwise inside the spread."""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import suite_walltime  # noqa: E402

TORCH = [100.0, 110.0, 105.0, 100.0, 120.0]


def walls(auto: list[float], tensorflow: list[float]) -> dict:
    return {("side-by-side", "auto"): auto, ("side-by-side", "torch"): TORCH,
            ("side-by-side", "tensorflow"): tensorflow}


def test_a_whole_suite_goal_is_met_only_when_every_round_meets_it():
    lines = suite_walltime.verdicts(walls([55, 60, 60, 58, 70], [300] * 5))
    assert lines[0].startswith("whole suite, side-by-side: auto / torch = 0.57 (0.55–0.58, 5 rounds)")
    assert lines[0].endswith("(goal <= 0.6: met)")
    assert lines[1].endswith("(goal <= 0.3: met)")  # 0.18–0.23
    lines = suite_walltime.verdicts(walls([55, 60, 70, 58, 70], [150] * 5))
    assert lines[0].endswith("(goal <= 0.6: inside the spread)")  # round 3: 70 / 105 = 0.67
    assert lines[1].endswith("(goal <= 0.3: not met)")  # 0.37–0.47: no round meets it
    assert suite_walltime.verdicts(walls([55, 60, 70, 58, 70], [200] * 5))[1].endswith("inside the spread)")


def test_each_experiment_auto_against_torch_alone_in_the_same_rounds():
    def runs(backend, seconds):
        return [{"experiments": {"tp1": {"backend": backend, "seconds": s}, "tp2": {"backend": "torch", "seconds": 5}}}
                for s in seconds]
    rows = suite_walltime.per_experiment(runs("jax", [8, 9, 8, 12, 8]), runs("torch", [10, 10, 10, 10, 10]))
    assert rows["tp1"]["backend"] == "jax" and rows["tp1"]["ratio"]["max"] == 1.2
    lines = suite_walltime.verdicts({}, rows)
    assert lines == ["per experiment, alone, where auto picks another backend than torch (1): 0 met, 0 not met, "
                     "1 inside the spread of auto / torch <= 1.1; highest median 0.80 (tp1)"]


def test_the_bound_reads_the_quick_medians():
    quick = {"figures": {"tp1": {"torch": 10, "jax": 6, "tensorflow": 8}, "tp3": {"torch": 30, "tensorflow": 40}}}
    assert suite_walltime.verdicts({}, None, quick) == [
        "bound: the fastest backend for every experiment sums to 0.90 of torch's sum (medians of "
        "bench/quick_backends.py, second run)"]
