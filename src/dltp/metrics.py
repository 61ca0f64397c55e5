"""Segmentation metrics in keras.ops (every backend): Dice coefficient and IoU.

    Dice = 2·TP / (2·TP + FP + FN) = 2|A∩B| / (|A| + |B|)
    IoU  =   TP / (TP + FP + FN)   =  |A∩B| / |A∪B|

As in the original lab they are computed over every pixel of the batch at once ("soft": the
predicted probabilities are used as they are) with ``smooth = 1e-6`` added to numerator and
denominator, so that an empty truth and an empty prediction score 1 instead of 0/0 = NaN.
``per_image=True`` averages the per-image scores instead (what the evaluation tables report).
"""

from __future__ import annotations

import keras
from keras import ops

SMOOTH = 1e-6


def _prepare(y_true, y_pred, per_image: bool):
    y_pred = ops.convert_to_tensor(y_pred)
    if not str(y_pred.dtype).split(".")[-1].startswith("float"):
        y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(y_true, y_pred.dtype)
    if per_image:
        n = ops.shape(y_pred)[0]
        return ops.reshape(y_true, (n, -1)), ops.reshape(y_pred, (n, -1)), -1
    return ops.reshape(y_true, (-1,)), ops.reshape(y_pred, (-1,)), None


@keras.saving.register_keras_serializable(package="dltp")
def dice_coefficient(y_true, y_pred, smooth: float = SMOOTH, per_image: bool = False):
    t, p, axis = _prepare(y_true, y_pred, per_image)
    intersection = ops.sum(t * p, axis=axis)
    score = (2.0 * intersection + smooth) / (ops.sum(t, axis=axis) + ops.sum(p, axis=axis) + smooth)
    return ops.mean(score) if per_image else score


@keras.saving.register_keras_serializable(package="dltp")
def iou(y_true, y_pred, smooth: float = SMOOTH, per_image: bool = False):
    t, p, axis = _prepare(y_true, y_pred, per_image)
    intersection = ops.sum(t * p, axis=axis)
    union = ops.sum(t, axis=axis) + ops.sum(p, axis=axis) - intersection
    score = (intersection + smooth) / (union + smooth)
    return ops.mean(score) if per_image else score


def binary_scores(y_true, y_pred, threshold: float = 0.5) -> dict[str, float]:
    """Per-image mean Dice and IoU of the thresholded prediction (hard masks), as floats."""
    hard = ops.cast(ops.convert_to_tensor(y_pred) > threshold, "float32")
    return {"dice": float(dice_coefficient(y_true, hard, per_image=True)),
            "iou": float(iou(y_true, hard, per_image=True))}
