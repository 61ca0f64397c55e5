"""The in-memory form every image dataset takes, and the checks every loader applies."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dltp.errors import DatasetCorrupt


def data_dir() -> Path:
    """Where dataset files are looked for and cached (DLTP_DATA_DIR, default ~/.keras/datasets)."""
    return Path(os.environ.get("DLTP_DATA_DIR", "~/.keras/datasets")).expanduser()


@dataclass
class ImageData:
    """Train/test images (uint8, N×H×W or N×H×W×C) with integer labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str
    fallback_from: str | None = None  # the dataset that was wanted but unavailable

    @property
    def fallback(self) -> bool:
        return self.fallback_from is not None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, ...]:
        """Shape of one image with an explicit channel axis (H, W, C)."""
        shape = self.x_train.shape[1:]
        return shape if len(shape) == 3 else (*shape, 1)

    def train_val_split(self, val_fraction: float = 0.1):
        """First (1 - f) of the training set for training, the last f for validation.

        For MNIST this is exactly the 54,000 / 6,000 split of TP2; the test set is left alone.
        """
        n_val = max(1, int(round(len(self.x_train) * val_fraction)))
        cut = len(self.x_train) - n_val
        return (self.x_train[:cut], self.y_train[:cut], self.x_train[cut:], self.y_train[cut:])

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> "ImageData":
        """A smaller copy (first n of each part): quick runs and tests."""
        return ImageData(
            self.name,
            self.x_train[:n_train],
            self.y_train[:n_train],
            self.x_test[:n_test],
            self.y_test[:n_test],
            self.class_names,
            self.source,
            self.fallback_from,
        )


def check_split(x: np.ndarray, y: np.ndarray, *, where: str, image_shape: tuple, num_classes: int):
    """Validate one (images, labels) pair; raise DatasetCorrupt naming ``where`` on any mismatch."""
    if x.dtype != np.uint8:
        raise DatasetCorrupt(f"{where}: images have dtype {x.dtype}, expected uint8")
    if tuple(x.shape[1:]) != tuple(image_shape):
        raise DatasetCorrupt(f"{where}: images have shape {x.shape[1:]}, expected {image_shape}")
    if y.ndim != 1:
        raise DatasetCorrupt(f"{where}: labels have shape {y.shape}, expected one label per image")
    if len(x) != len(y):
        raise DatasetCorrupt(f"{where}: {len(x)} images but {len(y)} labels")
    if len(x) == 0:
        raise DatasetCorrupt(f"{where}: no images")
    if y.min() < 0 or y.max() >= num_classes:
        raise DatasetCorrupt(
            f"{where}: labels range {int(y.min())}..{int(y.max())}, expected 0..{num_classes - 1}"
        )
