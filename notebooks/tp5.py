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
# # TP5 — sequences and attention
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dltp-course/dltp/blob/main/notebooks/tp5.ipynb)
#
# Two exercises. First, a text classifier with **additive (Bahdanau) attention** on a task where the
# right answer sits at a known position, so that we can *check* where the model looks (the original's
# label, the parity of the sum of the word ids, could not be learned, so its attention picture meant
# nothing). Second, a **seq2seq forecaster** with cross-attention, evaluated honestly: predicting
# autoregressively (the original fed the true future to the decoder) and against naive forecasts.

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
# ## 1. Sentences with a deciding token
#
# A marker `»` sits at a random position; the word right after it, `GOOD` or `BAD`, decides the
# label. Elsewhere: ordinary words and decoy `GOOD`/`BAD`s that decide nothing.

# %%
from dltp.data.text_task import key_token_task, token_name

n_train, n_test = (2000, 500) if QUICK else (4000, 1000)
task = key_token_task(n_train + n_test, seq_len=20, vocab_size=30, seed=42)
x_train, y_train, key_train, x_test, y_test, key_test = task.split(n_train)
for i in range(3):
    print(f"label {y_train[i]}, deciding position {key_train[i]:2d}: " + " ".join(token_name(t) for t in x_train[i]))

# %% [markdown]
# ## 2. Additive attention
#
# For the GRU's states h₁ … h_T: score_t = v · tanh(W h_t + b), weights a = softmax(scores), and the
# context Σ a_t h_t goes to the classifier. dltp's layer (keras.ops only, so every backend runs it):

# %%
from dltp.models.attention import AdditiveAttention, build_attention_classifier

print(inspect.getsource(AdditiveAttention.call))

# %% [markdown]
# **Exercise 1.** Write the same computation in NumPy for one sequence: `states` (T, D), `W` (D, U),
# `b` (U,), `v` (U,) → (context (D,), weights (T,)).

# %%
def additive_attention(states, W, b, v):
    ### BEGIN SOLUTION
    scores = np.tanh(states @ W + b) @ v
    weights = np.exp(scores - scores.max())
    weights /= weights.sum()
    return weights @ states, weights
    ### END SOLUTION


# %%
layer = AdditiveAttention(8)
states = np.random.default_rng(0).normal(size=(1, 5, 4)).astype("float32")
context, weights = (keras.ops.convert_to_numpy(t) for t in layer(states))
mine_context, mine_weights = additive_attention(states[0], *(keras.ops.convert_to_numpy(w) for w in
                                                             (layer.W, layer.b, layer.v)))
assert np.allclose(mine_weights, weights[0], atol=1e-5) and np.allclose(mine_context, context[0], atol=1e-5)
print("additive_attention: ok")

# %% [markdown]
# The classifier: Embedding → GRU(32, all states) → additive attention → Dense 1 sigmoid. A small
# penalty on the entropy of the weights (0.02) makes the attention pick one state: a one-way GRU
# carries the answer to every state after the deciding token, so without it the weights may spread
# over all of them. `inspector` shares the layers and also returns the weights the prediction used.

# %%
print(inspect.getsource(build_attention_classifier))
keras.utils.set_random_seed(42)
model, inspector = build_attention_classifier(30, 20, entropy_penalty=0.02)
model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, validation_split=0.1, epochs=6 if QUICK else 10, batch_size=64,
                    verbose=0).history
probabilities, attention = inspector.predict(x_test, batch_size=1024, verbose=0)
accuracy = float(np.mean((probabilities[:, 0] > 0.5) == y_test))
print(f"test accuracy {accuracy:.3f}")

# %% [markdown]
# **Exercise 2 — is it looking at the right word?** Write `focus(weights, key_position)`: the share of
# sentences whose largest attention weight is on the deciding token.

# %%
def focus(weights: np.ndarray, key_position: np.ndarray) -> float:
    ### BEGIN SOLUTION
    return float(np.mean(weights.argmax(axis=1) == key_position))
    ### END SOLUTION


# %%
assert focus(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5
top1 = focus(attention, key_test)
print(f"attention on the deciding token for {top1:.1%} of the test sentences "
      f"(mean weight there {attention[np.arange(len(key_test)), key_test].mean():.3f}; uniform would be 0.05)")

fig, ax = plt.subplots(figsize=(11, 3.6))
shown = attention[:8]
ax.imshow(shown, cmap="viridis", aspect="auto")
for i in range(len(shown)):
    for j in range(shown.shape[1]):
        ax.text(j, i, token_name(x_test[i, j]), ha="center", va="center", fontsize=6,
                color="white" if shown[i, j] < 0.5 * shown.max() else "black")
    ax.add_patch(plt.Rectangle((key_test[i] - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
ax.set_xlabel("position (red: the deciding token)")
ax.set_yticks(range(len(shown)), [f"label {y}" for y in y_test[:8]])
ax.set_title("attention weights")
plt.savefig("figures/tp5_01.png")

# %% [markdown]
# ## 3. Seq2seq forecasting
#
# The original series: 0.5 sin(t/20) + 0.3 sin(t/10) + 0.2 t/N + noise, 2,000 points; 50 steps in,
# 10 out; the first 80 % trains (windows scaled with the training part's statistics only).

# %%
from dltp.data.series import make_windows, naive_forecasts, synthetic
from dltp.models.seq2seq import build_seq2seq, predict_autoregressive, teacher_forced_inputs

series = synthetic(2000, seed=42)
windows = make_windows(series.values, 50, 10, name=series.name)
print(f"{len(windows.x_train)} training windows, {len(windows.x_test)} test windows; season {series.season} steps")
print(inspect.getsource(build_seq2seq))

# %% [markdown]
# Training uses **teacher forcing**: the decoder's input at step k is the true value at step k − 1.
# At prediction time the future is unknown, so `predict_autoregressive` feeds the decoder its own
# previous outputs. Feeding it the true future instead — what the original did — is a leak.

# %%
keras.utils.set_random_seed(42)
forecaster, forecaster_inspector = build_seq2seq(50, 10)
forecaster.compile(optimizer=keras.optimizers.Adam(3e-3 if QUICK else 1e-3), loss="mse")
forecaster.fit([windows.x_train, teacher_forced_inputs(windows.x_train, windows.y_train)], windows.y_train,
               epochs=6 if QUICK else 20, batch_size=64, verbose=0)
truth = windows.unscale(windows.y_test[..., 0])
honest = windows.unscale(predict_autoregressive(forecaster_inspector, windows.x_test, 10)[0][..., 0])
leaked = windows.unscale(forecaster.predict([windows.x_test, teacher_forced_inputs(windows.x_test, windows.y_test)],
                                            batch_size=512, verbose=0)[..., 0])
naive, seasonal = naive_forecasts(series.values, windows.test_origins, 10, series.season)

# %% [markdown]
# **Exercise 3.** Write `mase(truth, forecast, baseline)`: the forecast's mean absolute error divided
# by the baseline's on the same windows (below 1: the forecast beats the baseline).

# %%
def mase(truth: np.ndarray, forecast: np.ndarray, baseline: np.ndarray) -> float:
    ### BEGIN SOLUTION
    return float(np.abs(forecast - truth).mean() / np.abs(baseline - truth).mean())
    ### END SOLUTION


# %%
assert mase(np.zeros(4), np.ones(4), 2 * np.ones(4)) == 0.5
scores = {"autoregressive": mase(truth, honest, seasonal), "teacher-forced (leak)": mase(truth, leaked, seasonal),
          "naive (last value)": mase(truth, naive, seasonal)}
print("\n".join(f"MASE vs seasonal naive, {name}: {value:.3f}" for name, value in scores.items()))

fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
for ax, i in zip(axes, np.linspace(0, len(truth) - 1, 3).astype(int)):
    t = windows.test_origins[i]
    ax.plot(np.arange(t - 50, t), series.values[t - 50:t], color="grey", label="input")
    ax.plot(np.arange(t, t + 10), truth[i], "k.-", label="truth")
    ax.plot(np.arange(t, t + 10), honest[i], "o-", label="autoregressive")
    ax.plot(np.arange(t, t + 10), seasonal[i], ":", label="seasonal naive")
    ax.set_title(f"origin t = {t}")
axes[0].legend(fontsize=7)
fig.tight_layout()
plt.savefig("figures/tp5_02.png")

# %% [markdown]
# ## 4. The same exercise, tracked: `dltp run tp5.attention`

# %%
import contextlib
import io

from dltp import registry
from dltp.config import RunConfig

log = io.StringIO()
with contextlib.redirect_stdout(log):  # what the run prints (every epoch) is kept in `log`
    tracked = registry.get("tp5.attention").load()(RunConfig(quick=QUICK).for_experiment("tp5.attention"))
print({key: tracked[key] for key in ("test_accuracy", "focus_top1", "focus_mean_weight", "target_met")})

# %% [markdown]
# ## What this run showed

# %%
print(f"- The attention classifier is right on {accuracy:.1%} of the test sentences and puts its largest weight on "
      f"the deciding token for {top1:.1%} of them: its attention can be checked, and "
      f"{'it points at the answer' if top1 >= 0.9 else 'here it does not point at the answer'}.")
print(f"- The honest (autoregressive) forecast has MASE {scores['autoregressive']:.2f} against the seasonal-naive "
      f"forecast ({'it beats it' if scores['autoregressive'] < 1 else 'it does not beat it'}); fed the true future, "
      f"the same model would have reported {scores['teacher-forced (leak)']:.2f}, the leak the original measured.")
