"""TP1 end to end on a small real-format MNIST, with a temporary MLflow store."""

import json
import os
import signal
import subprocess
import sys
import time

import mlflow
import mlflow.keras
import pytest
from mlflow.tracking import MlflowClient

from conftest import write_mnist_idx
from dltp import cli, tracking


def run_tp1(capsys, *args):
    code = cli.main(["run", "tp1", "--dataset", "mnist", "--json", *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def small_mnist():
    from pathlib import Path

    return write_mnist_idx(Path(os.environ["DLTP_DATA_DIR"]) / "mnist", 1000, 300)


def test_tp1_tracked_registered_and_reproducible(capsys, mlflow_store, small_mnist):
    result = run_tp1(capsys, "--epochs", "3", "--seed", "7")
    assert result["experiment"] == "tp1" and result["dataset"] == "mnist"
    assert result["dataset_fallback"] is False and result["backend"] == os.environ["KERAS_BACKEND"]
    assert result["test_accuracy"] > 0.7  # real digits are learnable in 3 epochs

    client = MlflowClient()
    run = client.get_run(result["run_id"])
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "tp1-mnist-dense"
    assert run.data.tags["dltp.experiment"] == "tp1"
    p = run.data.params
    assert p["epochs"] == "3" and p["batch_size"] == "128" and p["dropout"] == "0.2"
    assert p["seed"] == "7" and p["dataset"] == "mnist" and p["backend"] == os.environ["KERAS_BACKEND"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_time_s"):
        assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [0, 1, 2]
    assert run.data.metrics["test_accuracy"] == pytest.approx(result["test_accuracy"])

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"training_curves.png", "confusion_matrix.png", "reference_stats.json"} <= artifacts
    stats = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/reference_stats.json")
    assert stats["n_images"] == 900 and sum(stats["mean_pixel"]["counts"]) == 900
    assert abs(sum(stats["class_frequencies"]) - 1) < 1e-9

    champion = client.get_model_version_by_alias("mnist-dense", "champion")
    assert champion.run_id == run.info.run_id and result["champion"] is True
    assert champion.source.startswith("models:/m-")  # the run's logged MLflow model

    model = mlflow.keras.load_model("models:/mnist-dense@champion")  # an MLflow model (MLmodel, Keras flavor)
    assert model.output_shape == (None, 10)

    # Same seed, same backend: the same measured accuracy.
    again = run_tp1(capsys, "--epochs", "3", "--seed", "7")
    assert again["test_accuracy"] == result["test_accuracy"]
    assert again["champion"] is False  # equal is not better: the alias stays
    assert client.get_model_version_by_alias("mnist-dense", "champion").run_id == run.info.run_id


def test_champion_alias_moves_only_to_a_better_model(mlflow_store):
    def register(score, dataset="mnist", fallback=False):
        with mlflow.start_run() as r:
            pass
        return tracking.register_model("m", f"{r.info.artifact_uri}/model", r.info.run_id,
                                       score_key="test_accuracy", score=score, dataset=dataset,
                                       fallback=fallback)

    assert register(0.90, "digits", fallback=True) == ("1", True)  # first model: champion
    assert register(0.80) == ("2", True)  # real data supersedes a fallback champion
    assert register(0.79) == ("3", False)  # worse on the same dataset
    assert register(0.85) == ("4", True)  # better on the same dataset
    assert register(0.99, "digits", fallback=True) == ("5", False)  # not comparable, not real
    assert str(MlflowClient().get_model_version_by_alias("m", "champion").version) == "4"


def test_failing_run_is_marked_failed(mlflow_store):
    with pytest.raises(ZeroDivisionError):
        with tracking.run("x", params={"a": 1}) as active:
            1 / 0
    assert MlflowClient().get_run(active.info.run_id).info.status == "FAILED"


def test_sigterm_marks_killed_then_resume_completes(mlflow_store, small_mnist):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "dltp", "run", "tp1", "--dataset", "mnist", "--epochs", "12",
           "--batch-size", "16", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seen = []
    deadline = time.time() + 300
    for line in proc.stdout:  # Keras prints "Epoch k/40" as each epoch starts
        seen.append(line)
        if line.startswith("Epoch 4/12") or time.time() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(seen) + rest
    assert "KILLED" in rest

    client = MlflowClient()
    (run,) = client.search_runs([client.get_experiment_by_name("tp1-mnist-dense").experiment_id])
    assert run.info.status == "KILLED"
    done = len(client.get_metric_history(run.info.run_id, "loss"))
    assert 3 <= done < 12

    resumed = subprocess.run([*cmd[:4], "tp1", "--resume", run.info.run_id, "--json"],
                             capture_output=True, text=True, env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"after epoch {done}" in resumed.stdout
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert result["run_id"] == run.info.run_id
    run = client.get_run(run.info.run_id)
    assert run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == list(range(12))
    assert "test_accuracy" in run.data.metrics


def test_a_subset_below_one_image_is_a_clear_error(capsys, mlflow_store, small_mnist):
    assert cli.main(["run", "tp1", "--dataset", "mnist", "--subset", "0", "100"]) == 2
    assert "--subset takes two counts of at least 1" in capsys.readouterr().err


def test_resume_refuses_finished_or_unknown_runs(capsys, mlflow_store):
    assert cli.main(["run", "tp1", "--resume", "0123456789abcdef0123456789abcdef"]) == 2
    assert "no run" in capsys.readouterr().err
