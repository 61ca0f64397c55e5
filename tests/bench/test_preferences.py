"""The backend preferences are ranked from the recorded runs: the fastest backend first, and never
one on which a recorded quick run missed the experiment's target."""

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import _preferences  # noqa: E402


def test_quick_order_is_fastest_first_without_the_backends_that_missed_their_target():
    pinned = {"tp4.conv3d": {"torch": 9.0, "jax": 20.0, "tensorflow": 8.0},
              "tp1": {"torch": 10.0, "jax": 13.0, "tensorflow": 9.0}}
    table = _preferences.quick_table_from(pinned, [{"benchmark": "suite_walltime"}],
                                          {"tp4.conv3d": {"tensorflow"}})
    assert table["order"] == {"tp4.conv3d": ["torch", "jax"], "tp1": ["tensorflow", "torch", "jax"]}
    assert table["missed_target"] == {"tp4.conv3d": ["tensorflow"]}


def write(labs: Path, name: str, command: str, result: dict) -> None:
    (labs / f"{name}.json").write_text(json.dumps({"command": command, "result": result}))


def test_only_default_quick_runs_count_as_missing_a_target(tmp_path):
    write(tmp_path, "a", "dltp run all --quick --json", {"experiment": "all", "results": [
        {"experiment": "tp4.memory", "backend": "tensorflow", "target_met": False},
        {"experiment": "tp1", "backend": "tensorflow", "target_met": True}]})
    write(tmp_path, "b", "dltp run tp4.conv3d --quick --learning-rate 0 --json",  # a failure on purpose
          {"experiment": "tp4.conv3d", "backend": "torch", "target_met": False})
    write(tmp_path, "c", "dltp run tp4.conv3d --quick --backend jax --json",
          {"experiment": "tp4.conv3d", "backend": "jax", "target_met": False})
    write(tmp_path, "d", "dltp run tp4.conv3d --json", {"experiment": "tp4.conv3d", "backend": "torch",
                                                        "target_met": False})
    assert _preferences.missed_targets(tmp_path) == {"tp4.memory": {"tensorflow"}, "tp4.conv3d": {"jax"}}
