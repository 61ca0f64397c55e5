"""Every experiment's quick budget, on the data that is there offline, meets its target
(dltp.labs.targets): the figures that show the point of the exercise. `make test` runs this file
under torch, jax and tensorflow: the same verdicts on every backend. A model that does not learn
(learning rate 0) fails it."""

import json
import os

import pytest

from dltp import cli
from dltp.labs import targets


def run_json(capsys, *args):
    code = cli.main(["run", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    return json.loads(captured.out.strip().splitlines()[-1]), captured.out


def _tp2(r):
    diagnose, regularize, optimizers, batchnorm = (r[k] for k in ("diagnose", "regularize", "optimizers", "batchnorm"))
    return (r["dataset"] == "mnist_5k" and diagnose["verdict"] == "high variance"
            and regularize["gap"] < regularize["baseline_gap"]
            and optimizers["adam_test_accuracy"] > optimizers["sgd_momentum_test_accuracy"]
            and optimizers["ranking"] == sorted(optimizers["ranking"], key=lambda n: -optimizers[f"{n}_test_accuracy"])
            and batchnorm["converges_faster"] == targets.converges_faster(batchnorm)
            and batchnorm["val_accuracy_curve"] != batchnorm["without_bn_val_accuracy_curve"])


def _memory(r):
    small, large = min(r["rows"], key=lambda row: row["side"]), max(r["rows"], key=lambda row: row["side"])
    measured_growth = large["measured_peak_mb"] - small["measured_peak_mb"]
    activation_growth = large["activation_mb"] - small["activation_mb"]
    return small["measured_peak_mb"] >= small["activation_mb"] and measured_growth >= activation_growth


# experiment, the figures its target is about (asserted again here, so that the test reads as the lab's claim)
QUICK = [
    ("tp1", lambda r: r["dataset"] == "mnist_5k" and r["test_accuracy"] >= 0.90 and r["epochs"] == 5),
    ("tp2", _tp2),
    ("tp3.cnn", lambda r: r["dataset"] == "shapes" and r["test_accuracy"] >= 0.80),
    ("tp3.resnet", lambda r: r["dataset"] == "shapes" and r["test_accuracy"] >= 0.80),
    ("tp3.style_transfer", lambda r: r["final_total_loss"] <= 0.5 * r["initial_total_loss"]),
    ("tp3.detection", lambda r: r["mean_iou"] >= 0.5),
    ("tp4.unet", lambda r: r["val_dice"] >= 0.90),
    ("tp4.conv3d", lambda r: r["test_accuracy"] >= 0.80 and r["chance_accuracy"] == 0.5),
    ("tp4.memory", _memory),
    ("tp5.attention", lambda r: r["test_accuracy"] >= 0.95 and r["focus_top1"] >= 0.9),
    ("tp5.seq2seq", lambda r: r["mase_seasonal"] < 1.0),
]


@pytest.mark.parametrize("experiment, shows", QUICK, ids=[e for e, _ in QUICK])
def test_quick_budget_meets_its_target(capsys, mlflow_store, experiment, shows):
    result, out = run_json(capsys, experiment, "--quick")
    assert result["backend"] == os.environ["KERAS_BACKEND"]
    assert result["target"] is not None and result["target_met"] is True, result["target"]
    assert shows(result), {k: v for k, v in result.items() if isinstance(v, (int, float, str))}
    assert f"{experiment}: " in out and "; target met (" in out  # the summary line says so


def test_tp2_optimiser_ranking_is_printed_with_accuracies(capsys, mlflow_store):
    result, out = run_json(capsys, "tp2.optimizers", "--quick")
    printed = [entry.split() for entry in result["optimizer_ranking"].split(" > ")]
    assert [name for name, _ in printed] == result["ranking"] and sorted(result["ranking"]) == [
        "adam", "rmsprop", "sgd_momentum"]
    for name, accuracy in printed:  # each number is that optimiser's own measured accuracy
        assert accuracy == f"{result[f'{name}_test_accuracy']:.4f}", name
    assert result["best_optimizer"] == result["ranking"][0]
    assert "tp2.optimizers: ranking by test accuracy " + result["optimizer_ranking"] in out


def test_a_model_that_does_not_learn_misses_its_target(capsys, mlflow_store):
    result, out = run_json(capsys, "tp1", "--quick", "--learning-rate", "0")
    assert result["target_met"] is False and result["test_accuracy"] < 0.5
    assert "target NOT met (test_accuracy ≥ 0.9)" in out
