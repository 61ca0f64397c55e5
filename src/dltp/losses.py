"""Segmentation losses in keras.ops (every backend): Dice loss and BCE + Dice."""

from __future__ import annotations

import keras
from keras import ops

from dltp.metrics import SMOOTH, dice_coefficient


@keras.saving.register_keras_serializable(package="dltp")
def dice_loss(y_true, y_pred, smooth: float = SMOOTH):
    """1 − Dice (the original lab's loss): directly optimises the overlap, whatever the class balance."""
    return 1.0 - dice_coefficient(y_true, y_pred, smooth)


@keras.saving.register_keras_serializable(package="dltp")
def bce_dice_loss(y_true, y_pred, smooth: float = SMOOTH):
    """Mean pixel binary cross-entropy + Dice loss: per-pixel gradients early, overlap later."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    bce = ops.mean(keras.losses.binary_crossentropy(y_true, y_pred))
    return bce + dice_loss(y_true, y_pred, smooth)


LOSSES = {"dice": dice_loss, "bce_dice": bce_dice_loss}
