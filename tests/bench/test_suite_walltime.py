"""The quick suite's goals are read from the measured seconds: the whole suite side by side, each
experiment alone, and the bound that no choice of backend can beat."""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import suite_walltime  # noqa: E402

PINNED = {"tp1": {"torch": 10.0, "jax": 14.0, "tensorflow": 8.0},
          "tp5.research": {"torch": 30.0, "jax": 50.0, "tensorflow": 70.0}}


def test_verdicts_report_each_goal_with_its_figure():
    auto = {"tp1": {"backend": "tensorflow", "seconds": 8.5}, "tp5.research": {"backend": "torch", "seconds": 34.0}}
    lines = suite_walltime.verdicts(auto, PINNED, {"torch": 100.0, "tensorflow": 200.0, "auto": 55.0})
    assert "auto / torch = 0.55 (goal <= 0.6: met)" in lines[0]
    assert "auto / tensorflow = 0.28 (goal <= 0.3: met)" in lines[1]
    assert "sums to 0.95 of torch's sum" in lines[2]  # (8 + 30) / (10 + 30)
    assert "another backend than torch: slowest auto / torch = 0.85 (tp1) (goal <= 1.10: met)" in lines[3]
    assert "differs by up to 13% (1 experiments)" in lines[4]  # tp5.research ran on torch both times


def test_verdicts_say_not_met_and_skip_what_was_not_measured():
    auto = {"tp1": {"backend": "jax", "seconds": 12.0}}
    lines = suite_walltime.verdicts(auto, PINNED, {"torch": 100.0, "auto": 92.0})
    assert lines[0].endswith("(goal <= 0.6: not met)")
    assert not any("tensorflow =" in line for line in lines)
    assert lines[-1].endswith("1.20 (tp1) (goal <= 1.10: not met)")
