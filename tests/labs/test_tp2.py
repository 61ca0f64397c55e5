"""TP2: the diagnosis rule on known curves, then the whole lab on a small real-format MNIST."""

import csv
import dataclasses
import io
import json
import os
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from conftest import write_mnist_idx
from dltp import cli
from dltp.config import RunConfig
from dltp.labs import targets, tp2


def curves(train, val, val_loss):
    return {"accuracy": train, "val_accuracy": val, "val_loss": val_loss, "loss": val_loss}


def test_diagnosis_rule_and_curve_figures():
    t = tp2.Thresholds()
    d = tp2.diagnose(curves([0.97, 0.996], [0.975, 0.982], [0.08, 0.06, 0.07][:2]), t)
    assert d["verdict"] == "balanced" and abs(d["gap"] - 0.014) < 1e-9
    d = tp2.diagnose(curves([0.9, 0.95, 0.99], [0.96, 0.97, 0.965], [0.10, 0.05, 0.09]), t)
    assert d["verdict"] == "high variance" and d["best_epoch"] == 2 and d["best_val_loss"] == 0.05
    assert d["val_loss_rose_after_best"] and d["epochs_to_threshold"] is None
    d = tp2.diagnose(curves([0.5, 0.85], [0.6, 0.976], [1.0, 0.5]), t)
    assert d["verdict"] == "high bias" and d["epochs_to_threshold"] == 2 and not d["val_loss_rose_after_best"]
    # Thresholds are options: the same curves, another verdict.
    loose = tp2.Thresholds(bias=0.5, variance=0.03, val_accuracy=0.96)
    d = tp2.diagnose(curves([0.9, 0.95, 0.99], [0.96, 0.97, 0.965], [0.10, 0.05, 0.09]), loose)
    assert d["verdict"] == "balanced" and d["epochs_to_threshold"] == 1
    md = tp2.diagnosis_markdown("x", d, loose, baseline={"gap": 0.05})
    assert "balanced" in md and "change -0.0250" in md


def test_batchnorm_question_is_answered_from_epochs_to_threshold():
    def row(name, val):
        h = curves([0.99] * len(val), val, [0.1] * len(val))
        return {"variant": name, "run_id": name, **tp2.diagnose(h), "test_accuracy": 0.98,
                "epoch_time_s": 1.0, "history": h}

    t = tp2.Thresholds(absolute=True)  # the original question: epochs to val accuracy 0.975
    a = tp2.answer("tp2.batchnorm", {"batchnorm": row("batchnorm", [0.97, 0.976, 0.98]),
                                     "adam": row("adam", [0.96, 0.97, 0.975])}, t)
    assert a["converges_faster"] == "yes" and a["epochs_to_threshold"] == 2 and a["without_bn_epochs_to_threshold"] == 3
    assert a["epochs_to_level"] == 2 and a["without_bn_epochs_to_level"] == 3 and a["val_accuracy_level"] == 0.975
    a = tp2.answer("tp2.batchnorm", {"batchnorm": row("batchnorm", [0.96, 0.97, 0.975]),
                                     "adam": row("adam", [0.976, 0.97, 0.98])}, t)
    assert a["converges_faster"] == "no"
    a = tp2.answer("tp2.batchnorm", {"batchnorm": row("batchnorm", [0.9]), "adam": row("adam", [0.9])}, t)
    assert a["converges_faster"].startswith("undetermined")


def test_batchnorm_relative_criterion_answers_where_the_fixed_threshold_cannot():
    def row(name, val):
        h = curves([0.95] * len(val), val, [0.3] * len(val))
        return {"variant": name, "run_id": name, **tp2.diagnose(h), "test_accuracy": 0.88,
                "epoch_time_s": 1.0, "history": h}

    # Fashion-MNIST-like curves never reach 0.975: the original question has no answer ...
    bn, plain = row("batchnorm", [0.84, 0.87, 0.88, 0.89]), row("adam", [0.80, 0.84, 0.86, 0.885])
    assert tp2.answer("tp2.batchnorm", {"batchnorm": bn, "adam": plain},
                      tp2.Thresholds(absolute=True))["converges_faster"].startswith("undetermined")
    # ... 98 % of the better best (0.98 × 0.89 = 0.8722): BatchNorm at epoch 3, without at epoch 4
    a = tp2.answer("tp2.batchnorm", {"batchnorm": bn, "adam": plain}, tp2.Thresholds())
    assert a["val_accuracy_level"] == pytest.approx(0.8722)
    assert (a["epochs_to_level"], a["without_bn_epochs_to_level"], a["converges_faster"]) == (3, 4, "yes")
    a = tp2.answer("tp2.batchnorm", {"batchnorm": plain, "adam": bn}, tp2.Thresholds())
    assert a["converges_faster"] == "no"
    same = row("x", [0.5, 0.9])
    answer = tp2.answer("tp2.batchnorm", {"batchnorm": same, "adam": same}, tp2.Thresholds())
    assert answer["converges_faster"] == "same"
    # the option gives the fixed threshold back
    cfg = RunConfig(options={"val_threshold": 0.975})
    assert tp2.Thresholds.from_config(cfg).absolute and not tp2.Thresholds.from_config(RunConfig()).absolute


@pytest.fixture
def small_mnist():
    return write_mnist_idx(Path(os.environ["DLTP_DATA_DIR"]) / "mnist", 1400, 300)  # quick: 600 + 600


def test_tp2_lab_parent_run_children_comparison_and_json(capsys, mlflow_store, small_mnist):
    code = cli.main(["run", "tp2", "--dataset", "mnist", "--quick", "--epochs", "2", "--val-threshold", "0.5",
                     "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["experiment"] == "tp2" and result["dataset"] == "mnist"
    for exercise in ("diagnose", "regularize", "optimizers", "batchnorm"):
        assert exercise in result, exercise
    base = next(r for r in result["runs"] if r["variant"] == "baseline")
    expected = ("high bias" if base["train_accuracy"] < 0.90 else
                "high variance" if base["train_accuracy"] - base["val_accuracy"] > 0.02 else "balanced")
    assert result["diagnose"]["verdict"] == result["diagnosis"] == expected
    assert result["regularize"]["gap_change"] == pytest.approx(
        result["regularize"]["gap"] - result["regularize"]["baseline_gap"])
    runs = {r["variant"]: r for r in result["runs"]}
    optimizers = result["optimizers"]
    assert set(optimizers["ranking"]) == {"sgd_momentum", "rmsprop", "adam"}
    for name in optimizers["ranking"]:  # each figure is that optimiser's own run's
        assert optimizers[f"{name}_test_accuracy"] == runs[name]["test_accuracy"]
    ranked = [optimizers[f"{n}_test_accuracy"] for n in optimizers["ranking"]]
    assert ranked == sorted(ranked, reverse=True) and ranked[0] > 0.5  # 10 classes: chance is 0.1
    # --val-threshold 0.5: the original absolute criterion; the answer is read from the two curves
    batchnorm = result["batchnorm"]
    assert batchnorm["val_accuracy_level"] == 0.5 and batchnorm["relative_level"] is None
    logged = [m.value for m in MlflowClient().get_metric_history(runs["batchnorm"]["run_id"], "val_accuracy")]
    assert batchnorm["val_accuracy_curve"] == pytest.approx(logged)  # the curve its child run logged
    assert batchnorm["epochs_to_level"] == next((e for e, v in enumerate(logged, 1) if v >= 0.5), None)
    assert batchnorm["converges_faster"] == targets.converges_faster(batchnorm)
    assert [r["variant"] for r in result["runs"]] == list(tp2.VARIANTS)
    assert result["target"]["checks"] == targets.judge("tp2", result)["target"]["checks"]

    client = MlflowClient()
    parent = client.get_run(result["run_id"])
    assert parent.info.status == "FINISHED" and parent.data.tags["dltp.experiment"] == "tp2"
    assert parent.data.tags["tp2.diagnose.diagnosis"] == result["diagnose"]["verdict"]
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(c.data.tags["tp2.variant"] for c in children) == sorted(tp2.VARIANTS)
    for c in children:
        assert c.info.status == "FINISHED" and c.data.tags["tp2.diagnosis"]
        assert [m.step for m in client.get_metric_history(c.info.run_id, "val_accuracy")] == [0, 1]
        assert c.data.params["n_train"] == "600" and c.data.params["n_val"] == "600"
        assert "test_accuracy" in c.data.metrics
        assert {"diagnosis.md", "training_curves.png"} <= {a.path for a in client.list_artifacts(c.info.run_id)}
    sgd = next(c for c in children if c.data.tags["tp2.variant"] == "sgd_momentum")
    assert sgd.data.params["momentum"] == "0.9" and float(sgd.data.params["learning_rate"]) == pytest.approx(0.01)
    reg = next(c for c in children if c.data.tags["tp2.variant"] == "regularized")
    assert reg.data.params["l2"] == "0.001" and reg.data.params["dropout"] == "0.5"

    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"comparison.md", "comparison.csv", "overlay_validation.png", "train_vs_val.png",
            "diagnosis_baseline.md", "diagnosis_regularized.md", "results.json"} <= artifacts
    table = mlflow.artifacts.load_text(f"{parent.info.artifact_uri}/comparison.csv")
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [r["variant"] for r in rows] == list(tp2.VARIANTS)
    assert "epochs_to_val_0.5" in rows[0] and float(rows[0]["test_accuracy"]) == pytest.approx(
        result["diagnose"]["test_accuracy"])


def test_tp2_single_exercise_and_bad_thresholds(capsys, mlflow_store, small_mnist):
    assert cli.main(["run", "tp2.diagnose", "--dataset", "mnist", "--quick", "--epochs", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["experiment"] == "tp2.diagnose" and result["verdict"] and len(result["runs"]) == 1
    assert cli.main(["run", "tp2", "--quick", "--bias-threshold", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_a_split_below_one_image_is_a_clear_error(capsys, mlflow_store, small_mnist):
    assert cli.main(["run", "tp2.diagnose", "--dataset", "mnist", "--split", "600", "0", "100"]) == 2
    assert "--split takes three counts of at least 1" in capsys.readouterr().err


def test_a_shorter_identical_run_is_logged_from_the_longer_ones_first_epochs(mlflow_store, small_mnist, monkeypatch):
    # The lab's 10-epoch Adam run is the 15-epoch baseline's first 10 epochs; here 2 of 3.
    monkeypatch.setitem(tp2.VARIANTS, "baseline", dataclasses.replace(tp2.VARIANTS["baseline"], epochs=3))
    monkeypatch.setitem(tp2.VARIANTS, "adam", dataclasses.replace(tp2.VARIANTS["adam"], epochs=2))
    assert tp2.same_training(tp2.VARIANTS["baseline"], tp2.VARIANTS["adam"])
    assert not tp2.same_training(tp2.VARIANTS["adam"], tp2.VARIANTS["batchnorm"])
    cfg = RunConfig(dataset="mnist")
    shared = tp2._run_group("tp2", ["baseline", "adam"], cfg, []).rows
    alone = tp2._run_group("tp2.optimizers", ["adam"], cfg, []).rows  # Adam trained for real

    derived, trained = shared["adam"], alone["adam"]
    assert len(shared["baseline"]["history"]["val_loss"]) == 3 and len(derived["history"]["val_loss"]) == 2
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert derived["history"][key] == pytest.approx(trained["history"][key], rel=1e-4, abs=1e-6), key
    assert derived["test_accuracy"] == pytest.approx(trained["test_accuracy"], abs=1e-6)
    assert derived["test_loss"] == pytest.approx(trained["test_loss"], rel=1e-4)

    client = MlflowClient()
    run = client.get_run(derived["run_id"])
    assert run.data.tags["tp2.first_epochs_of"] == shared["baseline"]["run_id"]
    assert run.data.params["epochs"] == "2" and run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_accuracy")] == [0, 1]
    assert "tp2.first_epochs_of" not in client.get_run(trained["run_id"]).data.tags
