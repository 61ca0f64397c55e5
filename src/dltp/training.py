"""Keras training with tracking: per-epoch metrics and timing in MLflow, and a checkpoint after
every epoch so that an interrupted run can be resumed into the same MLflow run.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

import keras
import mlflow

from dltp import tracking
from dltp.errors import DltpError

CHECKPOINT_DIR = "checkpoint"


def steps_per_execution() -> int:
    """Training steps per call into the compiled train function. Measured on the TP1 recipe
    (bench/train_throughput.py): 32 lifts jax 1.4x and tensorflow 2.1x, since small steps are
    dominated by the per-call overhead; torch accepts only 1."""
    return 1 if keras.backend.backend() == "torch" else 32


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
