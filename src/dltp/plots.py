"""Figures every lab saves (matplotlib's Agg backend: files, never windows).

Every module that draws takes pyplot from ``pyplot()``, which selects the Agg backend before pyplot
is first imported; importing this module imports neither matplotlib nor scikit-learn.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@functools.cache
def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (selected once, on the first call)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


@dataclass(frozen=True)
class Curve:
    """One line: a value per epoch, epoch 1 first."""

    label: str
    values: Sequence[float]
    style: str = "o-"  # matplotlib's format string: marker and line
    alpha: float | None = None


@dataclass(frozen=True)
class Panel:
    """One set of axes: its curves against the epoch, what the y axis shows, an optional title."""

    curves: Sequence[Curve]
    ylabel: str = ""
    title: str = ""
    legend: bool = True


def curves_figure(panels: Sequence[Panel], title: str = "", *, panel_size: tuple[float, float] = (5.0, 3.6),
                  sharey: bool = False, compact: bool = False):
    """Panels side by side, every curve against its epoch. ``compact``: smaller markers and text,
    for figures with many curves or many panels. Every per-epoch figure of the labs is drawn here."""
    fig, axes = pyplot().subplots(1, len(panels), figsize=(panel_size[0] * len(panels), panel_size[1]),
                                  squeeze=False, sharey=sharey)
    marker = {"ms": 3} if compact else {}
    text_size, title_size = (8, 9) if compact else (None, None)
    for ax, panel in zip(axes[0], panels):
        for curve in panel.curves:
            epochs = np.arange(1, len(curve.values) + 1)
            ax.plot(epochs, curve.values, curve.style, label=curve.label, alpha=curve.alpha, **marker)
        if panel.title:
            ax.set_title(panel.title, fontsize=title_size)
        ax.set_xlabel("epoch")
        if panel.ylabel:
            ax.set_ylabel(panel.ylabel)
        ax.grid(alpha=0.3)
        if panel.legend:
            ax.legend(fontsize=text_size)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def train_and_validation(history: dict[str, list[float]], metric: str, **panel) -> Panel:
    """``metric`` on the training set and, when measured, on the validation set (``val_<metric>``)."""
    curves = [Curve("train", history[metric], "o-")]
    if f"val_{metric}" in history:
        curves.append(Curve("validation", history[f"val_{metric}"], "s-"))
    return Panel(curves, **{"ylabel": metric, **panel})


def training_curves(history: dict[str, list[float]], title: str = ""):
    """Loss and accuracy per epoch, training vs validation, side by side."""
    metrics = [m for m in ("loss", "accuracy") if m in history]
    return curves_figure([train_and_validation(history, m) for m in metrics], title)


def overlay(histories: dict[str, dict[str, list[float]]], metrics: dict[str, str], title: str = ""):
    """One panel per metric (history key -> axis label), every run's curve on it, labelled by its
    key in ``histories``."""
    panels = [Panel([Curve(run, history[key]) for run, history in histories.items()], ylabel=label)
              for key, label in metrics.items()]
    return curves_figure(panels, title, panel_size=(5.5, 4.0), compact=True)


def train_vs_validation(histories: dict[str, dict[str, list[float]]], metric: str, title: str = ""):
    """One panel per run (titled by its key in ``histories``): ``metric`` on the training vs the
    validation set, on a shared y axis (labelled, with the legend, on the first panel)."""
    panels = [train_and_validation(history, metric, title=run, ylabel="" if i else metric, legend=i == 0)
              for i, (run, history) in enumerate(histories.items())]
    return curves_figure(panels, title, panel_size=(3.6, 3.4), sharey=True, compact=True)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class), rows true; every class has its row and column, seen or not."""
    pairs = np.asarray(y_true, dtype=np.int64) * num_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def confusion_matrix_figure(cm: np.ndarray, class_names: list[str], title: str = ""):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    im = ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if cm[i, j] > threshold else "black")
    fig.colorbar(im, ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    return fig
