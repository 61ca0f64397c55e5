"""TP5 ex. 1: an attention classifier whose attention can be checked.

Embedding → GRU(32, return_sequences) → additive (Bahdanau) attention → Dense 1 sigmoid, trained
on generated sentences whose label is decided by one token at a random position among
distractors (``dltp.data.text_task``). The original's label (parity of the sum of the word ids)
could not be learned, so its attention picture meant nothing; here the deciding position is
known, and the **attention focus** is measured from the weights the model really used:

- ``focus_top1``: share of test sentences whose highest attention weight is on the deciding token;
- ``focus_mean_weight``: mean attention weight on the deciding token (1/T would be uniform).

``goal_met`` says whether accuracy and focus meet the experiment's target (dltp.labs.targets).
``--attention-entropy`` sets the weight of the attention-entropy penalty added to the loss
(0 = the original layer's unregularised attention).
"""

from __future__ import annotations

import time

import keras
import numpy as np

from dltp import plots, tracking, training
from dltp.config import RunConfig, require_at_least_one
from dltp.data.text_task import KeyTokenTask, key_token_task, token_name
from dltp.errors import DltpError
from dltp.labs import targets
from dltp.labs.common import result
from dltp.models.attention import build_attention_classifier

EXPERIMENT = "tp5-attention"


def run(cfg: RunConfig) -> dict:
    keras.utils.set_random_seed(cfg.seed)
    seq_len, vocab = cfg.value("seq_len"), cfg.value("vocab_size")
    n_train, n_test = cfg.value("sentences"), cfg.value("test_sentences")
    penalty = cfg.value("attention_entropy")
    _check(seq_len, vocab, n_train, n_test, penalty)
    params = {
        "epochs": cfg.value("epochs"), "attention_entropy_penalty": penalty,
        "batch_size": cfg.value("batch_size"),
        "seq_len": seq_len, "vocab_size": vocab, "n_train": n_train, "n_test": n_test,
        "embed_dim": 16, "gru_units": 32, "attention_units": 32, "optimizer": "adam",
        "learning_rate": cfg.value("learning_rate"), "quick": cfg.quick,
    }

    # 1. Data: sentences whose label is decided by the token after a marker, at a random position
    task: KeyTokenTask = key_token_task(n_train + n_test, seq_len, vocab, seed=cfg.seed)
    x_tr, y_tr, pos_tr, x_te, y_te, pos_te = task.split(n_train)
    with tracking.run(EXPERIMENT, dltp_id="tp5.attention", run_name="tp5-attention", params=params,
                      data=task, seed=cfg.seed) as active:
        # 2. Model: Embedding → GRU → the custom additive attention layer → Dense 1 sigmoid
        model, inspector = build_attention_classifier(vocab, seq_len, params["embed_dim"], params["gru_units"],
                                                      params["attention_units"], penalty)
        model.compile(optimizer=keras.optimizers.Adam(params["learning_rate"]), loss="binary_crossentropy",
                      metrics=["accuracy"])

        # 3. Training: the last tenth of the training sentences for validation
        n_val = n_train // 10
        start = time.perf_counter()
        logger = training.fit(model, x_tr[:-n_val], y_tr[:-n_val], validation_data=(x_tr[-n_val:], y_tr[-n_val:]),
                              epochs=params["epochs"], batch_size=params["batch_size"], checkpoint=False)
        train_seconds = time.perf_counter() - start
        tracking.log_figure(plots.training_curves(logger.history, "TP5 attention classifier"), "training_curves.png")

        # 4. Evaluation: test accuracy, and the focus of the attention weights the model used
        probs, weights = inspector.predict(x_te, batch_size=1024, verbose=0)
        probs = probs[:, 0]
        accuracy = float(((probs > 0.5).astype(int) == y_te).mean())
        focus = attention_focus(weights, pos_te)
        tracking.log_metrics({"test_accuracy": accuracy, **focus})

        # 5. Visualisation: the attention weights of ten test sentences, the deciding token boxed
        shown = slice(0, 10)
        tracking.log_figure(heatmap(x_te[shown], weights[shown], pos_te[shown], y_te[shown], probs[shown],
                                    f"TP5 attention weights — top-1 focus {focus['focus_top1']:.3f}"),
                            "attention_heatmap.png")
        tracking.log_json({"tokens": x_te[shown].tolist(), "weights": weights[shown].tolist(),
                           "key_position": pos_te[shown].tolist(), "label": y_te[shown].tolist()},
                          "attention_examples.json")
        tracking.log_keras_model(model, "model")
        goal = bool(targets.judge("tp5.attention", {"test_accuracy": accuracy, **focus})["target_met"])
        tracking.log_metrics({"goal_met": float(goal)})
        return result("tp5.attention", active.info.run_id, task, epochs=params["epochs"],
                      test_accuracy=accuracy, **focus, goal_met=goal,
                      val_accuracy=logger.history["val_accuracy"][-1], train_seconds=train_seconds)


def _check(seq_len: int, vocab: int, n_train: int, n_test: int, penalty: float) -> None:
    if seq_len < 2 or seq_len > 1000:
        raise DltpError("--seq-len must be between 2 and 1000")
    if vocab < 5:
        raise DltpError("--vocab-size must be at least 5 (4 reserved ids + words)")
    if penalty < 0:
        raise DltpError("--attention-entropy must be ≥ 0")
    if n_train < 10:
        raise DltpError("--sentences must be at least 10 (a tenth of them validate)")
    require_at_least_one(test_sentences=n_test)


# --------------------------------------------------------------------------- measures and figures

def attention_focus(weights: np.ndarray, key_position: np.ndarray) -> dict:
    """Focus metrics from real attention weights (N, T) and the known deciding positions (N,)."""
    rows = np.arange(len(weights))
    return {"focus_top1": float((weights.argmax(axis=1) == key_position).mean()),
            "focus_mean_weight": float(weights[rows, key_position].mean()),
            "uniform_weight": 1.0 / weights.shape[1]}


def heatmap(task_x: np.ndarray, weights: np.ndarray, key_position: np.ndarray, labels, probs, title: str):
    """One row per sentence: its tokens over their attention weights, the deciding token boxed in red."""
    plt = plots.pyplot()

    n, t = weights.shape
    fig, ax = plt.subplots(figsize=(max(8, 0.6 * t), 0.6 * n + 1.5))
    im = ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0, vmax=max(weights.max(), 1e-6))
    for i in range(n):
        for j in range(t):
            ax.text(j, i, token_name(task_x[i, j]), ha="center", va="center", fontsize=6,
                    color="white" if weights[i, j] < 0.5 * weights.max() else "black")
        ax.add_patch(plt.Rectangle((key_position[i] - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
    ax.set_yticks(range(n), [f"y={labels[i]} p={probs[i]:.2f}" for i in range(n)], fontsize=7)
    ax.set_xticks(range(t))
    ax.set_xlabel("position (red box: the deciding token)")
    fig.colorbar(im, ax=ax, label="attention weight")
    ax.set_title(title)
    fig.tight_layout()
    return fig
