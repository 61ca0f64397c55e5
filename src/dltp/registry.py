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

# TP3: convolutional networks (dltp.labs.tp3, tp3_style_transfer, tp3_detection).
OPTIONS.update({
    "recipe": Option("--recipe", str, "TP3 training recipe: original (default) or fast"),
    "train_images": Option("--train-images", int, "TP3: train on the first N training images only"),
    "content": Option("--content", str, "style transfer: content image (file, or a scikit-image name)"),
    "style": Option("--style", str, "style transfer: style image (file, or a scikit-image name)"),
    "weights": Option("--weights", str, "style transfer: local VGG16 ImageNet weights file (.h5, no top)"),
    "steps": Option("--steps", int, "style transfer: optimisation steps over the pixels"),
    "image_size": Option("--image-size", int, "style transfer: side of the generated image in pixels"),
    "box_weight": Option("--box-weight", float, "detection: weight λ of the box loss"),
})
EXPERIMENTS += [
    Experiment("tp3.cnn", "tp3", "basic CNN on CIFAR-10 (original recipe; --recipe fast)",
               "dltp.labs.tp3:run_cnn", ("recipe", "train_images")),
    Experiment("tp3.resnet", "tp3", "Mini-ResNet with corrected residual blocks on CIFAR-10",
               "dltp.labs.tp3:run_resnet", ("recipe", "train_images")),
    Experiment("tp3.style_transfer", "tp3", "neural style transfer with a frozen VGG16, optimised over the pixels",
               "dltp.labs.tp3_style_transfer:run", ("content", "style", "weights", "steps", "image_size")),
    Experiment("tp3.detection", "tp3", "one-object detection: class head + box head, combined loss, IoU",
               "dltp.labs.tp3_detection:run", ("box_weight",)),
]
LAB_RUNNERS["tp3"] = "dltp.labs.tp3:run_lab"
