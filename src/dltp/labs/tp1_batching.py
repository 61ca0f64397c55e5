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
from dltp.config import RunConfig, require_at_least_one
from dltp.data import load_images
from dltp.errors import DltpError
from dltp.labs.common import flat_pixels, result
from dltp.models.dense import build_dense

EXPERIMENT = "tp1-batching"


def run(cfg: RunConfig) -> dict:
    keras.utils.set_random_seed(cfg.seed)
    budget, eval_points, eval_images = cfg.value("budget_s"), cfg.value("eval_points"), cfg.value("eval_images")
    if not 0 < budget <= 3600:
        raise DltpError("--budget-s must be between 0 and 3600 seconds")
    require_at_least_one(eval_points=eval_points, eval_images=eval_images)
    learning_rate = cfg.value("learning_rate")

    # 1. Data: MNIST pixels flattened to [0, 1]; the loss is measured on a fixed validation set
    data = load_images(cfg.dataset, default="mnist")
    x_train, y_train, x_val, y_val = data.train_val_split(0.1)
    x_tr = flat_pixels(x_train)
    x_va, y_va = flat_pixels(x_val[:eval_images]), y_val[:eval_images]
    params = {"budget_s_per_variant": budget, "optimizer": "sgd", "learning_rate": learning_rate,
              "n_train": len(x_tr), "n_eval": len(x_va), "quick": cfg.quick}
    measured, curves = {}, {}
    with tracking.run(EXPERIMENT, dltp_id="tp1.batching", run_name=f"tp1-batching-{data.name}",
                      params=params, data=data, seed=cfg.seed) as active:
        for name, batch_size in _variants(len(x_tr)):
            # 2. Model: TP1's dense network, the same initial weights and plain SGD for every variant
            keras.utils.set_random_seed(cfg.seed)
            model = build_dense(x_tr.shape[1], data.num_classes)
            model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            _warm_up(model, x_tr, y_train, batch_size)

            # 3. Training: the same wall-time budget for every batch size
            curve, samples_per_s = train_for(model, x_tr, y_train, x_va, y_va, batch_size, budget,
                                             checkpoints=eval_points, rng=np.random.default_rng(cfg.seed))

            # 4. Evaluation: throughput, and the validation loss and accuracy reached in the budget
            figures = {
                "batch_size": batch_size,
                "samples_per_s": samples_per_s,
                "epoch_time_s": len(x_tr) / samples_per_s,
                "val_loss_at_budget": curve[-1][1],
                "val_accuracy_at_budget": curve[-1][2],
            }
            key = _key(name, batch_size)
            tracking.log_metrics({f"{key}.{k}": v for k, v in figures.items()})
            measured[key] = figures
            curves[name] = curve

        # 5. Comparison: validation loss and accuracy against training time, one curve per batch size
        tracking.log_figure(loss_vs_time_figure(curves, f"Same network, same optimizer (SGD lr {learning_rate}), "
                                                        f"{budget:g} s each — {data.name}"), "loss_vs_time.png")
        tracking.log_json({name: [list(p) for p in c] for name, c in curves.items()}, "curves.json")
        return result("tp1.batching", active.info.run_id, data, budget_s=budget, **{
            f"{k}_{m}": v for k, figs in measured.items() for m, v in figs.items() if m != "batch_size"})


# --------------------------------------------------------------------------- the four variants

def _variants(n_train: int) -> list[tuple[str, int]]:
    return [("full-batch GD", n_train), ("SGD (batch 1)", 1), ("mini-batch 32", 32), ("mini-batch 128", 128)]


def _key(name: str, batch_size: int) -> str:
    """The variant's name in metric and JSON keys: full_batch_gd, sgd_batch1, mini_batch_32, ..."""
    if batch_size == 1:
        return "sgd_batch1"
    return name.split(" (")[0].replace(" ", "_").replace("-", "_").lower()


def _warm_up(model, x, y, batch_size: int) -> None:
    """One step (tracing, allocation) kept out of the timed budget, then undone: plain SGD keeps no
    state, so restoring the weights restores the model."""
    initial = model.get_weights()
    model.train_on_batch(x[:min(batch_size, 256)], y[:min(batch_size, 256)])
    model.set_weights(initial)


def train_for(model, x, y, x_eval, y_eval, batch_size: int, budget_s: float, checkpoints: int, rng):
    """Train with ``batch_size`` until ``budget_s`` seconds of training time; return the curve of
    (seconds, validation loss, validation accuracy) at ``checkpoints`` evenly spaced times, and the
    training throughput in samples per second."""
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


def loss_vs_time_figure(curves: dict[str, list[tuple]], title: str):
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
    fig.suptitle(title)
    fig.tight_layout()
    return fig
