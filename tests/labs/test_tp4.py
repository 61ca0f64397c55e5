"""TP4 end to end with small budgets and a temporary MLflow store."""

import json

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from dltp import cli


def run(capsys, *args):
    code = cli.main(["run", *args, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out.strip().splitlines()[-1])


def artifacts(run_id):
    return {a.path for a in MlflowClient().list_artifacts(run_id)}


def test_unet_tracked_with_predictions_and_iou_vs_dice(capsys, mlflow_store):
    r = run(capsys, "tp4.unet", "--quick", "--epochs", "1", "--filters", "2", "4", "--bottleneck", "4")
    assert r["experiment"] == "tp4.unet" and r["dataset"] == "circles" and r["epochs"] == 1
    for key in ("val_dice", "val_iou", "val_dice_hard", "val_iou_hard"):
        assert 0.0 <= r[key] <= 1.0
    client = MlflowClient()
    tracked = client.get_run(r["run_id"])
    assert tracked.info.status == "FINISHED" and tracked.data.tags["dltp.experiment"] == "tp4.unet"
    assert tracked.data.params["filters"] == "[2, 4]" and tracked.data.params["loss"] == "dice"
    assert {"val_dice_coefficient", "val_iou", "val_dice_hard"} <= set(tracked.data.metrics)
    assert {"predictions.png", "training_curves.png", "iou_vs_dice.json", "iou_vs_dice.md",
            "iou_vs_dice.png", "model"} <= artifacts(r["run_id"])
    table = mlflow.artifacts.load_dict(f"{tracked.info.artifact_uri}/iou_vs_dice.json")
    assert table == r["iou_vs_dice"]
    # the same 2-pixel error costs a small object far more, and IoU always more than Dice
    erosion = [row for row in table if row["perturbation"] == "erosion"]
    assert [row["dice"] for row in erosion] == sorted(row["dice"] for row in erosion)
    assert all(row["iou"] < row["dice"] for row in table)


def test_conv3d_in_the_original_experiment_with_architecture(capsys, mlflow_store):
    r = run(capsys, "tp4.conv3d", "--quick", "--epochs", "1")
    assert r["experiment"] == "tp4.conv3d" and r["chance_accuracy"] == pytest.approx(0.5)
    # the headline is the held-out test set; validation chose the learning rate and epochs
    assert {"test_accuracy", "test_auc", "val_accuracy"} <= set(r) and r["target"]["checks"].startswith("test_accuracy")
    client = MlflowClient()
    tracked = client.get_run(r["run_id"])
    assert client.get_experiment(tracked.info.experiment_id).name == "3D_Volumetric_Analysis"
    p = tracked.data.params
    assert p["epochs"] == "1" and p["batch_size"] == "16" and p["optimizer"] == "adam" and p["filters"] == "[16, 32]"
    assert (p["n_train"], p["n_val"], p["n_test"], p["size"]) == ("600", "100", "200", "16")
    assert p["learning_rate"] == "0.003" and p["warmup_steps"] == "38"  # one epoch of 16-volume batches
    assert tracked.data.metrics["val_accuracy"] == pytest.approx(r["val_accuracy"])
    assert tracked.data.metrics["test_accuracy"] == pytest.approx(r["test_accuracy"])
    assert {"architecture.json", "training_curves.png", "confusion_matrix.png", "model"} <= artifacts(r["run_id"])
    arch = mlflow.artifacts.load_dict(f"{tracked.info.artifact_uri}/architecture.json")
    assert [l["class_name"] for l in arch["config"]["layers"]][1:] == [
        "Conv3D", "MaxPooling3D", "Conv3D", "MaxPooling3D", "Flatten", "Dense"]


def test_memory_study_measures_in_a_child_process(capsys, mlflow_store):
    r = run(capsys, "tp4.memory", "--sizes", "8", "32", "--batches", "2")
    row, bigger = r["rows"]
    assert row["side"] == 8 and row["batch"] == 2 and row["error"] is None and bigger["error"] is None
    # 8³: input 512 + conv1 16·512 + pool1 16·64 + conv2 32·64 + pool2 32·8 + flatten 256 + dense 1
    assert row["activation_mb"] == pytest.approx(4 * 2 * (512 + 8192 + 1024 + 2048 + 256 + 256 + 1) / 1024 ** 2)
    assert row["parameters"] == 448 + 13856 + 257
    # measured, not assumed: at least the activations, and growing at least as they do (8³ → 32³: 64×)
    assert row["measured_peak_mb"] >= row["activation_mb"] and row["method"] == "VmHWM after clear_refs"
    assert bigger["activation_mb"] == pytest.approx(64 * row["activation_mb"], rel=0.01)
    assert r["measured_growth_mb"] == bigger["measured_peak_mb"] - row["measured_peak_mb"]
    assert r["activation_growth_mb"] == bigger["activation_mb"] - row["activation_mb"]
    assert r["measured_growth_mb"] >= r["activation_growth_mb"]
    assert r["target_met"] is True
    assert {"memory_study.json", "memory_study.md", "memory_study.png"} <= artifacts(r["run_id"])
    assert MlflowClient().get_experiment_by_name("3D_Volumetric_Analysis") is not None


@pytest.mark.parametrize("args, message", [
    (["tp4.unet", "--variant", "squares"], "unknown segmentation variant"),
    (["tp4.unet", "--loss", "mse"], "unknown --loss"),
    (["tp4.unet", "--dataset", "mnist"], "generates its data"),
    (["tp4.unet", "--circle-size", "100"], "--circle-size must be a multiple of 8"),
    (["tp4.unet", "--circle-images", "10", "0"], "--circle-images must be at least 1"),
    (["tp4.conv3d", "--volume-size", "18"], "--volume-size must be a multiple of 4"),
    (["tp4.conv3d", "--volumes", "10", "10", "0"], "--volumes must be at least 1"),
    (["tp4.memory", "--sizes", "30"], "multiples of 4"),
    (["tp4.conv3d", "--variant", "small"], "does not apply"),
])
def test_bad_inputs_are_clear_errors(capsys, mlflow_store, args, message):
    assert cli.main(["run", *args]) == 2
    assert message in capsys.readouterr().err
