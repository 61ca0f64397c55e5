"""The backend preferences are ranked from the recorded rounds: a backend moves ahead of the
default order (torch, jax, tensorflow) only when it is faster in every round, and never one on
which a recorded quick run missed the experiment's target."""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import _preferences  # noqa: E402


def test_quick_order_keeps_the_default_where_the_rounds_overlap():
    seconds = {"tp1": {"torch": [10, 11, 10, 12, 10], "jax": [9, 12, 10, 11, 11], "tensorflow": [11, 10, 9, 13, 10]}}
    table = _preferences.quick_table_from(seconds, [{"benchmark": "quick_backends"}], lanes=2)
    assert table["order"] == {"tp1": ["torch", "jax", "tensorflow"]}
    assert table["figures"]["tp1"] == {"torch": 10, "jax": 11, "tensorflow": 10}  # medians: what lanes.py reads
    assert table["spread"]["tp1"]["jax"] == [9, 12]


def test_quick_order_moves_a_backend_when_every_round_agrees_and_drops_missed_targets():
    seconds = {"tp4.conv3d": {"torch": [9, 9, 9, 9, 9], "jax": [20] * 5, "tensorflow": [8, 8, 8, 8, 8]},
               "tp1": {"torch": [10, 10, 10, 10, 10], "jax": [13] * 5, "tensorflow": [9, 9.5, 9, 9, 9]}}
    table = _preferences.quick_table_from(seconds, [], {"tp4.conv3d": {"tensorflow"}}, lanes=2)
    assert table["order"] == {"tp4.conv3d": ["torch", "jax"], "tp1": ["tensorflow", "torch", "jax"]}
    assert table["missed_target"] == {"tp4.conv3d": ["tensorflow"]}
    assert "tensorflow" not in table["rounds"]["tp4.conv3d"]


def test_a_move_that_slows_the_whole_quick_run_goes_back_to_the_default_backend():
    # Alone, jax is faster on tp4.unet in every round. But moving it gives jax a process of its own:
    # with two lanes, the torch experiments then run in one process instead of two halves.
    seconds = {"tp1": {"torch": [40] * 5, "jax": [45] * 5}, "tp3": {"torch": [40] * 5, "jax": [50] * 5},
               "tp4.unet": {"torch": [12, 11, 12, 12, 13], "jax": [10] * 5}}
    table = _preferences.quick_table_from(seconds, [], lanes=2)
    assert table["order"]["tp4.unet"] == ["torch", "jax"]
    suite = table["suite"]
    assert suite["moved"] == [] and suite["kept_default"] == {"tp4.unet": ["jax", "torch"]}
    # torch alone, halved: (tp1) | (tp3, tp4.unet); jax would leave (tp1, tp3) on one lane
    assert suite["predicted_run_s"]["no move"] == [6 + 40 + 12, 6 + 40 + 11, 58, 58, 6 + 40 + 13]
    # one lane: every second saved counts, minus one more process to start
    one = _preferences.quick_table_from({"tp1": {"torch": [40] * 5, "jax": [45] * 5},
                                         "tp4.unet": {"torch": [20] * 5, "jax": [10] * 5}}, [], lanes=1)
    assert one["order"]["tp4.unet"] == ["jax", "torch"] and one["suite"]["moved"] == ["tp4.unet"]
    assert one["suite"]["predicted_run_s"]["kept moves"] == [6 + 40 + 6 + 10] * 5


def test_quick_order_needs_five_rounds():
    with pytest.raises(ValueError, match="at least 5"):
        _preferences.quick_table_from({"tp1": {"torch": [1, 1, 1], "jax": [2, 2, 2]}}, [])


def test_full_order_sums_a_labs_models_round_by_round():
    # tp3: jax is faster on the cnn in every round, slower on the resnet; together (1/rate summed per
    # round) jax wins every round but one, so the default order stays
    rates = {"cnn": {"torch": [100] * 5, "jax": [200] * 5}, "resnet": {"torch": [50] * 5, "jax": [45, 45, 45, 45, 30]}}
    order, figures, cost = _preferences.rank_by_time(["cnn", "resnet"], rates)
    assert cost["jax"][0] == pytest.approx(1 / 200 + 1 / 45) and cost["jax"][0] < cost["torch"][0]
    assert cost["jax"][4] > cost["torch"][4] and order == ["torch", "jax"]
    rates["resnet"]["jax"][4] = 45
    assert _preferences.rank_by_time(["cnn", "resnet"], rates)[0] == ["jax", "torch"]
    assert figures == {"cnn": {"torch": 100, "jax": 200}, "resnet": {"torch": 50, "jax": 45}}


def test_a_record_without_rounds_ranks_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(_preferences, "RUNS", tmp_path)
    old = {"rows": [{"model": "cnn", "backend": "torch", "images_per_s": 5.0}]}  # one figure per backend
    (tmp_path / "tp3_throughput.json").write_text(json.dumps({"returncode": 0, "payload": old}))
    assert _preferences.full_table() is None
    new = {"ranking": {"cnn": {"torch": [5, 5, 5, 5, 5], "tensorflow": [6, 6, 6, 6, 6]}}}
    (tmp_path / "tp3_throughput.json").write_text(json.dumps({"returncode": 0, "payload": new}))
    assert _preferences.full_table()["order"]["tp3.cnn"] == ["tensorflow", "torch"]
    (tmp_path / "tp3_throughput.json").write_text(json.dumps({"returncode": 1, "payload": new}))  # a failed run
    assert _preferences.full_table() is None


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


def test_the_quick_table_leaves_out_a_backend_that_missed_in_the_benchmarks_own_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(_preferences, "RUNS", tmp_path)
    monkeypatch.setattr(_preferences, "LABS", tmp_path / "labs")
    seconds = {"tp4.memory": {"torch": [9] * 5, "jax": [8] * 5, "tensorflow": [3] * 5}}
    payload = {"seconds": seconds, "missed_target": {"tp4.memory": ["tensorflow"]}}
    (tmp_path / "quick_backends.json").write_text(json.dumps({"returncode": 0, "payload": payload}))
    table = _preferences.quick_table()
    assert table["order"] == {"tp4.memory": ["jax", "torch"]}
    assert table["missed_target"] == {"tp4.memory": ["tensorflow"]}
