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
# # TP4 — segmentation with a U-Net, and 3D data
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dltp-course/dltp/blob/main/notebooks/tp4.ipynb)
#
# A U-Net learns to draw the mask of a circle in a noisy image, trained with the Dice loss and
# measured with Dice and IoU; then the lab's questions: how do IoU and Dice differ, and what does a
# 3D convolution cost in memory? Last, the original Conv3D network, which the original lab never
# trained (it logged random numbers as metrics), trained for real to tell a sphere from a cube.
#
# All data here is generated (seeded). The quick budget works at 64×64 (the full one at 128×128,
# the original) and on 16³ volumes (full: 32³).

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
# ## 1. Circles and their masks

# %%
from dltp.data.circles import load_circles

n_train, n_val, side = (200, 50, 64) if QUICK else (500, 100, 128)
circles = load_circles("circles", n_train=n_train, n_val=n_val, size=side, seed=42)
print(f"train {circles.x_train.shape} → masks {circles.y_train.shape}; validation {circles.x_val.shape}")
fig, axes = plt.subplots(2, 6, figsize=(11, 4))
for i in range(6):
    axes[0, i].imshow(circles.x_train[i, ..., 0], cmap="gray")
    axes[1, i].imshow(circles.y_train[i, ..., 0], cmap="gray", vmin=0, vmax=1)
    axes[0, i].axis("off")
    axes[1, i].axis("off")
axes[0, 0].set_title("images (noise σ 0.1)", loc="left")
axes[1, 0].set_title("masks", loc="left")
plt.savefig("figures/tp4_01.png")

# %% [markdown]
# ## 2. Dice and IoU
#
# For a predicted mask P and a true mask T: Dice = 2|P∩T| / (|P| + |T|), IoU = |P∩T| / |P∪T|.
#
# **Exercise 1.** Write both for two binary masks (NumPy arrays of 0 and 1).

# %%
def dice(truth: np.ndarray, predicted: np.ndarray) -> float:
    ### BEGIN SOLUTION
    return float(2 * np.sum(truth * predicted) / (np.sum(truth) + np.sum(predicted)))
    ### END SOLUTION


def iou(truth: np.ndarray, predicted: np.ndarray) -> float:
    ### BEGIN SOLUTION
    intersection = np.sum(truth * predicted)
    return float(intersection / (np.sum(truth) + np.sum(predicted) - intersection))
    ### END SOLUTION


# %%
from dltp import metrics

truth, other = circles.y_train[0], circles.y_train[1]
half = truth.copy()
half[:, : side // 2] = 0
for t, p in ((truth, truth), (truth, half), (truth, np.maximum(truth, other))):
    assert abs(dice(t, p) - float(metrics.dice_coefficient(t, p))) < 1e-4
    assert abs(iou(t, p) - float(metrics.iou(t, p))) < 1e-4
print("dice and iou agree with dltp.metrics")

# %% [markdown]
# ## 3. The U-Net
#
# An encoder of convolution blocks (2 × Conv 3×3 + BatchNorm + relu) with max-pooling (8, 16, 32
# filters), a bottleneck of 128, and a decoder that upsamples with `Conv2DTranspose` and
# **concatenates** the encoder's features of the same resolution (the skip connections) before its
# own convolution block; a 1×1 convolution with a sigmoid gives a probability per pixel.

# %%
from dltp.losses import dice_loss
from dltp.models.unet import build_unet, conv_block

print(inspect.getsource(conv_block))
print(inspect.getsource(build_unet))

# %% [markdown]
# The original recipe: Dice loss (1 − Dice), Adam, batch 4, 15 epochs (quick: 6 epochs with a larger
# step, 0.003).

# %%
keras.utils.set_random_seed(42)
unet = build_unet(circles.x_train.shape[1:])
unet.compile(optimizer=keras.optimizers.Adam(3e-3 if QUICK else 1e-3), loss=dice_loss,
             metrics=[metrics.dice_coefficient, metrics.iou])
history = unet.fit(circles.x_train, circles.y_train, validation_data=(circles.x_val, circles.y_val),
                   epochs=6 if QUICK else 15, batch_size=4, verbose=0).history
print(f"{unet.count_params():,} parameters; last epoch: validation Dice {history['val_dice_coefficient'][-1]:.4f}, "
      f"IoU {history['val_iou'][-1]:.4f} (the original: 0.9937 and 0.9875 at 128×128)")
plots.curves_figure([plots.train_and_validation(history, "loss"),
                     plots.train_and_validation(history, "dice_coefficient", ylabel="Dice")], "TP4 U-Net")
plt.savefig("figures/tp4_02.png")

# %%
probabilities = unet.predict(circles.x_val[:4], batch_size=4, verbose=0)
fig, axes = plt.subplots(3, 4, figsize=(9, 7))
for i in range(4):
    hard = (probabilities[i] > 0.5).astype("float32")
    for row, (image, title) in enumerate(((circles.x_val[i], "input"), (circles.y_val[i], "truth"),
                                          (probabilities[i], f"Dice {dice(circles.y_val[i], hard):.3f}"))):
        axes[row, i].imshow(image[..., 0], cmap="gray", **({} if row == 0 else {"vmin": 0, "vmax": 1}))
        axes[row, i].set_title(title, fontsize=9)
        axes[row, i].axis("off")
fig.tight_layout()
plt.savefig("figures/tp4_03.png")

# %% [markdown]
# ## 4. IoU vs Dice: the same error on objects of every size
#
# Erode a disc's true mask by 2 pixels and score the result: the same boundary error costs a small
# object much more than a large one, and IoU always drops more than Dice.
#
# **Exercise 2.** Both count the same pixels, so one determines the other: write `iou_from_dice(d)`.
# (Hint: with a = |P∩T| and s = |P| + |T|, Dice = 2a/s and IoU = a/(s − a).)

# %%
def iou_from_dice(d: float) -> float:
    ### BEGIN SOLUTION
    return d / (2 - d)
    ### END SOLUTION


# %%
from scipy import ndimage

from dltp.data.circles import disc_mask

rows = []
for radius in (3, 6, 12, 24, 48):
    disc = disc_mask(128, (64, 64), radius).astype("float32")
    eroded = ndimage.binary_erosion(disc, iterations=2).astype("float32")
    rows.append((radius, dice(disc, eroded), iou(disc, eroded)))
    assert abs(iou_from_dice(rows[-1][1]) - rows[-1][2]) < 1e-6
radii, dices, ious = zip(*rows)
fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.plot(radii, dices, "o-", label="Dice")
ax.plot(radii, ious, "s--", label="IoU")
ax.set_xscale("log", base=2)
ax.set_xlabel("disc radius (pixels)")
ax.set_ylabel("score of the 2-pixel erosion")
ax.legend()
ax.grid(alpha=0.3)
plt.savefig("figures/tp4_04.png")
print("\n".join(f"radius {r:2d}: Dice {d:.3f}, IoU {j:.3f}" for r, d, j in rows))

# %% [markdown]
# ## 5. 3D data: what a Conv3D costs
#
# The original network: Conv3D 16 (3×3×3, relu) → MaxPool3D → Conv3D 32 → MaxPool3D → Flatten →
# Dense 1 sigmoid, on 32³ volumes.

# %%
from dltp.models.conv3d import build_conv3d

print(inspect.getsource(build_conv3d))

# %% [markdown]
# Training keeps every layer's output for the backward pass, so activations, not weights, fill the
# memory of a 3D network.
#
# **Exercise 3.** Write `activation_megabytes(model, batch)`: the float32 bytes of every layer's
# output (`layer.output.shape`, whose first entry is the batch) for one batch, in MB (10⁶ bytes).

# %%
def activation_megabytes(model: keras.Model, batch: int) -> float:
    ### BEGIN SOLUTION
    values = sum(int(np.prod(layer.output.shape[1:])) for layer in model.layers)
    return 4 * batch * values / 1e6
    ### END SOLUTION


# %%
sides = (16, 32, 64, 96, 128)
memory = {s: activation_megabytes(build_conv3d((s, s, s, 1)), batch=4) for s in sides}
weights = {s: build_conv3d((s, s, s, 1)).count_params() * 4 / 1e6 for s in sides}
assert abs(memory[32] - 4 * 4 * (32**3 * (1 + 16) + 16**3 * (16 + 32) + 8**3 * 32 * 2 + 1) / 1e6) < 1e-6
fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.plot(sides, list(memory.values()), "o-", label="activations, batch 4")
ax.plot(sides, list(weights.values()), "s--", label="weights")
ax.set_xlabel("volume side (voxels)")
ax.set_ylabel("MB")
ax.set_yscale("log")
ax.legend()
ax.grid(alpha=0.3)
plt.savefig("figures/tp4_05.png")
print(", ".join(f"{s}³: {memory[s]:,.1f} MB" for s in sides))

# %% [markdown]
# ## 6. The Conv3D, trained for real: `dltp run tp4.conv3d`
#
# Noisy volumes holding a sphere or a cube *of the same volume*: the network must see the shape, not
# count voxels. The lab's run trains it, logs the architecture JSON and the measured metrics to the
# original's MLflow experiment (`3D_Volumetric_Analysis`), and scores held-out test volumes.

# %%
from dltp.data.volumes import load_volumes

sample = load_volumes(n_train=4, n_val=2, n_test=2, size=16 if QUICK else 32, seed=42)
fig, axes = plt.subplots(1, 4, figsize=(9, 2.4))
for ax, volume, label in zip(axes, sample.x_train, sample.y_train):
    ax.imshow(volume[..., 0].max(axis=0), cmap="gray")  # the brightest voxel along one axis
    ax.set_title(sample.class_names[label])
    ax.axis("off")
plt.savefig("figures/tp4_06.png")

# %%
import contextlib
import io

import mlflow
from IPython.display import Image, display

from dltp import registry
from dltp.config import RunConfig

log = io.StringIO()
with contextlib.redirect_stdout(log):  # what the run prints (every epoch) is kept in `log`
    conv3d = registry.get("tp4.conv3d").load()(RunConfig(quick=QUICK).for_experiment("tp4.conv3d"))
print({key: conv3d[key] for key in ("epochs", "parameters", "val_accuracy", "test_accuracy", "test_auc",
                                    "chance_accuracy", "target_met")})
display(Image(filename=mlflow.artifacts.download_artifacts(run_id=conv3d["run_id"],
                                                           artifact_path="training_curves.png"), width=640))

# %% [markdown]
# ## What this run showed

# %%
small, large = rows[0], rows[-1]
print(f"- The U-Net {'segments' if history['val_dice_coefficient'][-1] >= 0.9 else 'only begins to segment'} the "
      f"circles: validation Dice {history['val_dice_coefficient'][-1]:.3f}, IoU {history['val_iou'][-1]:.3f}.")
print(f"- IoU = Dice / (2 − Dice) ≤ Dice. The same 2-pixel erosion scores Dice {small[1]:.2f} / IoU {small[2]:.2f} "
      f"on a disc of radius {small[0]} and {large[1]:.2f} / {large[2]:.2f} at radius {large[0]}: both punish small "
      f"objects, IoU more.")
print(f"- A Conv3D's activations grow with the volume: {memory[32]:,.1f} MB at 32³ and {memory[128]:,.0f} MB at "
      f"128³ for a batch of 4, against {weights[32]:.2f} MB of weights. Hence small kernels, few filters, "
      f"patches and early down-sampling.")
shown = ("tells a sphere from a cube" if conv3d["target_met"]
         else f"falls short of its quick target ({conv3d['target']['checks']}) on {conv3d['backend']}")
print(f"- Trained for real, the Conv3D {shown}: test accuracy {conv3d['test_accuracy']:.3f} "
      f"(chance {conv3d['chance_accuracy']:.2f}).")
