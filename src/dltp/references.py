"""The original author's reported figures (MISSION.md), next to which the report puts ours.

experiment id -> [Reference(metric key in our runs, the author's figure, what it is, its dataset)].
A figure the author never measured is simply absent. Each figure carries the dataset it was
measured on: the report subtracts it from ours only when our run used the same dataset.

REFERENCES are the figures the report places next to a run's metric of the same key; QUOTED_ONLY
the ones the docs and the README quote but no single run's metric matches (a ranking over several
runs, an epoch, a result that was never run). The docs take every author's figure from here
(bench/render_results.py); none is typed in them.
"""

from __future__ import annotations

from typing import NamedTuple


class Reference(NamedTuple):
    key: str
    value: float
    label: str
    dataset: str  # as our runs name it (the `dataset` param): "mnist", "cifar10", "circles"


REFERENCES: dict[str, list[Reference]] = {
    "tp1": [Reference("test_accuracy", 0.9781, "test accuracy (MNIST, 5 epochs)", "mnist")],
    "tp2.diagnose": [Reference("accuracy", 0.9961, "train accuracy, last epoch (15 epochs)", "mnist"),
                     Reference("val_accuracy", 0.9822, "validation accuracy, last epoch", "mnist"),
                     Reference("best_val_loss", 0.0592, "lowest validation loss", "mnist")],
    "tp2.regularize": [Reference("accuracy", 0.9640, "train accuracy, L2 + Dropout 0.5", "mnist"),
                       Reference("val_accuracy", 0.9802, "validation accuracy, L2 + Dropout 0.5", "mnist")],
    "tp2.batchnorm": [Reference("test_accuracy", 0.9786, "test accuracy with BatchNorm (10 epochs)", "mnist")],
    "tp3.cnn": [Reference("test_accuracy", 0.7116, "test accuracy (CIFAR-10, 10 epochs)", "cifar10"),
                Reference("accuracy", 0.9651, "train accuracy, last epoch", "cifar10"),
                Reference("val_accuracy", 0.7334, "validation accuracy, last epoch", "cifar10")],
    "tp3.resnet": [Reference("test_accuracy", 0.5171, "test accuracy of the author's first (buggy) block",
                             "cifar10")],
    "tp4.unet": [Reference("val_dice_coefficient", 0.9937, "validation Dice", "circles"),
                 Reference("val_iou", 0.9875, "validation IoU", "circles")],
}


QUOTED_ONLY: dict[str, list[Reference]] = {
    "tp2.diagnose": [Reference("best_epoch", 12, "epoch of the lowest validation loss", "mnist")],
    "tp2.optimizers": [Reference("adam_test_accuracy", 0.9828, "test accuracy, Adam (10 epochs)", "mnist"),
                       Reference("rmsprop_test_accuracy", 0.9823, "test accuracy, RMSprop (10 epochs)", "mnist"),
                       Reference("sgd_momentum_test_accuracy", 0.9738, "test accuracy, SGD + momentum 0.9", "mnist")],
    "tp2.batchnorm": [Reference("val_accuracy_epoch_2", 0.9762, "validation accuracy at epoch 2 with BatchNorm",
                                "mnist")],
    "tp3.cnn": [Reference("best_epoch", 4, "epoch of the lowest validation loss", "cifar10")],
    # the research challenge's result tables were expectations, never run
    "tp5.research": [Reference("mse", 0.081, "MSE of TAP, expected, never run", "moving_mnist"),
                     Reference("mse_improved", 0.055, "MSE of the improved model, expected, never run",
                               "moving_mnist"),
                     Reference("consistency", 0.65, "object consistency of TAP, expected, never run", "moving_mnist"),
                     Reference("consistency_improved", 0.92, "object consistency, improved, expected, never run",
                               "moving_mnist")],
}


def difference(reference: Reference, ours: float | None, dataset: str) -> tuple[float | None, str]:
    """(ours − the author's figure, "") when they are comparable; otherwise (None, why not)."""
    if ours is None:
        return None, "not measured"
    if dataset != reference.dataset:
        return None, f"not comparable: {dataset} vs {reference.dataset}"
    return ours - reference.value, ""
