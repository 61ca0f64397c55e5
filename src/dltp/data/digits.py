"""scikit-learn's bundled handwritten digits (1,797 images of 8×8), made to look like MNIST.

Each image is scaled to 20×20 and centred in a 28×28 frame, values 0-255, as MNIST digits are;
it is the offline stand-in when MNIST cannot be downloaded. Always available, no network.
"""

from __future__ import annotations

import numpy as np

from dltp.data.base import ImageData
from dltp.data.mnist import DIGIT_NAMES


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
    # A fixed, stratified 80/20 split so every run sees the same test set.
    rng = np.random.RandomState(0)
    test_idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: int(round(0.2 * np.sum(y == c)))]
                               for c in range(10)])
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test_idx] = True
    train_order = rng.permutation(np.flatnonzero(~is_test))
    test_order = np.sort(test_idx)
    return ImageData("digits", x[train_order], y[train_order], x[test_order], y[test_order],
                     DIGIT_NAMES, "sklearn.datasets.load_digits (8x8 resized to 28x28)")
