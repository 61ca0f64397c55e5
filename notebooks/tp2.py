# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # TP2 — diagnosing and improving a network
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dltp-course/dltp/blob/main/notebooks/tp2.ipynb)
#
# The TP1 network again, on an explicit split (the first 54,000 MNIST training images train, the
# last 6,000 validate, the 10,000 test images score once at the end), to answer four questions:
#
# 1. Is the network's problem **bias or variance**? (train accuracy < 0.90 → high bias;
#    train − validation gap > 0.02 → high variance; else balanced)
# 2. What do **L2 (0.001) and Dropout 0.5** change?
# 3. **SGD with momentum, RMSprop or Adam**?
# 4. Does **BatchNormalization** make it converge faster?
#
# The quick budget trains on 600 images and validates on the next 600: few enough for the 512-unit
# network to overfit them, which is the lesson of questions 1 and 2.

# %% [markdown]
# ## Setup
#
# Where dltp is not installed yet (Colab, a fresh environment), this cell installs it *beside* the
# torch that is already there: dltp asks for a torch version range, not one version.

# %%
import importlib.util
import subprocess
import sys

REPOSITORY = "https://github.com/dltp-course/dltp"
if importlib.util.find_spec("dltp") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"dltp @ git+{REPOSITORY}"], check=True)

# %% [markdown]
# `QUICK = True` runs the lab on its quick budget (about a minute on a laptop CPU, what the tests
# run); `False` gives the lab's full budget, the original recipe. Keras runs on torch unless
# `KERAS_BACKEND` says otherwise (`jax` or `tensorflow`: set it before the first import of keras).

# %%
QUICK = True

import inspect
import os
import time

# os.environ["KERAS_BACKEND"] = "jax"  # uncomment for jax (or "tensorflow"), before keras is imported
from dltp import notebook, plots

plt = notebook.setup(QUICK)  # threads, quiet tracked runs, figures/ (dltp/notebook.py); then Keras
# %matplotlib inline
import keras
import numpy as np

# %% [markdown]
# ## The data and the model

# %%
from dltp.data import load_images
from dltp.models.dense import build_dense

data = load_images(None, default="mnist")
if QUICK:  # 600 images to train, the next 600 to validate, 1,000 to test
    x_train, y_train = data.x_train[:600], data.y_train[:600]
    x_val, y_val = data.x_train[600:1200], data.y_train[600:1200]
    x_test, y_test = data.x_test[:1000], data.y_test[:1000]
else:  # the first 54,000 train, the last 6,000 validate
    x_train, y_train, x_val, y_val = data.train_val_split(0.1)
    x_test, y_test = data.x_test, data.y_test
x_train, x_val, x_test = (x.reshape(len(x), -1).astype("float32") / 255.0 for x in (x_train, x_val, x_test))
print(f"{data.name}: train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")
print(inspect.getsource(build_dense))

# %% [markdown]
# One helper trains a model with the lab's settings (batch 128, the same seed for every model) and
# keeps its curves and its test accuracy.

# %%
runs = {}


def train(name: str, model: keras.Model, optimizer, epochs: int) -> dict:
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=128,
                        verbose=0).history
    history["test_accuracy"] = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)[1]
    runs[name] = history
    return history


# %% [markdown]
# ## 1. Bias or variance?
#
# **Exercise 1.** Write the diagnosis rule: from a Keras history (lists per epoch of `accuracy` and
# `val_accuracy`), look at the last epoch and return `"high bias"` when the training accuracy is
# below `bias`, else `"high variance"` when the training accuracy exceeds the validation accuracy by
# more than `variance`, else `"balanced"`.

# %%
def diagnose(history: dict, bias: float = 0.90, variance: float = 0.02) -> str:
    ### BEGIN SOLUTION
    train_accuracy, val_accuracy = history["accuracy"][-1], history["val_accuracy"][-1]
    if train_accuracy < bias:
        return "high bias"
    if train_accuracy - val_accuracy > variance:
        return "high variance"
    return "balanced"
    ### END SOLUTION


# %%
assert diagnose({"accuracy": [0.5, 0.85], "val_accuracy": [0.5, 0.84]}) == "high bias"
assert diagnose({"accuracy": [0.9, 0.99], "val_accuracy": [0.9, 0.95]}) == "high variance"
assert diagnose({"accuracy": [0.9, 0.97], "val_accuracy": [0.9, 0.96]}) == "balanced"
print("diagnose: ok")

# %% [markdown]
# The TP1 model (Dropout 0.2, Adam), 15 epochs:

# %%
keras.utils.set_random_seed(42)
baseline = train("baseline", build_dense(784, 10), keras.optimizers.Adam(1e-3), epochs=15)
best_epoch = int(np.argmin(baseline["val_loss"])) + 1
gap = baseline["accuracy"][-1] - baseline["val_accuracy"][-1]
print(f"baseline: {diagnose(baseline)} (train {baseline['accuracy'][-1]:.3f}, validation "
      f"{baseline['val_accuracy'][-1]:.3f}, gap {gap:+.3f}); validation loss lowest at epoch {best_epoch}")
plots.training_curves(baseline, "TP2 baseline")
plt.savefig("figures/tp2_01.png")

# %% [markdown]
# ## 2. Regularisation: L2 and Dropout
#
# **Exercise 2.** Build the regularised network with `keras.layers`: 784 inputs → Dense 512 relu
# whose kernel has an L2 penalty of 0.001 → Dropout 0.5 → Dense 10 softmax.

# %%
def regularized_network() -> keras.Model:
    ### BEGIN SOLUTION
    inputs = keras.Input((784,))
    x = keras.layers.Dense(512, activation="relu", kernel_regularizer=keras.regularizers.L2(0.001))(inputs)
    x = keras.layers.Dropout(0.5)(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    ### END SOLUTION


# %%
net = regularized_network()
hidden = [layer for layer in net.layers if isinstance(layer, keras.layers.Dense)][0]
dropout = [layer for layer in net.layers if isinstance(layer, keras.layers.Dropout)]
assert hidden.units == 512 and abs(float(hidden.kernel_regularizer.l2) - 0.001) < 1e-9
assert dropout and dropout[0].rate == 0.5
assert net.count_params() == build_dense(784, 10).count_params()
print("regularized_network: ok")

# %%
keras.utils.set_random_seed(42)
regularized = train("regularized", regularized_network(), keras.optimizers.Adam(1e-3), epochs=15)
regularized_gap = regularized["accuracy"][-1] - regularized["val_accuracy"][-1]
print(f"regularized: {diagnose(regularized)} (gap {regularized_gap:+.3f}, was {gap:+.3f}); "
      f"test accuracy {regularized['test_accuracy']:.4f} vs {baseline['test_accuracy']:.4f}")
plots.train_vs_validation({"baseline": baseline, "L2 + Dropout 0.5": regularized}, "accuracy",
                          "Training vs validation accuracy")
plt.savefig("figures/tp2_02.png")

# %% [markdown]
# ## 3. Optimisers, 10 epochs each
#
# SGD (learning rate 0.01, momentum 0.9), RMSprop and Adam with Keras' defaults (learning rate 0.001).

# %%
optimizers = {"SGD + momentum": lambda: keras.optimizers.SGD(0.01, momentum=0.9),
              "RMSprop": lambda: keras.optimizers.RMSprop(1e-3),
              "Adam": lambda: keras.optimizers.Adam(1e-3)}
for name, make in optimizers.items():
    keras.utils.set_random_seed(42)
    train(name, build_dense(784, 10), make(), epochs=10)
ranking = sorted(optimizers, key=lambda name: -runs[name]["test_accuracy"])
print("test accuracy: " + " > ".join(f"{name} {runs[name]['test_accuracy']:.4f}" for name in ranking))
plots.overlay({name: runs[name] for name in optimizers},
              {"val_loss": "validation loss", "val_accuracy": "validation accuracy"}, "TP2 optimisers")
plt.savefig("figures/tp2_03.png")

# %% [markdown]
# ## 4. Does BatchNormalization converge faster?
#
# The same model with BatchNormalization right after the hidden Dense layer, against the Adam run
# above. "Faster" is counted in epochs: the first epoch at which the validation accuracy reaches
# 98 % of the better model's best.
#
# **Exercise 3.** Write `epochs_to_reach(val_accuracy, level)`: the first epoch (counting from 1)
# whose validation accuracy is at least `level`, or `None` when none is.

# %%
def epochs_to_reach(val_accuracy: list, level: float):
    ### BEGIN SOLUTION
    return next((epoch for epoch, value in enumerate(val_accuracy, start=1) if value >= level), None)
    ### END SOLUTION


# %%
assert epochs_to_reach([0.5, 0.8, 0.9], 0.8) == 2 and epochs_to_reach([0.5], 0.9) is None
print("epochs_to_reach: ok")

# %%
keras.utils.set_random_seed(42)
batchnorm = train("BatchNorm", build_dense(784, 10, batch_norm=True), keras.optimizers.Adam(1e-3), epochs=10)
level = 0.98 * max(max(batchnorm["val_accuracy"]), max(runs["Adam"]["val_accuracy"]))
with_bn = epochs_to_reach(batchnorm["val_accuracy"], level)
without_bn = epochs_to_reach(runs["Adam"]["val_accuracy"], level)
print(f"validation accuracy {level:.4f} reached at epoch {with_bn} with BatchNorm, {without_bn} without")
plots.overlay({"Adam": runs["Adam"], "Adam + BatchNorm": batchnorm}, {"val_accuracy": "validation accuracy"},
              "TP2 BatchNorm")
plt.savefig("figures/tp2_04.png")

# %% [markdown]
# ## The same lab, tracked: `dltp run tp2`
#
# The lab's own run trains these six models as child runs of one MLflow parent run, with a
# comparison table, the diagnosis pages and the overlay plots as artifacts.

# %%
from dltp import registry
from dltp.config import RunConfig

lab = registry.runner("tp2")(RunConfig(quick=QUICK).for_experiment("tp2"))
print({key: lab[key] for key in ("diagnosis", "regularized_diagnosis", "gap_change", "optimizer_ranking",
                                 "batchnorm_converges_faster", "target_met")})

# %% [markdown]
# ## What this run showed

# %%
faster = ("yes" if with_bn is not None and (without_bn is None or with_bn < without_bn)
          else "no" if without_bn is not None and (with_bn is None or with_bn > without_bn) else "no difference")
print(f"1. The baseline is {diagnose(baseline)}: train {baseline['accuracy'][-1]:.3f}, validation "
      f"{baseline['val_accuracy'][-1]:.3f} (gap {gap:+.3f}); its validation loss was lowest at epoch {best_epoch} "
      f"of 15{' and rose after it: it overfits' if best_epoch < 15 else ''}.")
print(f"2. L2 + Dropout 0.5 moved the gap from {gap:+.3f} to {regularized_gap:+.3f}: {diagnose(regularized)}.")
print(f"3. Optimisers by test accuracy: {' > '.join(ranking)}.")
print(f"4. Does BatchNorm converge faster (in epochs)? {faster}: epoch {with_bn} with it, {without_bn} without.")
print(f"The tracked lab run (its own models, same recipe) says: {lab['diagnosis']}, then "
      f"{lab['regularized_diagnosis']}; best optimiser {lab['best_optimizer']}.")
