"""Pieces every classification lab shares: input scaling, evaluation, the result record."""

from __future__ import annotations

import numpy as np

from dltp import backends, plots, tracking
from dltp.labs import targets


def flat_pixels(x: np.ndarray) -> np.ndarray:
    """uint8 images → float32 vectors in [0, 1] (TP1's preprocessing)."""
    return x.reshape(len(x), -1).astype("float32") / 255.0


def image_pixels(x: np.ndarray) -> np.ndarray:
    """uint8 images → float32 (N, H, W, C) in [0, 1] for convolutional models."""
    x = x.astype("float32") / 255.0
    return x[..., None] if x.ndim == 3 else x


def evaluate_classifier(model, x, y, class_names, *, prefix: str = "test_", title: str = "",
                        artifact: str = "confusion_matrix.png", batch_size: int = 1024) -> dict:
    """Test loss/accuracy logged to the active run, with the confusion matrix as a PNG."""
    loss, accuracy = model.evaluate(x, y, batch_size=batch_size, verbose=0)[:2]
    probabilities = model.predict(x, batch_size=batch_size, verbose=0)
    predicted = probabilities.argmax(axis=1)
    cm = plots.confusion_matrix(y, predicted, len(class_names))
    tracking.log_metrics({f"{prefix}loss": loss, f"{prefix}accuracy": accuracy})
    tracking.log_figure(plots.confusion_matrix_figure(cm, class_names, title), artifact)
    return {f"{prefix}loss": float(loss), f"{prefix}accuracy": float(accuracy),
            "predicted": predicted, "probabilities": probabilities}


def result(experiment: str, run_id: str, data, **measured) -> dict:
    """The JSON record a lab returns: who, where, the measured figures, and whether they meet the
    experiment's target (``dltp.labs.targets``), which is also tagged on the run for the report."""
    record = {"experiment": experiment, "run_id": run_id, "dataset": data.name,
              "dataset_fallback": data.fallback, "backend": tracking.backend(), "device": backends.device(),
              **measured}
    verdict = targets.judge(experiment, record)
    tag_target(run_id, verdict)
    return {**record, **verdict}


def tag_target(run_id: str | None, verdict: dict) -> None:
    """Tag a run with its target and whether it was met (``dltp report`` shows both)."""
    if run_id and verdict["target"] is not None:
        client = tracking.client()
        client.set_tag(run_id, "dltp.target", verdict["target"]["checks"])
        client.set_tag(run_id, "dltp.target_met", "yes" if verdict["target_met"] else "no")
