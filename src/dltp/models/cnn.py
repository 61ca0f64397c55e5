"""TP3's basic CNN: Conv 32 → MaxPool → Conv 64 → MaxPool → Flatten → Dense 512 → Dense softmax.

The input shape comes from the data (32×32×3 for CIFAR-10, 28×28×1 for Fashion-MNIST); an
optional ``augment`` block (random layers, identity at inference) is put in front of it, so the
saved model is the whole recipe.
"""

from __future__ import annotations

import keras


def build_cnn(input_shape=(32, 32, 3), num_classes: int = 10, augment: keras.Layer | None = None,
              name: str = "cnn") -> keras.Model:
    inputs = keras.Input(input_shape, name="image")
    x = augment(inputs) if augment is not None else inputs
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(name="pool1")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(512, activation="relu", name="hidden")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)
