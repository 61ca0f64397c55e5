"""Dice, IoU and the segmentation losses against hand-computed values, under every backend."""

import keras
import numpy as np
import pytest

from dltp.losses import bce_dice_loss, dice_loss
from dltp.metrics import SMOOTH, binary_scores, dice_coefficient, iou


def f(value) -> float:
    return float(keras.ops.convert_to_numpy(value))


# 4×4 masks: truth has 4 pixels, prediction 5, they share 2 → TP 2, FP 3, FN 2.
TRUTH = np.zeros((1, 4, 4, 1), "float32")
TRUTH[0, :2, :2] = 1
PRED = np.zeros((1, 4, 4, 1), "float32")
PRED[0, :2, 1:4] = 1
PRED[0, 1, 3] = 0


def test_hand_computed_dice_and_iou():
    assert TRUTH.sum() == 4 and PRED.sum() == 5 and (TRUTH * PRED).sum() == 2
    # Dice = 2·2 / (2·2 + 3 + 2) = 4/9, IoU = 2 / (2 + 3 + 2) = 2/7
    assert f(dice_coefficient(TRUTH, PRED)) == pytest.approx((4 + SMOOTH) / (9 + SMOOTH), abs=1e-6)
    assert f(iou(TRUTH, PRED)) == pytest.approx((2 + SMOOTH) / (7 + SMOOTH), abs=1e-6)
    assert f(dice_loss(TRUTH, PRED)) == pytest.approx(5 / 9, abs=1e-6)


def test_soft_predictions_use_probabilities():
    t = np.array([[1.0, 1.0, 0.0, 0.0]], "float32")
    p = np.array([[0.5, 1.0, 0.5, 0.0]], "float32")
    # intersection 1.5, |t| 2, |p| 2 → Dice 3/4; union 2 + 2 − 1.5 = 2.5 → IoU 0.6
    assert f(dice_coefficient(t, p)) == pytest.approx(0.75, abs=1e-6)
    assert f(iou(t, p)) == pytest.approx(0.6, abs=1e-6)


def test_empty_masks_give_no_nan():
    empty = np.zeros((2, 8, 8, 1), "float32")
    assert f(dice_coefficient(empty, empty)) == pytest.approx(1.0)
    assert f(iou(empty, empty)) == pytest.approx(1.0)
    assert f(dice_loss(empty, empty)) == pytest.approx(0.0, abs=1e-6)
    full = np.ones_like(empty)
    assert f(dice_coefficient(empty, full)) == pytest.approx(0.0, abs=1e-6)
    assert f(iou(full, empty)) == pytest.approx(0.0, abs=1e-6)
    assert np.isfinite(f(bce_dice_loss(empty, empty + 1e-3)))
    scores = binary_scores(empty, empty)
    assert scores == {"dice": pytest.approx(1.0), "iou": pytest.approx(1.0)}


def test_per_image_averages_images_not_pixels():
    t = np.zeros((2, 4, 4, 1), "float32")
    p = np.zeros_like(t)
    t[0, :2, :2] = p[0, :2, :2] = 1  # image 0 perfect (4 px)
    t[1, :, :] = 1  # image 1: 16 px true, none predicted → 0
    assert f(dice_coefficient(t, p, per_image=True)) == pytest.approx(0.5, abs=1e-6)
    assert f(dice_coefficient(t, p)) == pytest.approx(8 / 24, abs=1e-6)  # pooled over the batch


def test_iou_is_dice_over_two_minus_dice():
    rng = np.random.default_rng(0)
    t = (rng.random((3, 16, 16, 1)) > 0.6).astype("float32")
    p = (rng.random((3, 16, 16, 1)) > 0.5).astype("float32")
    d, j = f(dice_coefficient(t, p)), f(iou(t, p))
    assert j == pytest.approx(d / (2 - d), abs=1e-5) and j < d


def test_bce_dice_is_bce_plus_dice_loss():
    t = np.array([[1.0, 0.0]], "float32")
    p = np.array([[0.8, 0.1]], "float32")
    bce = -(np.log(0.8) + np.log(0.9)) / 2
    dice = (2 * 0.8 + SMOOTH) / (1 + 0.9 + SMOOTH)
    assert f(bce_dice_loss(t, p)) == pytest.approx(bce + 1 - dice, abs=1e-5)
