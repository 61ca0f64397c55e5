"""The original TP1 recipe as the course's script ran it: tensorflow, Keras' defaults, the library's
own thread count; dense 784-512-10 with dropout 0.2, Adam, 5 epochs, batch 128, the last 10 % of the
training images for validation. Prints one JSON line with the seconds ``model.fit`` took.

    KERAS_BACKEND=tensorflow python bench/tp1_original_worker.py [--dataset fashion_mnist]
"""

import argparse
import json
import os
import sys
import time

import keras

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from dltp.data import load_images  # noqa: E402  (only to read the same files; the original used keras.datasets)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    data = load_images(args.dataset)
    x = data.x_train.reshape(len(data.x_train), -1).astype("float32") / 255
    x_test = data.x_test.reshape(len(data.x_test), -1).astype("float32") / 255
    cut = int(len(x) * 0.9)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x[:cut], data.y_train[:cut], epochs=args.epochs, batch_size=128,
                        validation_data=(x[cut:], data.y_train[cut:]), verbose=2)
    train_seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, data.y_test, verbose=0)
    print(json.dumps({"backend": keras.backend.backend(), "dataset": data.name, "train_seconds": train_seconds,
                      "val_accuracy": history.history["val_accuracy"][-1], "test_accuracy": accuracy}))


if __name__ == "__main__":
    main()
