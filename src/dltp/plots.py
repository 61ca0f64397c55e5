"""Figures every lab saves (matplotlib's Agg backend: files, never windows).

Every module that draws takes pyplot from ``pyplot()``, which selects the Agg backend before pyplot
is first imported; importing this module imports neither matplotlib nor scikit-learn.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.cache
def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (selected once, on the first call)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def training_curves(history: dict[str, list[float]], title: str = ""):
    """Loss and accuracy per epoch, training vs validation, side by side."""
    plt = pyplot()
    metrics = [m for m in ("loss", "accuracy") if m in history]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        epochs = np.arange(1, len(history[metric]) + 1)
        ax.plot(epochs, history[metric], "o-", label="train")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], "s-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class), rows true; every class has its row and column, seen or not."""
    from sklearn.metrics import confusion_matrix as count_pairs

    return count_pairs(y_true, y_pred, labels=np.arange(num_classes))


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
