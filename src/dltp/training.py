"""Keras training with tracking: per-epoch metrics and timing in MLflow, a checkpoint after
every epoch so that an interrupted run can be resumed into the same MLflow run, and a group of
recipes trained once each, a shorter one taken from the first epochs of a longer identical one.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from typing import Callable, Iterable, Sequence, TypeVar

import keras
import mlflow
import numpy as np

from dltp import tracking
from dltp.errors import DltpError

CHECKPOINT_DIR = "checkpoint"


def steps_per_execution() -> int:
    """Training steps per call into the compiled train function, as measured on the TP1 recipe at
    one thread, in the steady state after a compiling epoch (bench/train_throughput.py, which
    times both for each): 32 on jax, which it lifts; 1 on tensorflow, which it did not lift; 1 on
    torch, which accepts nothing else."""
    return 32 if keras.backend.backend() == "jax" else 1


def verbosity() -> int:
    """Keras progress bars on a terminal, one line per epoch in logs and CI."""
    return 1 if sys.stdout.isatty() else 2


class EpochLogger(keras.callbacks.Callback):
    """Logs every epoch's metrics (and its wall time) to the active MLflow run as they happen,
    so an interrupted run keeps the epochs it completed."""

    def __init__(self, prefix: str = ""):
        super().__init__()
        self.prefix = prefix
        self.history: dict[str, list[float]] = {}

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        values = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
        values["epoch_time_s"] = time.perf_counter() - self._start
        for k, v in values.items():
            self.history.setdefault(k, []).append(v)
        tracking.log_metrics({self.prefix + k: v for k, v in values.items()}, step=epoch)


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves model + optimizer state and the epoch count as run artifacts after every epoch."""

    def on_epoch_end(self, epoch, logs=None):
        with tempfile.TemporaryDirectory() as tmp:
            self.model.save(os.path.join(tmp, "model.keras"))
            with open(os.path.join(tmp, "state.json"), "w") as f:
                json.dump({"epochs_done": epoch + 1}, f)
            mlflow.log_artifacts(tmp, CHECKPOINT_DIR)


def load_checkpoint(run_id: str):
    """(model, epochs_done) saved by EpochCheckpoint in ``run_id``."""
    from mlflow.exceptions import MlflowException

    try:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=CHECKPOINT_DIR,
                                                    tracking_uri=tracking.tracking_uri())
    except (MlflowException, OSError) as exc:
        raise DltpError(f"run {run_id} has no checkpoint to resume from ({exc})") from exc
    with open(os.path.join(local, "state.json")) as f:
        epochs_done = json.load(f)["epochs_done"]
    model = keras.saving.load_model(os.path.join(local, "model.keras"), safe_mode=True)
    return model, epochs_done


def fit(model, x, y, *, validation_data, epochs: int, batch_size: int, initial_epoch: int = 0,
        checkpoint: bool = True, callbacks=(), prefix: str = "") -> EpochLogger:
    """model.fit with per-epoch tracking (and checkpoints); returns the logger with the history."""
    logger = EpochLogger(prefix)
    cbs = [logger, *callbacks]
    if checkpoint:
        cbs.append(EpochCheckpoint())
    model.fit(x, y, validation_data=validation_data, epochs=epochs, batch_size=batch_size,
              initial_epoch=initial_epoch, callbacks=cbs, verbose=verbosity(), shuffle=True)
    return logger


# --------------------------------------------------------------------------------------------
# Training a group of recipes once: a recipe that is the first epochs of a longer one is not
# trained again
# --------------------------------------------------------------------------------------------
#
# With the same seed, model, optimizer and data order, a run of N epochs is exactly the first N
# epochs of a longer run. A lab that compares recipes (TP2 trains Adam for 10 epochs and the same
# network for 15 as its baseline) logs the shorter one from the longer one's first epochs: its
# curves up to N and the weights the longer run had after epoch N.

Recipe = TypeVar("Recipe")


def same_training(a, b, *, labels: Iterable[str] = ("name",)) -> bool:
    """Whether the recipes ``a`` and ``b`` (dataclasses) train the same model the same way: they
    differ at most in ``epochs`` and in the fields named in ``labels``, which do not change the
    training. With the same seed the shorter one is then exactly the first epochs of the longer."""
    ignored = {"epochs", *labels}
    return ({k: v for k, v in asdict(a).items() if k not in ignored}
            == {k: v for k, v in asdict(b).items() if k not in ignored})


class WeightsAfter(keras.callbacks.Callback):
    """Keeps a copy of the model's weights (BatchNorm statistics included) after the given epochs."""

    def __init__(self, epochs: Iterable[int]):
        super().__init__()
        self.epochs = set(epochs)
        self.weights: dict[int, list] = {}

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 in self.epochs:
            self.weights[epoch + 1] = [np.array(w, copy=True) for w in self.model.get_weights()]


def replay_first_epochs(model, history: dict[str, list[float]], weights: list, epochs: int) -> dict[str, list[float]]:
    """Give ``model`` the ``weights`` a longer run had after ``epochs`` epochs and log that run's
    first ``epochs`` epochs of ``history`` to the active MLflow run, step by step as ``fit`` logs
    them; return that part of the history."""
    model.set_weights(weights)
    first = {k: values[:epochs] for k, values in history.items()}
    for epoch in range(epochs):
        tracking.log_metrics({k: values[epoch] for k, values in first.items()}, step=epoch)
    return first


def train_sharing_first_epochs(recipes: Sequence[Recipe], train: Callable[..., dict], *,
                               epochs: Callable[[Recipe], int], same: Callable[[Recipe, Recipe], bool]) -> list[dict]:
    """Every recipe's result, in order, training each distinct training once.

    A recipe that trains like others in the group (``same``) is taken from the longest of them
    (by ``epochs``; the first listed among equals), which trains first:

    - ``train(recipe, callbacks=[...])`` trains a recipe, passing the callbacks to ``fit``, and
      returns its result;
    - ``train(recipe, first_epochs_of=(longer_result, weights))`` makes a recipe's result from the
      longer run's result and the weights that run had after ``epochs(recipe)`` epochs, without
      training (``replay_first_epochs``).
    """
    longer_of: dict[int, int] = {}  # recipe index -> the index of the longer recipe it is taken from
    for index, recipe in enumerate(recipes):
        alike = [other for other, candidate in enumerate(recipes) if same(candidate, recipe)]
        longest = max(alike, key=lambda other: epochs(recipes[other]))  # max keeps the first among equals
        if longest != index:
            longer_of[index] = longest
    snapshots: dict[int, WeightsAfter] = {}
    results: dict[int, dict] = {}
    for index in sorted(range(len(recipes)), key=lambda index: index in longer_of):  # the longer runs first
        recipe = recipes[index]
        if index in longer_of:
            longer = longer_of[index]
            weights = snapshots[longer].weights[epochs(recipe)]
            results[index] = train(recipe, first_epochs_of=(results[longer], weights))
        else:
            shorter = [recipes[other] for other, source in longer_of.items() if source == index]
            snapshots[index] = WeightsAfter(epochs(other) for other in shorter)
            results[index] = train(recipe, callbacks=[snapshots[index]])
    return [results[index] for index in range(len(recipes))]
