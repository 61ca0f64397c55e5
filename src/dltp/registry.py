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
    "budget_s": Option("--budget-s", float, "tp1.batching: training seconds per batch size"),
}

EXPERIMENTS: list[Experiment] = [
    Experiment("tp1", "tp1", "Dense MNIST classifier, original recipe, tracked and registered as mnist-dense",
               "dltp.labs.tp1:run", ("dropout", "learning_rate")),
    Experiment("tp1.batching", "tp1", "Full-batch GD vs SGD vs mini-batches: throughput and loss after equal wall time",
               "dltp.labs.tp1_batching:run", ("budget_s",)),
]

# A lab id whose exercises are run together by one function (e.g. a parent run with a comparison);
# a lab without one runs its exercises one after another.
LAB_RUNNERS: dict[str, str] = {}


# TP2: diagnose and improve a network (one parent run with the six models as child runs).
OPTIONS.update({
    "bias_threshold": Option("--bias-threshold", float, "TP2 diagnosis: train accuracy below this is high bias (default 0.90)"),
    "variance_threshold": Option("--variance-threshold", float,
                                 "TP2 diagnosis: train - validation gap above this is high variance (default 0.02)"),
    "val_threshold": Option("--val-threshold", float,
                            "TP2 BatchNorm: judge on the first epoch at this validation accuracy (the original "
                            "0.975) instead of 98 %% of the better model's best"),
})
_TP2_OPTIONS = ("bias_threshold", "variance_threshold", "val_threshold")
EXPERIMENTS += [
    Experiment("tp2.diagnose", "tp2", "Bias/variance diagnosis of the TP1 model, 15 epochs on a 54k/6k/10k split",
               "dltp.labs.tp2:run_diagnose", _TP2_OPTIONS),
    Experiment("tp2.regularize", "tp2", "L2(0.001) + Dropout 0.5 against the baseline: the gap change",
               "dltp.labs.tp2:run_regularize", _TP2_OPTIONS),
    Experiment("tp2.optimizers", "tp2", "SGD+momentum vs RMSprop vs Adam, 10 epochs, one tracked run each",
               "dltp.labs.tp2:run_optimizers", _TP2_OPTIONS),
    Experiment("tp2.batchnorm", "tp2", "BatchNormalization after the hidden layer: epochs to reach 98 % of the best val accuracy",
               "dltp.labs.tp2:run_batchnorm", _TP2_OPTIONS),
]
LAB_RUNNERS["tp2"] = "dltp.labs.tp2:run_lab"

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

# TP4: segmentation and 3D data
OPTIONS.update({
    "variant": Option("--variant", str, "tp4.unet data: circles (original), multi, small or faint"),
    "filters": Option("--filters", int, "tp4.unet encoder filters per level, e.g. --filters 8 16 32", nargs="+"),
    "bottleneck": Option("--bottleneck", int, "tp4.unet bottleneck filters (default 128)"),
    "loss": Option("--loss", str, "tp4.unet loss: dice (original) or bce_dice"),
    "sizes": Option("--sizes", int, "tp4.memory volume sides, e.g. --sizes 32 64 96 128", nargs="+"),
    "batches": Option("--batches", int, "tp4.memory batch sizes, e.g. --batches 1 4", nargs="+"),
})
EXPERIMENTS += [
    Experiment("tp4.unet", "tp4", "U-Net on simulated circles: Dice loss, Dice/IoU, predictions, IoU-vs-Dice table",
               "dltp.labs.tp4:run_unet", ("variant", "filters", "bottleneck", "loss", "learning_rate")),
    Experiment("tp4.conv3d", "tp4", "Conv3D sphere-vs-cube classifier on 32³ volumes, trained for real",
               "dltp.labs.tp4:run_conv3d", ("learning_rate",)),
    Experiment("tp4.memory", "tp4", "Memory of 3D convolutions: activations from shapes vs measured peak RSS",
               "dltp.labs.tp4_memory:run", ("sizes", "batches")),
]

# TP5: sequences and attention.
OPTIONS.update({
    "attention_entropy": Option("--attention-entropy", float,
                                "tp5.attention: attention-entropy penalty in the loss (default 0.02; 0 = off)"),
    "seq_len": Option("--seq-len", int, "tp5.attention: sentence length (default 20)"),
    "vocab_size": Option("--vocab-size", int, "tp5.attention: vocabulary size (default 30)"),
    "series": Option("--series", str, "tp5.seq2seq: synthetic (default), co2, sunspots, or a CSV path"),
    "input_len": Option("--input-len", int, "tp5.seq2seq: input steps (default 50)"),
    "output_len": Option("--output-len", int, "tp5.seq2seq: forecast steps (default 10)"),
    "season": Option("--season", int, "tp5.seq2seq: season length for the seasonal-naive baseline"),
})
EXPERIMENTS.extend([
    Experiment("tp5.attention", "tp5", "GRU + additive attention on a key-token task; attention focus measured",
               "dltp.labs.tp5_attention:run", ("seq_len", "vocab_size", "attention_entropy", "learning_rate")),
    Experiment("tp5.seq2seq", "tp5", "BiLSTM→LSTM seq2seq forecaster with cross-attention, autoregressive, vs naive baselines",
               "dltp.labs.tp5_seq2seq:run", ("series", "input_len", "output_len", "season", "learning_rate")),
])

# TP5 research challenge: latent video prediction (recurrent vs Transformer vs external memory).
OPTIONS.update({
    "sequences": Option("--sequences", int, "tp5.research: training sequences (default 600, quick 120)"),
    "test_sequences": Option("--test-sequences", int, "tp5.research: test sequences, each protocol "
                             "(default 200, quick 40)"),
    "seeds": Option("--seeds", int, "tp5.research: predictor seeds, from --seed on (default 3, quick 1)"),
    "ae_epochs": Option("--ae-epochs", int, "tp5.research: frame autoencoder epochs (default 6, quick 3)"),
    "rollout_steps": Option("--rollout-steps", int, "tp5.research: passes through the model's own predictions "
                            "in the rollout-training regime (default 4)"),
    "results_dir": Option("--results-dir", str, "tp5.research: where results.json goes "
                          "(default dltp-results/research)"),
})
EXPERIMENTS.append(
    Experiment("tp5.research", "tp5", "Latent video prediction on moving digits: GRU vs TAP-T vs TAP-M, "
               "teacher forcing vs rollout training, 3 seeds, ablations, the standard Moving MNIST protocol; "
               "results.json for `dltp paper`", "dltp.research.experiment:run",
               ("sequences", "test_sequences", "seeds", "ae_epochs", "rollout_steps", "results_dir")))


def _load(target: str) -> Callable:
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def get(experiment_id: str) -> Experiment:
    for exp in EXPERIMENTS:
        if exp.id == experiment_id:
            return exp
    raise DltpError(f"unknown experiment {experiment_id!r}; `dltp list` shows them all")


def labs() -> list[str]:
    return sorted({e.lab for e in EXPERIMENTS})


def in_order() -> list[Experiment]:
    """Every experiment, lab by lab (each lab's exercises in the order they were declared)."""
    return sorted(EXPERIMENTS, key=lambda e: e.lab)


def plan(target: str) -> list[str]:
    """The ids to run for ``target``: an experiment id, a lab id, or ``all``."""
    if target == "all":
        return [unit for lab in labs()
                for unit in ([lab] if lab in LAB_RUNNERS else [e.id for e in in_order() if e.lab == lab])]
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
