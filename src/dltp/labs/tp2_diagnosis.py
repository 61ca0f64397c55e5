"""TP2's diagnosis as code: the bias/variance rule applied to measured curves, and the answers to
the lab's four questions computed from the measured rows (``dltp.labs.tp2`` trains and logs them).

A row is one trained model as ``tp2`` measured it: its diagnosis (``diagnose``), test figures, run
id and per-epoch ``history``. Nothing here trains or tracks: the rules are tested on known curves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from dltp import registry, tables
from dltp.config import RunConfig
from dltp.errors import DltpError

if TYPE_CHECKING:
    from dltp.data import ImageData


# --------------------------------------------------------------------------- 1. Bias/variance (ex. 1)

@dataclass(frozen=True)
class Thresholds:
    bias: float = registry.OPTIONS["bias_threshold"].default  # train accuracy below this → high bias
    variance: float = registry.OPTIONS["variance_threshold"].default  # train − validation gap above → high variance
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
        "epochs_to_threshold": first_epoch_at(history["val_accuracy"], thresholds.val_accuracy),
        "epochs": len(val_loss),
    }


def first_epoch_at(val_accuracy: list[float], level: float) -> int | None:
    """The first epoch (from 1) whose validation accuracy reached ``level``; None if none did."""
    return next((epoch for epoch, value in enumerate(val_accuracy, start=1) if value >= level), None)


def diagnosis_markdown(name: str, diagnosis: dict, thresholds: Thresholds, baseline: dict | None = None) -> str:
    """One model's diagnosis as a Markdown page (and, given the baseline's, the gap change)."""
    lines = [
        f"# Diagnosis: {name}",
        "",
        f"**Verdict: {diagnosis['verdict']}**",
        "",
        f"- rule: train accuracy < {thresholds.bias:g} → high bias; train − val gap > "
        f"{thresholds.variance:g} → high variance; else balanced",
        f"- train accuracy {diagnosis['train_accuracy']:.4f}, validation accuracy {diagnosis['val_accuracy']:.4f}, "
        f"gap {diagnosis['gap']:+.4f} (last of {diagnosis['epochs']} epochs)",
        f"- validation loss lowest at epoch {diagnosis['best_epoch']} ({diagnosis['best_val_loss']:.4f}); last epoch "
        f"{diagnosis['final_val_loss']:.4f}" + (" — rising after the best epoch: overfitting"
                                                if diagnosis["val_loss_rose_after_best"] else ""),
        f"- validation accuracy ≥ {thresholds.val_accuracy:g}: "
        + (f"first at epoch {diagnosis['epochs_to_threshold']}" if diagnosis["epochs_to_threshold"]
           else "never reached"),
    ]
    if baseline is not None:
        lines.append(f"- against the baseline: gap {baseline['gap']:+.4f} → {diagnosis['gap']:+.4f} "
                     f"(change {diagnosis['gap'] - baseline['gap']:+.4f})")
    return "\n".join(lines) + "\n"


def _figures(row: dict) -> dict:
    keys = ("run_id", "verdict", "train_accuracy", "val_accuracy", "test_accuracy", "gap", "best_epoch",
            "best_val_loss", "val_loss_rose_after_best", "epochs_to_threshold", "epoch_time_s")
    return {k: row[k] for k in keys}


def _diagnose(rows: dict[str, dict], thresholds: Thresholds) -> dict:
    return _figures(rows["baseline"])


# --------------------------------------------------------------------------- 2. Regularisation (ex. 2)

def _regularize(rows: dict[str, dict], thresholds: Thresholds) -> dict:
    baseline, regularized = rows["baseline"], rows["regularized"]
    return {**_figures(regularized), "baseline_gap": baseline["gap"],
            "gap_change": regularized["gap"] - baseline["gap"], "baseline_verdict": baseline["verdict"],
            "test_accuracy_change": regularized["test_accuracy"] - baseline["test_accuracy"]}


# --------------------------------------------------------------------------- 3. Optimisers (ex. 3)

OPTIMIZER_VARIANTS = ("sgd_momentum", "rmsprop", "adam")


def _optimizers(rows: dict[str, dict], thresholds: Thresholds) -> dict:
    names = [n for n in OPTIMIZER_VARIANTS if n in rows]
    ranking = sorted(names, key=lambda n: -rows[n]["test_accuracy"])
    compared = ("test_accuracy", "val_accuracy", "train_accuracy", "best_epoch", "epochs_to_threshold")
    return {"best_optimizer": ranking[0], "ranking": ranking,
            "optimizer_ranking": " > ".join(f"{n} {rows[n]['test_accuracy']:.4f}" for n in ranking),
            **{f"{n}_{key}": rows[n][key] for n in names for key in compared},
            "run_ids": {n: rows[n]["run_id"] for n in names}}


# --------------------------------------------------------------------------- 4. BatchNorm (ex. 4)

# BatchNorm's question on any dataset: the epochs each model needs to reach this share of the
# better model's best validation accuracy (--val-threshold gives the original absolute 0.975 instead).
RELATIVE_LEVEL = 0.98


def _second_epoch(row: dict) -> float | None:
    val_accuracy = row["history"]["val_accuracy"]
    return val_accuracy[1] if len(val_accuracy) > 1 else None


def _batchnorm(rows: dict[str, dict], thresholds: Thresholds) -> dict:
    with_bn, without_bn = rows["batchnorm"], rows["adam"]
    level, criterion = batchnorm_level(with_bn, without_bn, thresholds)
    epochs_with, epochs_without = epochs_to_reach(with_bn, level), epochs_to_reach(without_bn, level)
    if epochs_with is not None and (epochs_without is None or epochs_with < epochs_without):
        faster = "yes"
    elif epochs_with is None and epochs_without is None:
        faster = "undetermined (neither reached the threshold)"
    elif epochs_without is not None and (epochs_with is None or epochs_with > epochs_without):
        faster = "no"
    else:
        faster = "same"
    return {**_figures(with_bn), "criterion": criterion, "val_accuracy_level": level,
            "relative_level": None if thresholds.absolute else RELATIVE_LEVEL,
            "epochs_to_level": epochs_with, "without_bn_epochs_to_level": epochs_without,
            # the curves the answer is read from, so that the target can read it again (dltp.labs.targets)
            "val_accuracy_curve": list(with_bn["history"]["val_accuracy"]),
            "without_bn_val_accuracy_curve": list(without_bn["history"]["val_accuracy"]),
            "best_val_accuracy": max(with_bn["history"]["val_accuracy"]),
            "without_bn_best_val_accuracy": max(without_bn["history"]["val_accuracy"]),
            "without_bn_epochs_to_threshold": without_bn["epochs_to_threshold"],
            "without_bn_test_accuracy": without_bn["test_accuracy"],
            "without_bn_val_accuracy_epoch2": _second_epoch(without_bn),
            "val_accuracy_epoch2": _second_epoch(with_bn),
            "val_accuracy_threshold": thresholds.val_accuracy, "converges_faster": faster}


def batchnorm_level(with_bn: dict, without_bn: dict, thresholds: Thresholds) -> tuple[float, str]:
    """The validation accuracy both BatchNorm runs are timed to, and how it was chosen."""
    if thresholds.absolute:
        return thresholds.val_accuracy, f"first epoch with val accuracy ≥ {thresholds.val_accuracy:g}"
    best = max(max(with_bn["history"]["val_accuracy"]), max(without_bn["history"]["val_accuracy"]))
    return RELATIVE_LEVEL * best, (f"first epoch with val accuracy ≥ {RELATIVE_LEVEL:g} × the better model's "
                                   f"best ({best:.4f})")


def epochs_to_reach(row: dict, level: float) -> int | None:
    return first_epoch_at(row["history"]["val_accuracy"], level)


# --------------------------------------------------------------------------- the answers, tables and pages

ANSWERS = {"tp2.diagnose": _diagnose, "tp2.regularize": _regularize, "tp2.optimizers": _optimizers,
           "tp2.batchnorm": _batchnorm}


def answer(exercise: str, rows: dict[str, dict], thresholds: Thresholds) -> dict:
    """The measured figures that answer ``exercise``'s question."""
    if exercise not in ANSWERS:
        raise ValueError(exercise)
    return ANSWERS[exercise](rows, thresholds)


TABLE_COLUMNS = ("variant", "optimizer", "dropout", "l2", "batch_norm", "train_accuracy", "val_accuracy",
                 "test_accuracy", "gap", "best_epoch", "best_val_loss", "epochs_to_threshold", "epoch_time_s",
                 "verdict")


def comparison_table(rows: list[dict], thresholds: Thresholds) -> tuple[str, str]:
    """(Markdown, CSV) of every run's diagnosis and test figures side by side."""
    header = [c if c != "epochs_to_threshold" else f"epochs_to_val_{thresholds.val_accuracy:g}" for c in TABLE_COLUMNS]
    cells = [[r.get(c) for c in TABLE_COLUMNS] for r in rows]
    return tables.markdown(header, cells), tables.csv_text(header, cells)


def diagnosis_pages(rows: dict[str, dict], answers: dict[str, dict], thresholds: Thresholds) -> dict[str, str]:
    """The parent run's diagnosis pages (artifact name -> Markdown): the baseline's when
    ``tp2.diagnose`` is answered, the regularized model's against it when ``tp2.regularize`` is."""
    pages = {}
    if "tp2.diagnose" in answers:
        pages["diagnosis_baseline.md"] = diagnosis_markdown("baseline", rows["baseline"], thresholds)
    if "tp2.regularize" in answers:
        pages["diagnosis_regularized.md"] = diagnosis_markdown("regularized", rows["regularized"], thresholds,
                                                               rows["baseline"])
    return pages


def answer_tags(answers: dict[str, dict]) -> dict[str, str]:
    """The parent run's tags: each diagnosed exercise's verdict, and whether BatchNorm converges faster."""
    tags = {f"tp2.{exercise.split('.')[1]}.diagnosis": figures["verdict"]
            for exercise, figures in answers.items() if "verdict" in figures}
    if "tp2.batchnorm" in answers:
        tags["tp2.batchnorm.converges_faster"] = answers["tp2.batchnorm"]["converges_faster"]
    return tags


def summary(answers: dict[str, dict]) -> str:
    """The answers in a few lines, for the terminal."""
    lines = [f"{exercise}: {figures['verdict']}"
             + (f" (gap change {figures['gap_change']:+.4f})" if "gap_change" in figures else "")
             for exercise, figures in answers.items() if "verdict" in figures]
    if "tp2.optimizers" in answers:
        lines.append(f"tp2.optimizers: ranking by test accuracy {answers['tp2.optimizers']['optimizer_ranking']}")
    if "tp2.batchnorm" in answers:
        batchnorm = answers["tp2.batchnorm"]
        lines.append(f"tp2.batchnorm: converges faster? {batchnorm['converges_faster']} ({batchnorm['criterion']}: "
                     f"epoch {batchnorm['epochs_to_level']} with BN vs {batchnorm['without_bn_epochs_to_level']} "
                     "without)")
    return "\n".join(lines)


def lab_figures(answers: dict[str, dict]) -> dict:
    """``dltp run tp2``'s headline figures, taken from the four answers."""
    return {"diagnosis": answers["tp2.diagnose"]["verdict"],
            "regularized_diagnosis": answers["tp2.regularize"]["verdict"],
            "gap_change": answers["tp2.regularize"]["gap_change"],
            "best_optimizer": answers["tp2.optimizers"]["best_optimizer"],
            "optimizer_ranking": answers["tp2.optimizers"]["optimizer_ranking"],
            "batchnorm_converges_faster": answers["tp2.batchnorm"]["converges_faster"],
            "gap": answers["tp2.diagnose"]["gap"], "regularized_gap": answers["tp2.regularize"]["gap"]}


@dataclass
class Comparison:
    """What one parent run measured: every model trained as its child, and the answers."""

    run_id: str  # the parent run
    data: ImageData
    rows: dict[str, dict]  # variant name -> its row: figures, diagnosis, run id and curves ("history")
    answers: dict[str, dict]  # exercise id -> the figures that answer it (``answer``)
    table: str  # the comparison, Markdown (``comparison_table``)
    wall_seconds: float = 0.0

    def runs(self) -> list[dict]:
        """The rows without their curves, as the JSON result lists them."""
        return [{k: v for k, v in row.items() if k != "history"} for row in self.rows.values()]

    def show(self) -> None:
        """The comparison table and the answers, on the terminal."""
        print(self.table, flush=True)
        if self.answers:
            print(summary(self.answers))
