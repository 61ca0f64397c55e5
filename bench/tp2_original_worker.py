"""The four original TP2 recipes, as the course's scripts ran them: one standalone Keras script
per exercise (data loaded, model built, trained, evaluated, curves plotted; ex. 3 logs each
optimizer to MLflow). Used by tp2_suite.py as the baseline, on the backend of dltp's side.
Its last stdout line is JSON: the seconds its fits took (validation included, as dltp's
``train_seconds``), the epochs they trained and the test accuracies.

    KERAS_BACKEND=tensorflow python bench/tp2_original_worker.py diagnose [--dataset fashion_mnist] [--epochs N]
"""

import argparse
import json
import os
import sys
import tempfile
import time

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from dltp.data import load_images  # noqa: E402  (only to read the same files; the original used keras.datasets)


def load(dataset):
    d = load_images(dataset)
    x_train = d.x_train.reshape(-1, 784).astype("float32") / 255
    x_test = d.x_test.reshape(-1, 784).astype("float32") / 255
    cut = int(len(x_train) * 0.9)  # 54,000 / 6,000
    return (x_train[:cut], d.y_train[:cut]), (x_train[cut:], d.y_train[cut:]), (x_test, d.y_test)


def model(dropout=0.2, l2=None, batch_norm=False):
    layers = [keras.Input((784,)),
              keras.layers.Dense(512, activation="relu",
                                 kernel_regularizer=keras.regularizers.l2(l2) if l2 else None)]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    layers += [keras.layers.Dropout(dropout), keras.layers.Dense(10, activation="softmax")]
    return keras.Sequential(layers)


def plot(history, name):
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for i, m in enumerate(("accuracy", "loss")):
        ax[i].plot(history.history[m], label="train")
        ax[i].plot(history.history["val_" + m], label="val")
        ax[i].legend()
    fig.savefig(os.path.join(tempfile.gettempdir(), f"tp2_original_{name}.png"))
    plt.close(fig)


TRAINED = {"train_s": 0.0, "epochs": 0, "test_accuracy": {}}  # what this process trained, for tp2_suite.py


def fit_eval(m, data, epochs, name, optimizer="adam"):
    (xt, yt), (xv, yv), (xs, ys) = data
    m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    h = m.fit(xt, yt, epochs=epochs, batch_size=128, validation_data=(xv, yv), verbose=2)
    TRAINED["train_s"] += time.perf_counter() - start
    TRAINED["epochs"] += epochs
    loss, acc = m.evaluate(xs, ys, verbose=0)
    TRAINED["test_accuracy"][name] = acc
    plot(h, name)
    print(f"{name}: train {h.history['accuracy'][-1]:.4f} val {h.history['val_accuracy'][-1]:.4f} test {acc:.4f}")
    return h, acc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("recipe", choices=("diagnose", "regularize", "optimizers", "batchnorm"))
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--epochs", type=int)
    a = p.parse_args()
    keras.utils.set_random_seed(42)
    data = load(a.dataset)
    if a.recipe == "diagnose":
        h, _ = fit_eval(model(), data, a.epochs or 15, "diagnose")
        tr, va = h.history["accuracy"][-1], h.history["val_accuracy"][-1]
        print("high bias" if tr < 0.90 else "high variance" if tr - va > 0.02 else "balanced")
    elif a.recipe == "regularize":
        fit_eval(model(dropout=0.5, l2=0.001), data, a.epochs or 15, "regularize")
    elif a.recipe == "batchnorm":
        fit_eval(model(batch_norm=True), data, a.epochs or 10, "batchnorm")
    else:
        import mlflow

        mlflow.set_experiment("tp2-original-optimizers")
        for name, opt in (("sgd", keras.optimizers.SGD(0.01, momentum=0.9)),
                          ("rmsprop", keras.optimizers.RMSprop()), ("adam", keras.optimizers.Adam())):
            with mlflow.start_run(run_name=name):
                mlflow.log_param("optimizer", name)
                h, acc = fit_eval(model(), data, a.epochs or 10, name, optimizer=opt)
                for i in range(len(h.history["loss"])):
                    mlflow.log_metrics({k: v[i] for k, v in h.history.items()}, step=i)
                mlflow.log_metric("test_accuracy", acc)
    print(json.dumps({"recipe": a.recipe, "backend": keras.backend.backend(), **TRAINED}))


if __name__ == "__main__":
    main()
