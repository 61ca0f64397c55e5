"""tp1.batching on a small real-format MNIST: four batch sizes, equal training time, and the
lab's answers (vectorisation, mini-batches reach a lower loss than full-batch GD) measured."""

import json
import os
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from conftest import write_mnist_idx
from dltp import cli

VARIANTS = ("full_batch_gd", "sgd_batch1", "mini_batch_32", "mini_batch_128")


@pytest.fixture
def small_mnist():
    return write_mnist_idx(Path(os.environ["DLTP_DATA_DIR"]) / "mnist", 1000, 300)


def test_batching_measures_throughput_and_loss_at_equal_time(capsys, mlflow_store, small_mnist):
    code = cli.main(["run", "tp1.batching", "--dataset", "mnist", "--quick", "--budget-s", "3", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["experiment"] == "tp1.batching" and result["dataset"] == "mnist" and result["budget_s"] == 3

    n_train = 900  # 1000 training images minus the 10 % validation split
    for v in VARIANTS:
        assert result[f"{v}_samples_per_s"] > 0
        assert result[f"{v}_epoch_time_s"] == pytest.approx(n_train / result[f"{v}_samples_per_s"])
        assert 0 < result[f"{v}_val_loss_at_budget"] < 10 and 0 <= result[f"{v}_val_accuracy_at_budget"] <= 1
    # Vectorisation: a batch of 128 is one matrix product, not 128 vector products.
    assert result["mini_batch_128_samples_per_s"] > 5 * result["sgd_batch1_samples_per_s"]

    run = MlflowClient().get_run(result["run_id"])
    assert run.data.tags["dltp.experiment"] == "tp1.batching" and run.data.params["budget_s_per_variant"] == "3.0"
    assert run.data.metrics["mini_batch_128.samples_per_s"] == pytest.approx(result["mini_batch_128_samples_per_s"])
    curves = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/curves.json")
    assert len(curves) == 4
    for name, curve in curves.items():
        times = [point[0] for point in curve]
        assert times[0] == 0 and times == sorted(times) and times[-1] >= 3, name  # trained the whole budget
    start_loss = curves["mini-batch 128"][0][1]
    assert all(curve[0][1] == pytest.approx(start_loss) for curve in curves.values())  # same initial weights
    # In equal time, mini-batches take many more steps than full-batch GD and reach a lower loss.
    assert result["mini_batch_128_val_loss_at_budget"] < start_loss - 0.5
    assert result["mini_batch_128_val_loss_at_budget"] < result["full_batch_gd_val_loss_at_budget"]
    assert result["mini_batch_128_val_accuracy_at_budget"] > 0.5  # ten classes: chance is 0.1
    assert "loss_vs_time.png" in {a.path for a in MlflowClient().list_artifacts(result["run_id"])}


@pytest.mark.parametrize("flags, message", [
    (["--eval-points", "0"], "--eval-points must be at least 1"),
    (["--eval-images", "0"], "--eval-images must be at least 1"),
])
def test_a_count_below_one_is_a_clear_error(capsys, mlflow_store, small_mnist, flags, message):
    code = cli.main(["run", "tp1.batching", "--dataset", "mnist", *flags])
    assert code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("budget", ["0", "-1", "4000"])
def test_a_budget_out_of_range_is_a_clear_error(capsys, mlflow_store, small_mnist, budget):
    code = cli.main(["run", "tp1.batching", "--dataset", "mnist", "--budget-s", budget])
    assert code != 0
    assert "--budget-s must be between 0 and 3600 seconds" in capsys.readouterr().err
