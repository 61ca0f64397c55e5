"""TP1's questions, measured: full-batch gradient descent vs plain SGD (batch 1) vs mini-batches.

The same network, data and optimizer (plain SGD, one learning rate) train for the same wall-time
budget with four batch sizes. Each variant logs its training throughput (what vectorisation buys:
a batch of 128 is one matrix product instead of 128 vector products) and the validation loss it
reached, evaluated on a fixed set at regular points of *training* time (evaluation is not
counted). The loss-vs-time plot answers "GD, SGD or mini-batch?" with numbers.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from dltp import plots, tracking
from dltp.config import RunConfig
from dltp.data import load_images
from dltp.errors import DltpError
from dltp.labs.common import flat_pixels, result
from dltp.models.dense import build_dense

EXPERIMENT = "tp1-batching"
LEARNING_RATE = 0.05


def _variants(n_train: int) -> list[tuple[str, int]]:
    return [("full-batch GD", n_train), ("SGD (batch 1)", 1), ("mini-batch 32", 32), ("mini-batch 128", 128)]


def train_for(model, x, y, x_eval, y_eval, batch_size: int, budget_s: float, checkpoints: int, rng):
    """Train with ``batch_size`` until ``budget_s`` seconds of training time; return the curve."""
    curve = [(0.0, *model.evaluate(x_eval, y_eval, batch_size=2048, verbose=0))]
    next_eval = budget_s / checkpoints
    trained_s, samples, order, pos = 0.0, 0, rng.permutation(len(x)), 0
    while trained_s < budget_s:
        if pos >= len(order):
            order, pos = rng.permutation(len(x)), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        start = time.perf_counter()
        model.train_on_batch(x[idx], y[idx])
        trained_s += time.perf_counter() - start
        samples += len(idx)
        if trained_s >= next_eval or trained_s >= budget_s:
            curve.append((trained_s, *model.evaluate(x_eval, y_eval, batch_size=2048, verbose=0)))
            next_eval += budget_s / checkpoints
    return curve, samples / trained_s


def run(cfg: RunConfig) -> dict:
    keras.utils.set_random_seed(cfg.seed)
    data = load_images(cfg.dataset, default="mnist")
    x_train, y_train, x_val, y_val = data.train_val_split(0.1)
    x_tr, x_va = flat_pixels(x_train), flat_pixels(x_val[:2000])
    y_va = y_val[:2000]
    budget = cfg.value("budget_s")
    if not 0 < budget <= 3600:
        raise DltpError("--budget-s must be between 0 and 3600 seconds")
    params = {"budget_s_per_variant": budget, "optimizer": "sgd", "learning_rate": LEARNING_RATE,
              "n_train": len(x_tr), "n_eval": len(x_va), "quick": cfg.quick}
    measured, curves = {}, {}
    with tracking.run(EXPERIMENT, dltp_id="tp1.batching", run_name=f"tp1-batching-{data.name}",
                      params=params, data=data, seed=cfg.seed) as active:
        for name, batch_size in _variants(len(x_tr)):
            keras.utils.set_random_seed(cfg.seed)  # same initial weights for every variant
            model = build_dense(784, data.num_classes)
            initial = model.get_weights()
            # Plain SGD keeps no state, so a warm-up step (tracing, allocation) can be undone.
            model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            model.train_on_batch(x_tr[:min(batch_size, 256)], y_train[:min(batch_size, 256)])
            model.set_weights(initial)
            curve, samples_per_s = train_for(model, x_tr, y_train, x_va, y_va, batch_size, budget,
                                             checkpoints=4 if cfg.quick else 10, rng=np.random.default_rng(cfg.seed))
            key = name.split(" (")[0].replace(" ", "_").replace("-", "_").lower()
            if batch_size == 1:
                key = "sgd_batch1"
            figures = {
                "batch_size": batch_size,
                "samples_per_s": samples_per_s,
                "epoch_time_s": len(x_tr) / samples_per_s,
                "val_loss_at_budget": curve[-1][1],
                "val_accuracy_at_budget": curve[-1][2],
            }
            tracking.log_metrics({f"{key}.{k}": v for k, v in figures.items()})
            measured[key] = figures
            curves[name] = curve
        fig, axes = plots.pyplot().subplots(1, 2, figsize=(10, 3.8))
        for name, curve in curves.items():
            seconds, loss, acc = zip(*curve)
            axes[0].plot(seconds, loss, "o-", label=name)
            axes[1].plot(seconds, acc, "o-", label=name)
        for ax, label in zip(axes, ("validation loss", "validation accuracy")):
            ax.set_xlabel("training time (s)")
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
        axes[0].set_yscale("log")
        axes[1].legend()
        fig.suptitle(f"Same network, same optimizer (SGD lr {LEARNING_RATE}), {budget:g} s each — {data.name}")
        fig.tight_layout()
        tracking.log_figure(fig, "loss_vs_time.png")
        tracking.log_json({name: [list(p) for p in c] for name, c in curves.items()}, "curves.json")
        return result("tp1.batching", active.info.run_id, data, budget_s=budget, **{
            f"{k}_{m}": v for k, figs in measured.items() for m, v in figs.items() if m != "batch_size"})

