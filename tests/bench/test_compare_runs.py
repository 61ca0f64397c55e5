"""bench/compare_runs.py: the check that a change kept the results finds a changed figure and
ignores what only times the machine."""

import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import compare_runs  # noqa: E402

RUN = {"experiment": "all", "failed": [], "results": [
    {"experiment": "tp1", "run_id": "a", "test_accuracy": 0.9387, "seconds": 9.7, "epoch_time_s": 0.1},
    {"experiment": "tp2", "run_id": "b", "runs": [{"variant": "adam", "val_accuracy": 0.94, "train_seconds": 1.2}]},
]}


def write(tmp_path, name, payload, as_record):
    path = tmp_path / name
    path.write_text(json.dumps({"command": "dltp run all", "result": payload}) if as_record
                    else "Epoch 1/3\n" + json.dumps(payload) + "\n")
    return path


def test_timings_and_run_ids_may_move(tmp_path, capsys):
    after = copy.deepcopy(RUN)
    after["results"][0].update(run_id="z", seconds=30.0, epoch_time_s=0.5)
    after["results"][1]["runs"][0]["train_seconds"] = 9.0
    code = compare_runs.main([str(write(tmp_path, "a.json", RUN, True)), str(write(tmp_path, "b.txt", after, False))])
    assert code == 0
    assert "tp1: 2 of 2 figures identical" in capsys.readouterr().out


def test_a_changed_metric_is_named_and_fails(tmp_path, capsys):
    after = copy.deepcopy(RUN)
    after["results"][1]["runs"][0]["val_accuracy"] = 0.95
    code = compare_runs.main([str(write(tmp_path, "a.json", RUN, True)), str(write(tmp_path, "b.json", after, True))])
    assert code == 1
    assert "tp2: 2 of 3 figures identical; differ: runs[0].val_accuracy" in capsys.readouterr().out
