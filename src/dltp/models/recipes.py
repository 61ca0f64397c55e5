"""Training recipes for TP3's classifiers: the original one and a ``fast`` one.

A recipe is how a model is trained, not for how long: the epochs are the experiment's
(dltp.registry), the same for both recipes.

``original``: the seed's recipe: Adam (1e-3), plain cross-entropy, no augmentation, batch 64.
``fast``: what a practitioner uses to get further on the same budget:
  * data augmentation (random shifts of up to 2 pixels, the "pad and random crop" of CIFAR
    training; a random horizontal flip only for datasets whose labels survive a mirror image: a
    flipped shirt is a shirt, a flipped "7" is not a digit), see ``AugmentedBatches``,
  * AdamW (weight decay 5e-4) with a linear warm-up and a cosine decay of the learning rate,
  * label smoothing 0.1, batch 128.
"""

from __future__ import annotations

import keras
import numpy as np

RECIPES = ("original", "fast")
# Datasets whose classes are unchanged by a left-right mirror image.
FLIP_SAFE = {"cifar10", "fashion_mnist", "shapes"}


@keras.saving.register_keras_serializable(package="dltp")
class SparseSmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy on integer labels with label smoothing (Keras' sparse loss has none)."""

    def __init__(self, num_classes: int = 10, label_smoothing: float = 0.1, name="smoothed_crossentropy",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        y_true = keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1,))
        one_hot = keras.ops.one_hot(y_true, self.num_classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(one_hot, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "label_smoothing": self.label_smoothing}


def settings(recipe: str) -> dict:
    """The hyper-parameters of ``recipe`` (original or fast), as logged to MLflow."""
    if recipe not in RECIPES:
        from dltp.errors import DltpError

        raise DltpError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    if recipe == "original":
        return {"recipe": "original", "batch_size": 64, "optimizer": "adam",
                "learning_rate": 1e-3, "augment": False, "label_smoothing": 0.0, "schedule": "constant"}
    return {"recipe": "fast", "batch_size": 128, "optimizer": "adamw", "learning_rate": 2e-3,
            "weight_decay": 5e-4, "augment": True, "label_smoothing": 0.1, "schedule": "warmup+cosine",
            "warmup_epochs": 1}


def compile_for(model, params: dict, steps_per_epoch: int, num_classes: int) -> None:
    """Compile ``model`` with the optimizer, schedule and loss of ``params`` (``settings``, and the
    ``epochs`` the warm-up/cosine schedule spans)."""
    if params["schedule"] == "constant":
        optimizer = keras.optimizers.Adam(params["learning_rate"])
    else:
        total = max(1, steps_per_epoch * params["epochs"])
        warmup = min(total // 2, steps_per_epoch * params.get("warmup_epochs", 1))
        schedule = keras.optimizers.schedules.CosineDecay(
            params["learning_rate"] / 10, decay_steps=max(1, total - warmup),
            warmup_target=params["learning_rate"], warmup_steps=warmup)
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=params["weight_decay"])
    loss = (SparseSmoothedCrossentropy(num_classes, params["label_smoothing"]) if params["label_smoothing"]
            else keras.losses.SparseCategoricalCrossentropy())
    model.compile(optimizer=optimizer, loss=loss,
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])


class AugmentedBatches(keras.utils.PyDataset):
    """Mini-batches of (shifted, maybe flipped) training images, reshuffled every epoch.

    The fast recipe's augmentation, done in NumPy on the batch: a random shift of up to
    ``shift`` pixels in each direction with zero fill (pad-and-random-crop) and, when ``flip``, a
    left-right mirror of half of the images.
    """

    def __init__(self, x, y, batch_size: int, *, flip: bool, shift: int = 2, seed: int = 0):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.flip, self.shift = flip, shift
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.x))

    def __getitem__(self, index):
        idx = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        # Not Keras' RandomTranslation layer: its bilinear resampling of every image cost more CPU time
        # than the model; integer shifts in NumPy are nearly free and are the standard CIFAR augmentation.
        return random_shift_flip(self.x[idx], self.rng, self.shift, self.flip), self.y[idx]


def random_shift_flip(x: np.ndarray, rng: np.random.Generator, shift: int, flip: bool) -> np.ndarray:
    """Each image of the (N, H, W, C) batch moved by its own random (dy, dx) in [-shift, shift]."""
    n, h, w = x.shape[:3]
    padded = np.pad(x, ((0, 0), (shift, shift), (shift, shift), (0, 0)))
    dy = rng.integers(0, 2 * shift + 1, n)
    dx = rng.integers(0, 2 * shift + 1, n)
    rows = dy[:, None] + np.arange(h)[None, :]  # (n, h)
    cols = dx[:, None] + np.arange(w)[None, :]  # (n, w)
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    if flip:
        mirror = rng.random(n) < 0.5
        out[mirror] = out[mirror, :, ::-1]
    return out
