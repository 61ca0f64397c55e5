"""TP4's Conv3D network, as in the original lab: input (32, 32, 32, 1); Conv3D 16 (3×3×3, ReLU,
same) → MaxPool3D → Conv3D 32 → MaxPool3D → Flatten → Dense 1 sigmoid.

``filters`` and ``kernel`` are the knobs of the memory study (fewer filters, smaller kernels)."""

from __future__ import annotations

import keras
from keras import layers

from dltp.errors import DltpError


def build_conv3d(input_shape: tuple[int, int, int, int] = (32, 32, 32, 1), filters: tuple[int, ...] = (16, 32),
                 kernel: int = 3, early_pool: bool = False, name: str = "conv3d") -> keras.Model:
    """``early_pool`` halves every side before the first convolution (early down-sampling)."""
    filters = tuple(int(f) for f in filters)
    if not filters or min(filters) < 1 or kernel < 1:
        raise DltpError("Conv3D filters and kernel size must be positive integers")
    step = 2 ** (len(filters) + early_pool)
    if any(side % step for side in input_shape[:3]):
        raise DltpError(f"{len(filters)} poolings need volume sides divisible by {step}, got {input_shape[:3]}")
    inputs = keras.Input(input_shape, name="volume")
    x = layers.MaxPooling3D(2, name="early_pool")(inputs) if early_pool else inputs
    for i, f in enumerate(filters, 1):
        x = layers.Conv3D(f, kernel, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling3D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="probability")(x)
    return keras.Model(inputs, outputs, name=name)
