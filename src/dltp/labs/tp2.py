"""TP2: diagnose a network, then improve it — four tracked experiments and their comparison.

The TP1 dense network (784 → Dense 512 relu → Dropout → Dense 10 softmax, batch 128) is trained on
an explicit split: the first 54,000 training images for training, the last 6,000 for validation,
the 10,000 test images only for the final score.

- ``tp2.diagnose``: the TP1 model for 15 epochs, diagnosed with the bias/variance rule
  (train accuracy < 0.90 → high bias; train − val gap > 0.02 → high variance; else balanced)
  and the epoch where the validation loss was lowest.
- ``tp2.regularize``: L2(0.001) on the hidden kernel + Dropout 0.5, 15 epochs, diagnosed the same
  way and compared with the unregularised baseline (the gap change).
- ``tp2.optimizers``: SGD (lr 0.01, momentum 0.9), RMSprop and Adam, 10 epochs each.
- ``tp2.batchnorm``: BatchNormalization after the hidden Dense, 10 epochs, compared with the same
  model without it (the Adam run): does it reach 98 % of the better model's best validation
  accuracy in fewer epochs? (``--val-threshold 0.975``: the original fixed MNIST threshold.)

Every trained model is one MLflow run. An exercise that compares models (and ``dltp run tp2``,
which trains the six distinct models once) is a parent run holding them as child runs, with a
comparison table (Markdown + CSV) and overlay plots.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import keras
import mlflow
import numpy as np

from dltp import plots, tables, tracking, training
from dltp.config import RunConfig
from dltp.data import ImageData, load_images
from dltp.errors import DltpError
from dltp.labs import targets
from dltp.labs.common import evaluate_classifier, flat_pixels, result, tag_target
from dltp.models.dense import build_dense
from dltp.models.optimizers import OPTIMIZERS

EXPERIMENT = "tp2-diagnose-improve"
# Quick: a small problem with the full epochs. 600 training images are few enough for the
# unregularised 512-unit network to overfit them (high variance, the lesson of ex. 1-2) and cheap
# enough for six models; 600 more for validation (a 60-image split would move 1.7 % per image).
QUICK_SPLIT = (600, 600)
QUICK_TEST = 1_000
BATCH_SIZE = 128
# BatchNorm's question on any dataset: the epochs each model needs to reach this share of the
# better model's best validation accuracy (--val-threshold gives the original absolute 0.975 instead).
RELATIVE_LEVEL = 0.98


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


VARIANTS = {
    "baseline": Variant("baseline", "tp2.diagnose", 15),
    "regularized": Variant("regularized", "tp2.regularize", 15, dropout=0.5, l2=0.001),
    "sgd_momentum": Variant("sgd_momentum", "tp2.optimizers", 10, optimizer="sgd"),
    "rmsprop": Variant("rmsprop", "tp2.optimizers", 10, optimizer="rmsprop"),
    "adam": Variant("adam", "tp2.optimizers", 10, optimizer="adam"),
    "batchnorm": Variant("batchnorm", "tp2.batchnorm", 10, batch_norm=True),
}

# The models each exercise trains: its own, plus the control it is compared with.
EXERCISES = {
    "tp2.diagnose": ("baseline",),
    "tp2.regularize": ("baseline", "regularized"),
    "tp2.optimizers": ("sgd_momentum", "rmsprop", "adam"),
    "tp2.batchnorm": ("adam", "batchnorm"),
}


# --------------------------------------------------------------------------------------------
# Diagnosis as code
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Thresholds:
    bias: float = 0.90  # train accuracy below this → high bias
    variance: float = 0.02  # train − validation accuracy above this → high variance
    val_accuracy: float = 0.975  # epochs-to-threshold counts epochs until validation reaches this
    absolute: bool = False  # BatchNorm judged on val_accuracy (True) or on RELATIVE_LEVEL of the best

    @classmethod
    def from_config(cls, cfg: RunConfig) -> "Thresholds":
        given = cfg.value("val_threshold")
        t = cls(cfg.value("bias_threshold"), cfg.value("variance_threshold"),
                float(given if given is not None else cls.val_accuracy), absolute=given is not None)
        for name, value in asdict(t).items():
            if name != "absolute" and not 0.0 <= value <= 1.0:
                raise DltpError(f"the {name} threshold must be between 0 and 1, got {value}")
        return t


def diagnose(history: dict[str, list[float]], thresholds: Thresholds = Thresholds()) -> dict:
    """The bias/variance rule applied to measured curves (last epoch), plus where the
    validation loss was lowest and how many epochs it took to reach the validation threshold."""
    train_acc, val_acc = history["accuracy"][-1], history["val_accuracy"][-1]
    gap = train_acc - val_acc
    high_bias = train_acc < thresholds.bias
    high_variance = gap > thresholds.variance
    verdict = "high bias" if high_bias else "high variance" if high_variance else "balanced"
    val_loss = history["val_loss"]
    best = int(np.argmin(val_loss))
    reached = [i + 1 for i, v in enumerate(history["val_accuracy"]) if v >= thresholds.val_accuracy]
    return {
        "verdict": verdict,
        "high_bias": bool(high_bias),
        "high_variance": bool(high_variance),
        "train_accuracy": float(train_acc),
        "val_accuracy": float(val_acc),
        "gap": float(gap),
        "best_epoch": best + 1,
        "best_val_loss": float(val_loss[best]),
        "final_val_loss": float(val_loss[-1]),
        "val_loss_rose_after_best": bool(best + 1 < len(val_loss) and val_loss[-1] > val_loss[best]),
        "epochs_to_threshold": reached[0] if reached else None,
        "epochs": len(val_loss),
    }


def diagnosis_markdown(name: str, d: dict, thresholds: Thresholds, baseline: dict | None = None) -> str:
    lines = [
        f"# Diagnosis: {name}",
        "",
        f"**Verdict: {d['verdict']}**",
        "",
        f"- rule: train accuracy < {thresholds.bias:g} → high bias; train − val gap > "
        f"{thresholds.variance:g} → high variance; else balanced",
        f"- train accuracy {d['train_accuracy']:.4f}, validation accuracy {d['val_accuracy']:.4f}, "
        f"gap {d['gap']:+.4f} (last of {d['epochs']} epochs)",
        f"- validation loss lowest at epoch {d['best_epoch']} ({d['best_val_loss']:.4f}); last epoch "
        f"{d['final_val_loss']:.4f}" + (" — rising after the best epoch: overfitting"
                                        if d["val_loss_rose_after_best"] else ""),
        f"- validation accuracy ≥ {thresholds.val_accuracy:g}: "
        + (f"first at epoch {d['epochs_to_threshold']}" if d["epochs_to_threshold"] else "never reached"),
    ]
    if baseline is not None:
        lines.append(f"- against the baseline: gap {baseline['gap']:+.4f} → {d['gap']:+.4f} "
                     f"(change {d['gap'] - baseline['gap']:+.4f})")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Training one variant = one MLflow run
# --------------------------------------------------------------------------------------------

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
    if cfg.quick:  # 600 training images, the next 600 for validation (half and half of a smaller set)
        n_train = min(QUICK_SPLIT[0], len(data.x_train) // 2)
        n_val = min(QUICK_SPLIT[1], len(data.x_train) - n_train)
        data = data.subset(n_train + n_val, QUICK_TEST)
        x_train, y_train = data.x_train[:n_train], data.y_train[:n_train]
        x_val, y_val = data.x_train[n_train:], data.y_train[n_train:]
    else:
        x_train, y_train, x_val, y_val = data.train_val_split(0.1)
    return Prepared(data, flat_pixels(x_train), y_train, flat_pixels(x_val), y_val, flat_pixels(data.x_test))


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
    """Whether ``a`` and ``b`` differ at most in epochs (and names): ``training.same_training``."""
    return training.same_training(a, b, labels=("name", "exercise"))


def _record(v: Variant, model, history: dict, train_seconds: float, run_id: str, p: Prepared,
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


def train_variant(v: Variant, p: Prepared, cfg: RunConfig, thresholds: Thresholds, *,
                  epochs: int | None = None, parent_run_id: str | None = None, dltp_id: str | None = None,
                  experiment: str = EXPERIMENT, run_name: str | None = None, tags: dict | None = None,
                  callbacks=(), first_epochs_of: tuple[dict, list] | None = None) -> dict:
    """Train ``v`` in its own MLflow run; return its measured figures, diagnosis and curves.

    ``first_epochs_of=(row, weights)``: ``v`` is not trained but logged from the first epochs of
    ``row``, a run of the same training (``same_training``) that went on longer, and the
    ``weights`` it had then; training ``v`` would repeat those exact epochs."""
    epochs = epochs or _epochs(v, cfg)
    model = _build(v, p, cfg)
    params = _params(v, p, cfg, thresholds, model, epochs)
    run_tags = {"tp2.variant": v.name, **(tags or {})}
    if first_epochs_of is not None:
        run_tags["tp2.first_epochs_of"] = first_epochs_of[0]["run_id"]
    with tracking.run(experiment, dltp_id=dltp_id or v.exercise, run_name=run_name or f"{v.name}-{p.data.name}",
                      params=params, data=p.data, seed=cfg.seed, parent_run_id=parent_run_id, tags=run_tags) as active:
        if first_epochs_of is None:
            with tracking.Timer() as timer:
                history = training.fit(model, p.x_train, p.y_train, validation_data=(p.x_val, p.y_val),
                                       epochs=epochs, batch_size=params["batch_size"], checkpoint=False,
                                       callbacks=list(callbacks)).history
            train_seconds = timer.seconds
        else:
            longer, weights = first_epochs_of
            history = training.replay_first_epochs(model, longer["history"], weights, epochs)
            train_seconds = float(sum(history["epoch_time_s"]))
        return _record(v, model, history, train_seconds, active.info.run_id, p, thresholds)


def train_all(names: list[str], p: Prepared, cfg: RunConfig, thresholds: Thresholds, parent_run_id: str) -> dict:
    """Every variant in ``names`` as a child run; a variant that is the first epochs of a longer
    one in the group (the 10-epoch Adam run and the 15-epoch baseline) is not trained twice."""
    rows = training.train_sharing_first_epochs(
        [VARIANTS[n] for n in names], epochs=lambda v: _epochs(v, cfg), same=same_training,
        train=lambda v, callbacks: train_variant(v, p, cfg, thresholds, parent_run_id=parent_run_id,
                                                 callbacks=callbacks),
        reuse=lambda v, longer, weights: train_variant(v, p, cfg, thresholds, parent_run_id=parent_run_id,
                                                       first_epochs_of=(longer, weights)))
    return dict(zip(names, rows))


# --------------------------------------------------------------------------------------------
# Comparison: table and overlay plots
# --------------------------------------------------------------------------------------------

TABLE_COLUMNS = ("variant", "optimizer", "dropout", "l2", "batch_norm", "train_accuracy", "val_accuracy",
                 "test_accuracy", "gap", "best_epoch", "best_val_loss", "epochs_to_threshold", "epoch_time_s",
                 "verdict")


def comparison_table(rows: list[dict], thresholds: Thresholds) -> tuple[str, str]:
    """(Markdown, CSV) of every run side by side."""
    header = [c if c != "epochs_to_threshold" else f"epochs_to_val_{thresholds.val_accuracy:g}" for c in TABLE_COLUMNS]
    cells = [[r.get(c) for c in TABLE_COLUMNS] for r in rows]
    return tables.markdown(header, cells), tables.csv_text(header, cells)


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


# --------------------------------------------------------------------------------------------
# The lab's questions, answered from the measured rows
# --------------------------------------------------------------------------------------------

def _figures(r: dict) -> dict:
    keys = ("run_id", "verdict", "train_accuracy", "val_accuracy", "test_accuracy", "gap", "best_epoch",
            "best_val_loss", "val_loss_rose_after_best", "epochs_to_threshold", "epoch_time_s")
    return {k: r[k] for k in keys}


def answer(exercise: str, rows: dict[str, dict], thresholds: Thresholds) -> dict:
    """The measured figures that answer ``exercise``'s question."""
    if exercise == "tp2.diagnose":
        return _figures(rows["baseline"])
    if exercise == "tp2.regularize":
        base, reg = rows["baseline"], rows["regularized"]
        return {**_figures(reg), "baseline_gap": base["gap"], "gap_change": reg["gap"] - base["gap"],
                "baseline_verdict": base["verdict"], "test_accuracy_change": reg["test_accuracy"] - base["test_accuracy"]}
    if exercise == "tp2.optimizers":
        names = [n for n in ("sgd_momentum", "rmsprop", "adam") if n in rows]
        ranking = sorted(names, key=lambda n: -rows[n]["test_accuracy"])
        return {"best_optimizer": ranking[0], "ranking": ranking,
                "optimizer_ranking": " > ".join(f"{n} {rows[n]['test_accuracy']:.4f}" for n in ranking),
                **{f"{n}_{k}": rows[n][k] for n in names
                   for k in ("test_accuracy", "val_accuracy", "train_accuracy", "best_epoch", "epochs_to_threshold")},
                "run_ids": {n: rows[n]["run_id"] for n in names}}
    if exercise == "tp2.batchnorm":
        bn, plain = rows["batchnorm"], rows["adam"]
        level, criterion = batchnorm_level(bn, plain, thresholds)
        e_bn, e_plain = epochs_to_reach(bn, level), epochs_to_reach(plain, level)
        if e_bn is not None and (e_plain is None or e_bn < e_plain):
            faster = "yes"
        elif e_bn is None and e_plain is None:
            faster = "undetermined (neither reached the threshold)"
        elif e_plain is not None and (e_bn is None or e_bn > e_plain):
            faster = "no"
        else:
            faster = "same"
        return {**_figures(bn), "criterion": criterion, "val_accuracy_level": level,
                "epochs_to_level": e_bn, "without_bn_epochs_to_level": e_plain,
                "best_val_accuracy": max(bn["history"]["val_accuracy"]),
                "without_bn_best_val_accuracy": max(plain["history"]["val_accuracy"]),
                "without_bn_epochs_to_threshold": plain["epochs_to_threshold"],
                "without_bn_test_accuracy": plain["test_accuracy"],
                "without_bn_val_accuracy_epoch2": plain["history"]["val_accuracy"][1] if len(plain["history"]["val_accuracy"]) > 1 else None,
                "val_accuracy_epoch2": bn["history"]["val_accuracy"][1] if len(bn["history"]["val_accuracy"]) > 1 else None,
                "val_accuracy_threshold": thresholds.val_accuracy, "converges_faster": faster}
    raise ValueError(exercise)


def batchnorm_level(bn: dict, plain: dict, thresholds: Thresholds) -> tuple[float, str]:
    """The validation accuracy both BatchNorm runs are timed to, and how it was chosen."""
    if thresholds.absolute:
        return thresholds.val_accuracy, f"first epoch with val accuracy ≥ {thresholds.val_accuracy:g}"
    best = max(max(bn["history"]["val_accuracy"]), max(plain["history"]["val_accuracy"]))
    return RELATIVE_LEVEL * best, (f"first epoch with val accuracy ≥ {RELATIVE_LEVEL:g} × the better model's "
                                   f"best ({best:.4f})")


def epochs_to_reach(row: dict, level: float) -> int | None:
    reached = [i + 1 for i, v in enumerate(row["history"]["val_accuracy"]) if v >= level]
    return reached[0] if reached else None


def _run_group(dltp_id: str, names: list[str], cfg: RunConfig, exercises: list[str]) -> dict:
    """Parent run + one child run per model; the comparison and the answers on the parent."""
    if cfg.resume:
        raise DltpError("TP2 runs cannot be resumed; run them again (they are short)")
    thresholds = Thresholds.from_config(cfg)
    p = prepare(cfg)
    print(f"TP2 on {p.data.name}: {len(p.x_train)} train / {len(p.x_val)} validation / {len(p.x_test)} test",
          flush=True)
    start = time.perf_counter()
    with tracking.run(EXPERIMENT, dltp_id=dltp_id, run_name=f"{dltp_id}-{p.data.name}", data=p.data, seed=cfg.seed,
                      params={"variants": names, "quick": cfg.quick, "epochs": cfg.epochs,
                              "bias_threshold": thresholds.bias, "variance_threshold": thresholds.variance,
                              "val_accuracy_threshold": thresholds.val_accuracy}) as parent:
        parent_id = parent.info.run_id
        rows = train_all(names, p, cfg, thresholds, parent_id)
        answers = {ex: answer(ex, rows, thresholds) for ex in exercises}
        table = log_comparison(list(rows.values()), thresholds, f"TP2 — {p.data.name}")
        for ex, a in answers.items():
            short = ex.split(".")[1]
            if ex == "tp2.regularize":
                tracking.log_text(diagnosis_markdown("regularized", rows["regularized"], thresholds, rows["baseline"]),
                                  "diagnosis_regularized.md")
            if ex == "tp2.diagnose":
                tracking.log_text(diagnosis_markdown("baseline", rows["baseline"], thresholds), "diagnosis_baseline.md")
            if "verdict" in a:
                mlflow.set_tag(f"tp2.{short}.diagnosis", a["verdict"])
        if "tp2.batchnorm" in answers:
            mlflow.set_tag("tp2.batchnorm.converges_faster", answers["tp2.batchnorm"]["converges_faster"])
        for ex, a in answers.items():  # each exercise's target on the child runs that answer it
            verdict = targets.judge(ex, {**a, "dataset": p.data.name})
            for name in names:
                if VARIANTS[name].exercise == ex:
                    tag_target(rows[name]["run_id"], verdict)
        tracking.log_json({"answers": answers, "rows": [{k: v for k, v in r.items() if k != "history"}
                                                         for r in rows.values()]}, "results.json")
        wall = time.perf_counter() - start
        tracking.log_metrics({"wall_seconds": wall})
    print(table, flush=True)
    for ex, a in answers.items():
        if "verdict" in a:
            print(f"{ex}: {a['verdict']}" + (f" (gap change {a['gap_change']:+.4f})" if "gap_change" in a else ""))
    if "tp2.optimizers" in answers:
        print(f"tp2.optimizers: ranking by test accuracy {answers['tp2.optimizers']['optimizer_ranking']}")
    if "tp2.batchnorm" in answers:
        a = answers["tp2.batchnorm"]
        print(f"tp2.batchnorm: converges faster? {a['converges_faster']} ({a['criterion']}: epoch "
              f"{a['epochs_to_level']} with BN vs {a['without_bn_epochs_to_level']} without)")
    return answers, parent_id, p.data, wall, rows


def _exercise(dltp_id: str, cfg: RunConfig) -> dict:
    answers, parent_id, data, wall, rows = _run_group(dltp_id, list(EXERCISES[dltp_id]), cfg, [dltp_id])
    figures = answers[dltp_id]
    child_ids = figures.pop("run_id", None)
    return result(dltp_id, parent_id, data, **figures, **({"child_run_id": child_ids} if child_ids else {}),
                  runs=[{k: v for k, v in r.items() if k != "history"} for r in rows.values()],
                  wall_seconds=wall)


def run_diagnose(cfg: RunConfig) -> dict:
    return _exercise("tp2.diagnose", cfg)


def run_regularize(cfg: RunConfig) -> dict:
    return _exercise("tp2.regularize", cfg)


def run_optimizers(cfg: RunConfig) -> dict:
    return _exercise("tp2.optimizers", cfg)


def run_batchnorm(cfg: RunConfig) -> dict:
    return _exercise("tp2.batchnorm", cfg)


def run_lab(cfg: RunConfig) -> dict:
    """``dltp run tp2``: the six distinct models once, every exercise answered, one parent run."""
    names = list(dict.fromkeys(n for ex in EXERCISES for n in EXERCISES[ex]))
    answers, parent_id, data, wall, rows = _run_group("tp2", names, cfg, list(EXERCISES))
    return result("tp2", parent_id, data,
                  diagnosis=answers["tp2.diagnose"]["verdict"],
                  regularized_diagnosis=answers["tp2.regularize"]["verdict"],
                  gap_change=answers["tp2.regularize"]["gap_change"],
                  best_optimizer=answers["tp2.optimizers"]["best_optimizer"],
                  optimizer_ranking=answers["tp2.optimizers"]["optimizer_ranking"],
                  batchnorm_converges_faster=answers["tp2.batchnorm"]["converges_faster"],
                  gap=answers["tp2.diagnose"]["gap"], regularized_gap=answers["tp2.regularize"]["gap"],
                  wall_seconds=wall,
                  **{ex.split(".")[1]: a for ex, a in answers.items()},
                  runs=[{k: v for k, v in r.items() if k != "history"} for r in rows.values()])
