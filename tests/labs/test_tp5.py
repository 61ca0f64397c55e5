"""TP5 labs end to end on tiny budgets, the series data layer, and the bad inputs of the issue."""

import json

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from dltp import cli, registry
from dltp.data.series import load_series, make_windows, naive_forecasts, synthetic
from dltp.data.text_task import GOOD, MARKER, key_token_task
from dltp.errors import DltpError
from dltp.labs.tp5_attention import attention_focus
from dltp.labs.tp5_seq2seq import attention_statistics


def run_json(capsys, *args):
    code = cli.main(["run", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


def fail(capsys, *args) -> str:
    code = cli.main(["run", *args])
    assert code == 2
    return capsys.readouterr().err


# --- data -----------------------------------------------------------------------------------

def test_key_token_task_puts_the_deciding_token_after_the_marker():
    task = key_token_task(500, seq_len=12, vocab_size=20, seed=3)
    rows = np.arange(500)
    assert np.all(task.x[rows, task.key_position - 1] == MARKER)
    assert np.all((task.x[rows, task.key_position] == GOOD) == (task.y == 1))
    assert np.all((task.x == MARKER).sum(axis=1) == 1)
    assert 0.4 < task.y.mean() < 0.6


def test_synthetic_series_is_the_original_formula_and_seeded():
    s = synthetic(2000, seed=1)
    t = np.arange(2000)
    clean = 0.5 * np.sin(t / 20) + 0.3 * np.sin(t / 10) + 0.2 * t / 2000
    assert len(s.values) == 2000 and abs(np.std(s.values - clean) - 0.1) < 0.01
    assert np.array_equal(s.values, synthetic(2000, seed=1).values)


def test_co2_has_no_gaps_left():
    s = load_series("co2")
    assert len(s.values) == 2284 and np.isfinite(s.values).all() and s.season == 52
    assert 310 < s.values.min() < s.values.max() < 380


def test_windows_are_chronological_and_scaled_on_the_training_part():
    values = np.arange(100, dtype=float)
    w = make_windows(values, 5, 3)
    assert w.split == 80
    assert w.mean == pytest.approx(values[:80].mean())  # the test part does not leak into the scaler
    last_train_target = w.unscale(w.y_train[-1, -1, 0])
    assert last_train_target == pytest.approx(79)  # training windows end inside the training part
    assert w.test_origins[0] == 80 and w.test_origins[-1] == 97
    assert w.unscale(w.x_test[0, :, 0]) == pytest.approx(values[75:80])
    naive, snaive = naive_forecasts(values, w.test_origins, 3, season=4)
    assert np.all(naive[0] == 79) and list(snaive[0]) == [76, 77, 78]


def test_csv_series(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("day,sales\n" + "".join(f"{i},{np.sin(i / 3):.4f}\n" for i in range(200)))
    s = load_series(str(path))
    assert s.name == "sales" and len(s.values) == 200


# --- bad input ------------------------------------------------------------------------------

def test_bad_inputs_are_clear_errors(capsys, tmp_path):
    err = fail(capsys, "tp5.seq2seq", "--series", "nope")
    assert "unknown series 'nope'" in err and "co2" in err
    err = fail(capsys, "tp5.seq2seq", "--input-len", "1900")
    assert "do not fit series 'synthetic'" in err
    err = fail(capsys, "tp5.seq2seq", "--series", "sunspots", "--output-len", "100")
    assert "do not fit" in err
    bad = tmp_path / "gaps.csv"
    bad.write_text("value\n1.0\n2.0\n\n3.0\nNaN\n" + "4.0\n" * 100)
    err = fail(capsys, "tp5.seq2seq", "--series", str(bad))
    assert "2 missing or non-numeric" in err and "line 4, 6" in err
    err = fail(capsys, "tp5.seq2seq", "--series", str(tmp_path / "absent.csv"))
    assert "does not exist" in err
    assert "--series does not apply" in fail(capsys, "tp5.attention", "--series", "co2")
    assert "--seq-len" in fail(capsys, "tp5.attention", "--seq-len", "1")
    assert "--attention-entropy" in fail(capsys, "tp5.attention", "--attention-entropy", "-1")
    assert "--sentences must be at least 10" in fail(capsys, "tp5.attention", "--sentences", "9")
    assert "--test-sentences must be at least 1" in fail(capsys, "tp5.attention", "--test-sentences", "0")


def test_metrics_from_weights():
    w = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    f = attention_focus(w, np.array([1, 1]))
    assert f["focus_top1"] == 0.5 and f["focus_mean_weight"] == pytest.approx(0.5)
    stats = attention_statistics(np.full((2, 3, 4), 0.25))
    assert stats["attention_entropy_ratio"] == pytest.approx(1.0)
    assert stats["attention_mean_lag"] == pytest.approx(2.5)  # lags 4, 3, 2, 1
    one_hot = np.zeros((1, 2, 4))
    one_hot[..., -1] = 1  # all weight on the last observed value
    assert attention_statistics(one_hot)["attention_mean_lag"] == pytest.approx(1.0)


# --- labs end to end ------------------------------------------------------------------------

def test_attention_lab_tracks_real_weights(capsys, mlflow_store):
    r = run_json(capsys, "tp5.attention", "--quick", "--seq-len", "8")
    assert r["experiment"] == "tp5.attention" and r["uniform_weight"] == pytest.approx(1 / 8)
    # trained attention sits on the deciding token: far above the uniform 1/8 (an untrained layer is near it)
    assert r["focus_mean_weight"] > r["uniform_weight"] + 0.5 and r["focus_top1"] >= 0.9
    run = MlflowClient().get_run(r["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["dltp.experiment"] == "tp5.attention"
    assert run.data.metrics["focus_top1"] == pytest.approx(r["focus_top1"])
    assert run.data.params["n_train"] == str(registry.default("sentences", "tp5.attention", quick=True))
    assert run.data.metrics["goal_met"] == float(r["target_met"])  # the goal is the experiment's target
    artifacts = {a.path for a in MlflowClient().list_artifacts(r["run_id"])}
    assert {"attention_heatmap.png", "attention_examples.json", "model", "training_curves.png"} <= artifacts


def test_seq2seq_lab_on_a_csv_series(capsys, mlflow_store, tmp_path):
    path = tmp_path / "wave.csv"
    t = np.arange(300)
    path.write_text("value\n" + "".join(f"{v:.5f}\n" for v in np.sin(2 * np.pi * t / 12) + t / 300))
    r = run_json(capsys, "tp5.seq2seq", "--series", str(path), "--season", "12", "--input-len", "24",
                 "--output-len", "4", "--epochs", "1", "--batch-size", "32")
    assert r["dataset"] == "wave" and r["test_windows"] == 300 - 240 - 4 + 1
    for key in ("mae", "rmse", "teacher_forced_mae", "naive_mae", "seasonal_naive_mae", "mase_naive",
                "mase_seasonal", "attention_entropy", "attention_mean_lag"):
        assert np.isfinite(r[key]), key
    assert r["mase_seasonal"] == pytest.approx(r["mae"] / r["seasonal_naive_mae"])
    assert 1 <= r["attention_mean_lag"] <= 24 and len(r["mae_by_step"]) == 4
    run = MlflowClient().get_run(r["run_id"])
    assert run.info.status == "FINISHED" and run.data.params["series"] == "wave"
    artifacts = {a.path for a in MlflowClient().list_artifacts(r["run_id"])}
    assert {"attention_heatmap.png", "forecast.png", "forecast_metrics.json", "model"} <= artifacts
