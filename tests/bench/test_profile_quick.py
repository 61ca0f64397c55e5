"""bench/profile_quick.py charges each moment to the innermost kind of work, and names the largest
costs that are not the lab's own."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import profile_quick  # noqa: E402


def busy(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_each_moment_goes_to_the_innermost_category_of_the_running_experiment():
    p = profile_quick.Profile()
    p.enter_unit("tp1")
    figures = p.wrap(lambda: busy(0.05), "figures")
    tracking = p.wrap(lambda: (busy(0.05), figures()), "tracking")
    tracking()
    p.enter_unit(profile_quick.PROCESS)
    p._charge()
    cells = p.totals["tp1"]
    assert 0.04 <= cells["tracking"][1] < 0.09 and 0.04 <= cells["figures"][1] < 0.09  # [wall, cpu]
    assert cells["tracking"][0] >= cells["tracking"][1] * 0.5


def test_a_call_inside_recording_stays_recording():
    p = profile_quick.Profile()
    p.enter_unit("tp1")
    evaluation = p.wrap(lambda: busy(0.03), "evaluation", unless=profile_quick.INSIDE_RECORDING)
    p.wrap(lambda: evaluation(), "tracking")()  # a predict while MLflow infers a signature
    p._charge()
    assert "evaluation" not in p.totals["tp1"] and p.totals["tp1"]["tracking"][1] >= 0.025


def test_the_largest_costs_named_are_not_the_labs_own_work():
    totals = {"training": {"cpu": 50.0}, "evaluation": {"cpu": 9.0}, "lab code": {"cpu": 8.0},
              "imports": {"cpu": 30.0}, "tracking": {"cpu": 7.0}, "figures": {"cpu": 2.0}, "data": {"cpu": 1.0}}
    assert profile_quick.largest_not_lab(totals) == [("imports", 30.0), ("tracking", 7.0), ("figures", 2.0)]
