"""TP4's U-Net (Ronneberger et al., 2015), at the original lab's size.

Encoder: per level two (Conv 3×3 → BatchNorm → ReLU) blocks, then 2×2 max-pooling; filters 8, 16,
32. Bottleneck: the same block with 128 filters. Decoder: Conv2DTranspose (2×2, stride 2) up-sampling,
**concatenation** with the encoder features of the same resolution (the skip connection), the
same block again. A 1×1 convolution with a sigmoid gives the per-pixel probability of "object".
``filters`` sets depth (its length) and width (its values).
"""

from __future__ import annotations

import keras
from keras import layers

from dltp.errors import DltpError


def conv_block(x, filters: int, name: str):
    for i in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
    return x


def build_unet(input_shape: tuple[int, int, int] = (128, 128, 1), filters: tuple[int, ...] = (8, 16, 32),
               bottleneck: int = 128, name: str = "unet") -> keras.Model:
    filters = tuple(int(f) for f in filters)
    if not filters or min(filters) < 1 or bottleneck < 1:
        raise DltpError("U-Net filters and bottleneck must be positive integers")
    step = 2 ** len(filters)
    if input_shape[0] % step or input_shape[1] % step:
        raise DltpError(f"a U-Net of depth {len(filters)} needs image sides divisible by {step}, "
                        f"got {input_shape[0]}×{input_shape[1]}")
    inputs = keras.Input(input_shape, name="image")
    x, skips = inputs, []
    for level, f in enumerate(filters, 1):
        x = conv_block(x, f, f"enc{level}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
    x = conv_block(x, bottleneck, "bottleneck")
    for level, f, skip in reversed(list(zip(range(1, len(filters) + 1), filters, skips))):
        x = layers.Conv2DTranspose(f, 2, strides=2, padding="same", name=f"up{level}")(x)
        x = layers.Concatenate(name=f"skip{level}")([x, skip])
        x = conv_block(x, f, f"dec{level}")
    outputs = layers.Conv2D(1, 1, activation="sigmoid", name="mask")(x)
    return keras.Model(inputs, outputs, name=name)
