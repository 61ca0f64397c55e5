"""TP3's detection head: one CNN body, two heads.

``class``: softmax over the object classes; ``box``: 4 numbers (x0, y0, x1, y1) as fractions of
the image size (sigmoid). Trained with  cross-entropy + λ · Huber(box)  (``loss_weights``).
"""

from __future__ import annotations

import keras


def build_detector(input_shape=(64, 64, 3), num_classes: int = 3, name: str = "detector") -> keras.Model:
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for i, filters in enumerate((16, 32, 64, 64), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = keras.layers.MaxPooling2D(name=f"pool{i}")(x)
    # Flatten, not global pooling: the box head needs to know *where* things are.
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(128, activation="relu", name="hidden")(x)
    label = keras.layers.Dense(num_classes, activation="softmax", name="class")(x)
    box = keras.layers.Dense(4, activation="sigmoid", name="box")(x)
    return keras.Model(inputs, {"class": label, "box": box}, name=name)


def compile_detector(model, box_weight: float = 5.0, learning_rate: float = 1e-3) -> None:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss={"class": keras.losses.SparseCategoricalCrossentropy(), "box": keras.losses.Huber(0.1)},
                  loss_weights={"class": 1.0, "box": box_weight},
                  metrics={"class": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]})
