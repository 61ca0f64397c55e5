"""What each experiment must show, kept once: the quick targets, judged on every result.

A target is a list of checks on the figures an experiment returns (its ``--json`` result). A check
compares one figure with a number, a word, or another figure of the same result (``@key``); a key
with ``*`` is every matching figure. A check may hold on some datasets only (the accuracy targets
are for the data that is there offline, and for real MNIST); on other data it is left out, and a
target with no check left does not apply.

    judge("tp1", {"test_accuracy": 0.93, "dataset": "digits"})
    → {"target": {"checks": "test_accuracy ≥ 0.9", "shows": ..., "measured": {...}}, "target_met": True}
"""

from __future__ import annotations

import fnmatch
import math
import operator
from dataclasses import dataclass

_OPERATORS = {">=": (operator.ge, "≥"), ">": (operator.gt, ">"), "<=": (operator.le, "≤"),
              "<": (operator.lt, "<"), "==": (operator.eq, "="), "!=": (operator.ne, "≠"),
              "in": (lambda a, b: a in b, "in")}
DIGITS = ("mnist", "mnist_5k", "digits")  # TP1 data: real MNIST, or its offline stand-ins
# The offline digits: TP2 quick trains on 600 of them, which the unregularised network overfits in its
# epochs. On the 54,000 MNIST images it ends "balanced" (gap 0.014 < 0.02): the gap change is
# what holds on every dataset.
SMALL_DIGITS = ("mnist_5k", "digits")


@dataclass(frozen=True)
class Check:
    key: str  # a figure of the result; "*" matches several
    op: str  # one of _OPERATORS
    value: object  # a number, a word, a tuple (for "in"), or "@other_key"
    datasets: tuple[str, ...] | None = None  # None: every dataset

    def text(self) -> str:
        value = self.value
        if isinstance(value, str) and value.startswith("@"):
            value = value[1:]
        elif isinstance(value, tuple):
            value = "{" + ", ".join(map(str, value)) + "}"
        elif value == "":
            value = '""'  # "not empty"
        return f"{self.key} {_OPERATORS[self.op][1]} {value:g}" if isinstance(value, float) \
            else f"{self.key} {_OPERATORS[self.op][1]} {value}"

    def applies(self, dataset: str | None) -> bool:
        return self.datasets is None or dataset in self.datasets


@dataclass(frozen=True)
class Target:
    checks: tuple[Check, ...]
    shows: str  # one line: the point of the exercise that the checks stand for


TARGETS: dict[str, Target] = {
    "tp1": Target((Check("test_accuracy", ">=", 0.90, DIGITS),),
                  "a dense network learns to read digits"),
    # Losses only: samples/s on a shared machine move with its load (and jax retraces a last, smaller batch).
    "tp1.batching": Target((Check("mini_batch_32_val_loss_at_budget", "<", "@full_batch_gd_val_loss_at_budget"),
                            Check("mini_batch_128_val_loss_at_budget", "<", "@full_batch_gd_val_loss_at_budget")),
                           "in the same training time, mini-batches reach a lower loss than full-batch GD"),
    "tp2": Target((Check("gap_change", "<", 0.0),
                   Check("diagnosis", "==", "high variance", SMALL_DIGITS),
                   Check("regularized_diagnosis", "!=", "high variance", SMALL_DIGITS),
                   Check("optimizer_ranking", "!=", ""),
                   Check("batchnorm_converges_faster", "in", ("yes", "no", "same"))),
                  "regularisation narrows the train-validation gap; optimisers ranked; BatchNorm answered"),
    "tp2.diagnose": Target((Check("verdict", "==", "high variance", SMALL_DIGITS),),
                           "the unregularised network overfits a small training set"),
    "tp2.regularize": Target((Check("gap_change", "<", 0.0),),
                             "L2 + Dropout narrow the train-validation gap"),
    "tp2.optimizers": Target((Check("optimizer_ranking", "!=", ""),), "the optimisers ranked by test accuracy"),
    "tp2.batchnorm": Target((Check("converges_faster", "in", ("yes", "no", "same")),),
                            "BatchNorm's effect on convergence speed gets a verdict"),
    "tp3": Target((Check("cnn_test_accuracy", ">=", 0.80, ("shapes",)),
                   Check("resnet_test_accuracy", ">=", 0.80, ("shapes",)),
                   Check("style_loss_drop", ">=", 0.50),
                   Check("detection_mean_iou", ">=", 0.50)),
                  "both classifiers far above chance (0.10), style loss halved, boxes found"),
    "tp3.cnn": Target((Check("test_accuracy", ">=", 0.80, ("shapes",)),),
                      "a small CNN tells 10 shape classes apart (chance 0.10)"),
    "tp3.resnet": Target((Check("test_accuracy", ">=", 0.80, ("shapes",)),),
                         "the corrected residual network learns as well (chance 0.10)"),
    "tp3.style_transfer": Target((Check("style_loss_drop", ">=", 0.50),),
                                 "optimising the pixels at least halves the style-transfer loss"),
    "tp3.detection": Target((Check("mean_iou", ">=", 0.50),), "the box head finds the object"),
    "tp4.unet": Target((Check("val_dice", ">=", 0.90, ("circles",)),),
                       "the U-Net segments the discs (soft Dice on validation images)"),
    "tp4.conv3d": Target((Check("test_accuracy", ">=", 0.80),),
                         "the 3D network tells a sphere from a cube of the same volume, on held-out volumes"),
    "tp4.memory": Target((Check("measured_peak_mb_smallest", ">", 0.0),
                          Check("measured_peak_mb_largest", ">", "@measured_peak_mb_smallest")),
                         "the measured memory of a 3D convolution grows with the volume"),
    "tp5.attention": Target((Check("test_accuracy", ">=", 0.95), Check("focus_top1", ">=", 0.90)),
                            "the classifier is right and attends to the token that decides"),
    "tp5.seq2seq": Target((Check("mase_seasonal", "<", 1.0, ("synthetic",)),),
                          "the forecaster beats the seasonal-naive forecast"),
    # A study that measures: its instrument reads digits clearly above chance on true frames, every
    # predictor beats copying the last frame, and the autoencoder's floor lies below the baseline.
    "tp5.research": Target((Check("instrument_true_identity50", ">", "@instrument_threshold"),
                            Check("predictor_*_mse_last20", "<", "@copy_last_mse_last20"),
                            Check("autoencoder_standard_mse", "<", "@baseline_standard_mse")),
                           "the identity instrument reads digits; every predictor beats copying the last frame; "
                           "the autoencoder's floor is below the pixel baseline"),
}


def _figures(check: Check, result: dict) -> dict:
    if "*" not in check.key:
        return {check.key: result.get(check.key)}
    reference = check.value[1:] if isinstance(check.value, str) and check.value.startswith("@") else None
    return {k: v for k, v in result.items() if fnmatch.fnmatchcase(k, check.key) and k != reference}


def _holds(check: Check, figure, result: dict) -> bool:
    value = result.get(check.value[1:]) if isinstance(check.value, str) and check.value.startswith("@") \
        else check.value
    if figure is None or value is None:
        return False
    if isinstance(figure, float) and not math.isfinite(figure):
        return False
    try:
        return bool(_OPERATORS[check.op][0](figure, value))
    except TypeError:
        return False


def judge(experiment: str, result: dict) -> dict:
    """``{"target": ..., "target_met": True/False}`` for ``result``; ``target_met`` is None when the
    experiment has no target, or none of its checks applies to the result's dataset."""
    target = TARGETS.get(experiment)
    checks = [c for c in target.checks if c.applies(result.get("dataset"))] if target else []
    if not checks:
        return {"target": None, "target_met": None}
    measured, met = {}, True
    for check in checks:
        figures = _figures(check, result)
        met = met and bool(figures) and all(_holds(check, v, result) for v in figures.values())
        measured.update(figures)
        if isinstance(check.value, str) and check.value.startswith("@"):
            measured[check.value[1:]] = result.get(check.value[1:])
    return {"target": {"checks": "; ".join(c.text() for c in checks), "shows": target.shows,
                       "measured": measured}, "target_met": met}


def summary(verdict: dict) -> str:
    """The words the run summary and the report show: 'target met (…)' or 'target NOT met (…)'."""
    if verdict.get("target") is None:
        return "no target"
    return f"target {'met' if verdict['target_met'] else 'NOT met'} ({verdict['target']['checks']})"
