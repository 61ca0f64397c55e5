"""Every experiment's quick budget, on the data that is there offline, meets its target
(dltp.labs.targets): the figures that show the point of the exercise. A model that does not learn
(learning rate 0) fails it."""

import json

import pytest

from dltp import cli


def run_json(capsys, *args):
    code = cli.main(["run", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    return json.loads(captured.out.strip().splitlines()[-1]), captured.out


# experiment, the figures its target is about (asserted again here, so that the test reads as the lab's claim)
QUICK = [
    ("tp1", lambda r: r["dataset"] == "digits" and r["test_accuracy"] >= 0.90 and r["epochs"] >= 3),
    ("tp2", lambda r: r["diagnosis"] == "high variance" and r["regularized_diagnosis"] != "high variance"
     and r["gap_change"] < 0 and r["batchnorm_converges_faster"] in ("yes", "no", "same")),
    ("tp3.cnn", lambda r: r["dataset"] == "shapes" and r["test_accuracy"] >= 0.80),
    ("tp3.resnet", lambda r: r["dataset"] == "shapes" and r["test_accuracy"] >= 0.80),
    ("tp3.style_transfer", lambda r: r["final_total_loss"] <= 0.5 * r["initial_total_loss"]),
    ("tp3.detection", lambda r: r["mean_iou"] >= 0.5),
    ("tp4.unet", lambda r: r["val_dice"] >= 0.90),
    ("tp4.conv3d", lambda r: r["test_accuracy"] >= 0.80 and r["chance_accuracy"] == 0.5),
    ("tp5.attention", lambda r: r["test_accuracy"] >= 0.95 and r["focus_top1"] >= 0.9),
    ("tp5.seq2seq", lambda r: r["mase_seasonal"] < 1.0),
]


@pytest.mark.parametrize("experiment, shows", QUICK, ids=[e for e, _ in QUICK])
def test_quick_budget_meets_its_target(capsys, mlflow_store, experiment, shows):
    result, out = run_json(capsys, experiment, "--quick")
    assert result["target"] is not None and result["target_met"] is True, result["target"]
    assert shows(result), {k: v for k, v in result.items() if isinstance(v, (int, float, str))}
    assert f"{experiment}: " in out and "; target met (" in out  # the summary line says so


def test_tp2_optimiser_ranking_is_printed_with_accuracies(capsys, mlflow_store):
    result, out = run_json(capsys, "tp2.optimizers", "--quick")
    ranking = result["optimizer_ranking"].split(" > ")
    assert [r.split()[0] for r in ranking] == result["ranking"] and len(ranking) == 3
    accuracies = [float(r.split()[1]) for r in ranking]
    assert accuracies == sorted(accuracies, reverse=True) and accuracies[0] == result[
        f"{result['best_optimizer']}_test_accuracy"].__round__(4)
    assert "tp2.optimizers: ranking by test accuracy " + result["optimizer_ranking"] in out


def test_a_model_that_does_not_learn_misses_its_target(capsys, mlflow_store):
    result, out = run_json(capsys, "tp1", "--quick", "--learning-rate", "0")
    assert result["target_met"] is False and result["test_accuracy"] < 0.5
    assert "target NOT met (test_accuracy ≥ 0.9)" in out
