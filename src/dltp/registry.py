"""Every experiment, by id, in one place. Lab modules are imported only when run, so that
`dltp list` answers at once."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from dltp.errors import DltpError


@dataclass(frozen=True)
class Option:
    """An experiment-specific CLI flag (``--dropout 0.5`` → ``cfg.options["dropout"]``)."""

    flag: str
    type: Callable[[str], Any] = str
    help: str = ""
    nargs: str | None = None


@dataclass(frozen=True)
class Experiment:
    id: str
    lab: str
    description: str
    target: str  # "module:function", called with a RunConfig, returns a dict of measured results
    options: tuple[str, ...] = field(default_factory=tuple)

    def load(self) -> Callable:
        return _load(self.target)


OPTIONS: dict[str, Option] = {
    "dropout": Option("--dropout", float, "dropout rate of the hidden layer"),
    "learning_rate": Option("--learning-rate", float, "optimizer learning rate"),
}

EXPERIMENTS: list[Experiment] = [
    Experiment("tp1", "tp1", "Dense MNIST classifier, original recipe, tracked and registered as mnist-dense",
               "dltp.labs.tp1:run", ("dropout", "learning_rate")),
]

# A lab id whose exercises are run together by one function (e.g. a parent run with a comparison);
# a lab without one runs its exercises one after another.
LAB_RUNNERS: dict[str, str] = {}


def _load(target: str) -> Callable:
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def get(experiment_id: str) -> Experiment:
    for exp in EXPERIMENTS:
        if exp.id == experiment_id:
            return exp
    raise DltpError(f"unknown experiment {experiment_id!r}; `dltp list` shows them all")


def labs() -> list[str]:
    return list(dict.fromkeys(e.lab for e in EXPERIMENTS))


def plan(target: str) -> list[str]:
    """The ids to run for ``target``: an experiment id, a lab id, or ``all``."""
    if target == "all":
        return [unit for lab in labs()
                for unit in ([lab] if lab in LAB_RUNNERS else [e.id for e in EXPERIMENTS if e.lab == lab])]
    if any(e.id == target for e in EXPERIMENTS):
        return [target]
    if target in LAB_RUNNERS:
        return [target]
    in_lab = [e.id for e in EXPERIMENTS if e.lab == target]
    if in_lab:
        return in_lab
    raise DltpError(f"unknown experiment or lab {target!r}; `dltp list` shows them all")


def runner(unit: str) -> Callable:
    """The function that runs one id returned by ``plan``."""
    return _load(LAB_RUNNERS[unit]) if unit in LAB_RUNNERS else get(unit).load()


def options_for(unit: str) -> set[str]:
    ids = [e for e in EXPERIMENTS if e.id == unit or (unit in LAB_RUNNERS and e.lab == unit)]
    return {o for e in ids for o in e.options}

# TP2: diagnose and improve a network (one parent run with the six models as child runs).
OPTIONS.update({
    "bias_threshold": Option("--bias-threshold", float, "TP2 diagnosis: train accuracy below this is high bias (default 0.90)"),
    "variance_threshold": Option("--variance-threshold", float,
                                 "TP2 diagnosis: train - validation gap above this is high variance (default 0.02)"),
    "val_threshold": Option("--val-threshold", float,
                            "TP2: validation accuracy whose first epoch is reported (epochs-to-threshold, default 0.975)"),
})
_TP2_OPTIONS = ("bias_threshold", "variance_threshold", "val_threshold")
EXPERIMENTS += [
    Experiment("tp2.diagnose", "tp2", "Bias/variance diagnosis of the TP1 model, 15 epochs on a 54k/6k/10k split",
               "dltp.labs.tp2:run_diagnose", _TP2_OPTIONS),
    Experiment("tp2.regularize", "tp2", "L2(0.001) + Dropout 0.5 against the baseline: the gap change",
               "dltp.labs.tp2:run_regularize", _TP2_OPTIONS),
    Experiment("tp2.optimizers", "tp2", "SGD+momentum vs RMSprop vs Adam, 10 epochs, one tracked run each",
               "dltp.labs.tp2:run_optimizers", _TP2_OPTIONS),
    Experiment("tp2.batchnorm", "tp2", "BatchNormalization after the hidden layer: epochs to reach val accuracy 0.975",
               "dltp.labs.tp2:run_batchnorm", _TP2_OPTIONS),
]
LAB_RUNNERS["tp2"] = "dltp.labs.tp2:run_lab"
