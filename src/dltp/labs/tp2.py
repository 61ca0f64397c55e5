"""TP2: diagnose a network, then improve it — four tracked exercises and their comparison.

The TP1 dense network (784 → Dense 512 relu → Dropout → Dense 10 softmax, batch 128) trains on an
explicit split: the first 54,000 training images, the last 6,000 for validation, the 10,000 test
images only for the final score.

- ``tp2.diagnose``: 15 epochs, diagnosed by the bias/variance rule (``dltp.labs.tp2_diagnosis``);
- ``tp2.regularize``: L2(0.001) + Dropout 0.5, 15 epochs, against the baseline's gap;
- ``tp2.optimizers``: SGD (lr 0.01, momentum 0.9), RMSprop and Adam, 10 epochs each;
- ``tp2.batchnorm``: BatchNormalization after the hidden Dense, 10 epochs, against the Adam run.

Every model is one MLflow run; an exercise (and ``dltp run tp2``, which trains the six models once)
is a parent run holding them as child runs, with a comparison table, overlay plots, and the answers
computed from the measured curves.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import keras
import mlflow
import numpy as np

from dltp import plots, tracking, training
from dltp.config import RunConfig
from dltp.data import ImageData, load_images
from dltp.errors import DltpError
from dltp.labs import targets
from dltp.labs.common import evaluate_classifier, flat_pixels, result, tag_target
from dltp.labs.tp2_diagnosis import (Comparison, Thresholds, answer, answer_tags, comparison_table, diagnose,
                                     diagnosis_markdown, diagnosis_pages, lab_figures)
from dltp.models.dense import build_dense
from dltp.models.optimizers import OPTIMIZERS

EXPERIMENT = "tp2-diagnose-improve"
BATCH_SIZE = 128
# The models of the lab, by name, and the models each exercise trains: its own, plus the control it is
# compared with. Each step below adds its own.
VARIANTS: dict[str, Variant] = {}
EXERCISES: dict[str, tuple[str, ...]] = {}


# --------------------------------------------------------------------------- 1. Data: the explicit split

@dataclass
class Prepared:
    data: ImageData
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray


def prepare(cfg: RunConfig) -> Prepared:
    data = load_images(cfg.dataset, default="mnist")
    if len(data.image_shape) != 3:
        raise DltpError(f"TP2 needs images; {data.name} has shape {data.image_shape}")
    split = cfg.value("split")  # [training, validation, test] images; None: the course's split
    if split:  # the first images for training, the next for validation (half and half of a smaller set)
        if min(split) < 1:
            raise DltpError("--split takes three counts of at least 1")
        n_train = min(split[0], len(data.x_train) // 2)
        n_val = min(split[1], len(data.x_train) - n_train)
        data = data.subset(n_train + n_val, split[2])
        x_train, y_train = data.x_train[:n_train], data.y_train[:n_train]
        x_val, y_val = data.x_train[n_train:], data.y_train[n_train:]
    else:
        x_train, y_train, x_val, y_val = data.train_val_split(0.1)
    return Prepared(data, flat_pixels(x_train), y_train, flat_pixels(x_val), y_val, flat_pixels(data.x_test))


# --------------------------------------------------------------------------- 2. Bias/variance (ex. 1)

@dataclass(frozen=True)
class Variant:
    """One model of the lab: the TP1 network with TP2's variations."""

    name: str
    exercise: str  # the dltp id whose question it answers first
    epochs: int  # the original recipe's budget
    optimizer: str = "adam"
    dropout: float = 0.2
    l2: float = 0.0
    batch_norm: bool = False
    learning_rate: float | None = None


# The TP1 model for 15 epochs, diagnosed by the rule
VARIANTS["baseline"] = Variant("baseline", "tp2.diagnose", 15)
EXERCISES["tp2.diagnose"] = ("baseline",)


def run_diagnose(cfg: RunConfig) -> dict:
    return _exercise("tp2.diagnose", cfg)


# --------------------------------------------------------------------------- 3. Regularisation (ex. 2)

# L2(0.001) on the hidden kernel + Dropout 0.5, 15 epochs: the gap against the baseline's
VARIANTS["regularized"] = Variant("regularized", "tp2.regularize", 15, dropout=0.5, l2=0.001)
EXERCISES["tp2.regularize"] = ("baseline", "regularized")


def run_regularize(cfg: RunConfig) -> dict:
    return _exercise("tp2.regularize", cfg)


# --------------------------------------------------------------------------- 4. Optimisers (ex. 3)

# One tracked run each, 10 epochs
VARIANTS.update({
    "sgd_momentum": Variant("sgd_momentum", "tp2.optimizers", 10, optimizer="sgd"),
    "rmsprop": Variant("rmsprop", "tp2.optimizers", 10, optimizer="rmsprop"),
    "adam": Variant("adam", "tp2.optimizers", 10, optimizer="adam"),
})
EXERCISES["tp2.optimizers"] = ("sgd_momentum", "rmsprop", "adam")


def make_optimizer(name: str, learning_rate: float | None = None):
    """The optimizers of TP2 ex. 3 with the original settings (SGD: lr 0.01, momentum 0.9;
    RMSprop and Adam: Keras defaults, lr 0.001)."""
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate or 0.01, momentum=0.9)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate or 0.001)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate or 0.001)
    raise DltpError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def run_optimizers(cfg: RunConfig) -> dict:
    return _exercise("tp2.optimizers", cfg)


# --------------------------------------------------------------------------- 5. BatchNorm (ex. 4)

# BatchNormalization after the hidden Dense, 10 epochs, against the same model without it (the Adam run)
VARIANTS["batchnorm"] = Variant("batchnorm", "tp2.batchnorm", 10, batch_norm=True)
EXERCISES["tp2.batchnorm"] = ("adam", "batchnorm")


def run_batchnorm(cfg: RunConfig) -> dict:
    return _exercise("tp2.batchnorm", cfg)


# --------------------------------------------------------------------------- 6. Comparison: one parent run

def run_lab(cfg: RunConfig) -> dict:
    """``dltp run tp2``: the six distinct models once, every exercise answered, one parent run."""
    names = list(dict.fromkeys(name for exercise in EXERCISES.values() for name in exercise))
    comparison = _run_group("tp2", names, cfg, list(EXERCISES))
    comparison.show()
    return result("tp2", comparison.run_id, comparison.data, **lab_figures(comparison.answers),
                  wall_seconds=comparison.wall_seconds,
                  **{exercise.split(".")[1]: figures for exercise, figures in comparison.answers.items()},
                  runs=comparison.runs())


def _exercise(dltp_id: str, cfg: RunConfig) -> dict:
    comparison = _run_group(dltp_id, list(EXERCISES[dltp_id]), cfg, [dltp_id])
    comparison.show()
    figures = dict(comparison.answers[dltp_id])
    child_run_id = figures.pop("run_id", None)
    return result(dltp_id, comparison.run_id, comparison.data, **figures,
                  **({"child_run_id": child_run_id} if child_run_id else {}),
                  runs=comparison.runs(), wall_seconds=comparison.wall_seconds)


def _run_group(dltp_id: str, names: list[str], cfg: RunConfig, exercises: list[str]) -> Comparison:
    """Parent run + one child run per model; the comparison and the answers on the parent."""
    if cfg.resume:
        raise DltpError("TP2 runs cannot be resumed; run them again (they are short)")
    thresholds = Thresholds.from_config(cfg)
    prepared = prepare(cfg)
    data = prepared.data
    print(f"TP2 on {data.name}: {len(prepared.x_train)} train / {len(prepared.x_val)} validation / "
          f"{len(prepared.x_test)} test", flush=True)
    params = {"variants": names, "quick": cfg.quick, "epochs": cfg.epochs, "bias_threshold": thresholds.bias,
              "variance_threshold": thresholds.variance, "val_accuracy_threshold": thresholds.val_accuracy}
    with tracking.Timer() as wall, tracking.run(EXPERIMENT, dltp_id=dltp_id, run_name=f"{dltp_id}-{data.name}",
                                                data=data, seed=cfg.seed, params=params) as parent:
        rows = train_all(names, prepared, cfg, thresholds, parent.info.run_id)
        answers = {exercise: answer(exercise, rows, thresholds) for exercise in exercises}
        table = log_comparison(list(rows.values()), thresholds, f"TP2 — {data.name}")
        comparison = Comparison(parent.info.run_id, data, rows, answers, table)
        for artifact, text in diagnosis_pages(rows, answers, thresholds).items():
            tracking.log_text(text, artifact)
        mlflow.set_tags(answer_tags(answers))
        for exercise, figures in answers.items():  # each exercise's target on the child runs that answer it
            verdict = targets.judge(exercise, {**figures, "dataset": data.name})
            for name in names:
                if VARIANTS[name].exercise == exercise:
                    tag_target(rows[name]["run_id"], verdict)
        tracking.log_json({"answers": answers, "rows": comparison.runs()}, "results.json")
        comparison.wall_seconds = wall.elapsed()
        tracking.log_metrics({"wall_seconds": comparison.wall_seconds})
    return comparison


# --------------------------------------------------------------------------- the model, trained and logged

def _epochs(v: Variant, cfg: RunConfig) -> int:
    return cfg.pick("epochs", v.epochs, v.epochs)


def _build(v: Variant, p: Prepared, cfg: RunConfig):
    keras.utils.set_random_seed(cfg.seed)
    optimizer = make_optimizer(v.optimizer, v.learning_rate)
    model = build_dense(p.x_train.shape[1], p.data.num_classes, dropout=v.dropout, l2=v.l2,
                        batch_norm=v.batch_norm, name=f"tp2_{v.name}")
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _params(v: Variant, p: Prepared, cfg: RunConfig, thresholds: Thresholds, model, epochs: int) -> dict:
    return {"variant": v.name, "epochs": epochs, "batch_size": cfg.pick("batch_size", BATCH_SIZE, BATCH_SIZE),
            "optimizer": v.optimizer,
            "learning_rate": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
            "momentum": 0.9 if v.optimizer == "sgd" else None, "dropout": v.dropout, "l2": v.l2,
            "batch_norm": v.batch_norm, "hidden_units": 512, "n_train": len(p.x_train),
            "n_val": len(p.x_val), "n_test": len(p.x_test), "quick": cfg.quick,
            "bias_threshold": thresholds.bias, "variance_threshold": thresholds.variance,
            "val_accuracy_threshold": thresholds.val_accuracy}


def same_training(a: Variant, b: Variant) -> bool:
    """Whether ``a`` and ``b`` differ at most in epochs and names: the shorter is the longer's first epochs."""
    return training.same_training(a, b, labels=("name", "exercise"))


def train_variant(variant: Variant, prepared: Prepared, cfg: RunConfig, thresholds: Thresholds, *,
                  epochs: int | None = None, parent_run_id: str | None = None, dltp_id: str | None = None,
                  experiment: str = EXPERIMENT, run_name: str | None = None, tags: dict | None = None,
                  callbacks=(), first_epochs_of: tuple[dict, list] | None = None) -> dict:
    """Train ``variant`` in its own MLflow run; return its measured figures, diagnosis and curves.

    ``first_epochs_of=(row, weights)``: ``variant`` is not trained but logged from the first epochs
    of ``row``, a run of the same training (``same_training``) that went on longer, and the
    ``weights`` it had then; training it would repeat those exact epochs."""
    epochs = epochs or _epochs(variant, cfg)
    model = _build(variant, prepared, cfg)
    params = _params(variant, prepared, cfg, thresholds, model, epochs)
    run_tags = {"tp2.variant": variant.name, **(tags or {})}
    if first_epochs_of is not None:
        run_tags["tp2.first_epochs_of"] = first_epochs_of[0]["run_id"]
    with tracking.run(experiment, dltp_id=dltp_id or variant.exercise, params=params, data=prepared.data,
                      run_name=run_name or f"{variant.name}-{prepared.data.name}", seed=cfg.seed,
                      parent_run_id=parent_run_id, tags=run_tags) as active:
        if first_epochs_of is None:
            with tracking.Timer() as fit_time:
                history = training.fit(model, prepared.x_train, prepared.y_train, epochs=epochs,
                                       validation_data=(prepared.x_val, prepared.y_val),
                                       batch_size=params["batch_size"], checkpoint=False,
                                       callbacks=list(callbacks)).history
            train_seconds = fit_time.seconds
        else:
            longer_row, weights = first_epochs_of
            history = training.replay_first_epochs(model, longer_row["history"], weights, epochs)
            train_seconds = float(sum(history["epoch_time_s"]))
        return _evaluate(variant, model, history, train_seconds, active.info.run_id, prepared, thresholds)


def train_all(names: list[str], p: Prepared, cfg: RunConfig, thresholds: Thresholds, parent_run_id: str) -> dict:
    """Every variant in ``names`` as a child run; a variant that is the first epochs of a longer
    one in the group (the 10-epoch Adam run and the 15-epoch baseline) is not trained twice."""
    train = functools.partial(train_variant, prepared=p, cfg=cfg, thresholds=thresholds, parent_run_id=parent_run_id)
    rows = training.train_sharing_first_epochs([VARIANTS[n] for n in names], train, same=same_training,
                                               epochs=lambda v: _epochs(v, cfg))
    return dict(zip(names, rows))


# --------------------------------------------------------------------------- evaluation and figures

def _evaluate(v: Variant, model, history: dict, train_seconds: float, run_id: str, p: Prepared,
              thresholds: Thresholds) -> dict:
    """Evaluate ``model`` and log the diagnosis of ``history`` to the active run; the row."""
    test = evaluate_classifier(model, p.x_test, p.data.y_test, p.data.class_names,
                               title=f"TP2 {v.name} — {p.data.name} test set")
    d = diagnose(history, thresholds)
    tracking.log_metrics({"gap": d["gap"], "best_epoch": d["best_epoch"], "best_val_loss": d["best_val_loss"],
                          "epochs_to_threshold": d["epochs_to_threshold"], "train_seconds": train_seconds})
    mlflow.set_tag("tp2.diagnosis", d["verdict"])
    tracking.log_text(diagnosis_markdown(v.name, d, thresholds), "diagnosis.md")
    tracking.log_figure(plots.training_curves(history, f"TP2 {v.name} — {p.data.name}"), "training_curves.png")
    print(f"  {v.name}: {d['verdict']}; train {d['train_accuracy']:.4f} val {d['val_accuracy']:.4f} "
          f"test {test['test_accuracy']:.4f}; val loss lowest at epoch {d['best_epoch']}", flush=True)
    return {"variant": v.name, "run_id": run_id, "optimizer": v.optimizer, "dropout": v.dropout, "l2": v.l2,
            "batch_norm": v.batch_norm, **d, "test_accuracy": test["test_accuracy"],
            "test_loss": test["test_loss"], "epoch_time_s": float(np.mean(history["epoch_time_s"])),
            "train_seconds": train_seconds, "history": {k: list(vs) for k, vs in history.items()}}


def log_comparison(rows: list[dict], thresholds: Thresholds, title: str) -> str:
    """Table (Markdown + CSV) and overlay plots as artifacts of the active (parent) run."""
    md, csv_text = comparison_table(rows, thresholds)
    tracking.log_text(md, "comparison.md")
    tracking.log_text(csv_text, "comparison.csv")
    histories = {r["variant"]: r["history"] for r in rows}
    validation = {"val_accuracy": "validation accuracy", "val_loss": "validation loss"}
    tracking.log_figure(plots.overlay(histories, validation, title), "overlay_validation.png")
    diagnosed = {f"{r['variant']} ({r['verdict']})": r["history"] for r in rows}
    tracking.log_figure(plots.train_vs_validation(diagnosed, "accuracy", title), "train_vs_val.png")
    return md
