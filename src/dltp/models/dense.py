"""TP1's dense classifier: Input 784 → Dense 512 relu → Dropout → Dense 10 softmax."""

from __future__ import annotations

import keras


def build_dense(input_dim: int = 784, num_classes: int = 10, hidden: int = 512, dropout: float = 0.2,
                l2: float = 0.0, batch_norm: bool = False, name: str = "dense_classifier") -> keras.Model:
    """The TP1 network; ``l2`` and ``batch_norm`` are TP2's variations of it."""
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input((input_dim,), name="pixels")
    x = keras.layers.Dense(hidden, activation="relu", kernel_regularizer=regularizer, name="hidden")(inputs)
    if batch_norm:  # TP2 ex. 4 puts it right after the hidden Dense, as the original did
        x = keras.layers.BatchNormalization(name="batch_norm")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)
