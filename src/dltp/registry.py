"""Every experiment and every option, by id, with its defaults: the full one and the --quick one
side by side (``Default(full, quick=…)``, ``Option(default=…, quick=…)``).

A lab reads a default where it uses it, with ``RunConfig.value(name)``; ``dltp run --help`` prints
them all (``help_text``). Lab modules are imported only when an experiment runs (``Experiment.load``),
so that `dltp list` answers at once."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from dltp.errors import DltpError


class _Same:
    def __repr__(self) -> str:
        return "SAME"


SAME: Any = _Same()  # a --quick default equal to the full one

# Settings every experiment takes (cli flags, RunConfig fields). Their defaults are the original
# recipe's: declared per experiment in Experiment.defaults, or derived by the lab (cfg.pick).
COMMON = ("epochs", "batch_size")


@dataclass(frozen=True)
class Default:
    """A default value, and the one --quick uses where it differs."""

    full: Any = None
    quick: Any = SAME

    def pick(self, quick: bool) -> Any:
        return self.quick if quick and self.quick is not SAME else self.full


@dataclass(frozen=True)
class Option:
    """An experiment-specific CLI flag (``--dropout 0.5`` → ``cfg.value("dropout")``), its default and,
    where it differs, its --quick default. ``help`` names no default: the CLI adds them (help_text)."""

    flag: str
    type: Callable[[str], Any] = str
    help: str = ""
    nargs: str | None = None
    default: Any = None  # None: not set (the lab says what that means)
    quick: Any = SAME

    @property
    def defaults(self) -> Default:
        return Default(self.default, self.quick)


@dataclass(frozen=True)
class Experiment:
    id: str
    lab: str
    description: str
    target: str  # "module:function", called with a RunConfig, returns a dict of measured results
    options: tuple[str, ...] = field(default_factory=tuple)
    # Defaults of this experiment that differ from the option's own, and those of epochs and
    # batch_size: name -> Default, or a plain value used with and without --quick.
    defaults: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "defaults", {name: value if isinstance(value, Default) else Default(value)
                                              for name, value in self.defaults.items()})
        stray = sorted(set(self.defaults) - set(self.options) - set(COMMON))
        if stray:
            raise ValueError(f"{self.id}: defaults for options it does not take: {', '.join(stray)}")

    def load(self) -> Callable:
        return _load(self.target)

    def takes(self, name: str) -> bool:
        return name in COMMON or name in self.options

    def default(self, name: str) -> Default:
        """This experiment's default for option ``name`` (or epochs, batch_size)."""
        if name in self.defaults:
            return self.defaults[name]
        return OPTIONS[name].defaults if name in OPTIONS else Default()


OPTIONS: dict[str, Option] = {
    "dropout": Option("--dropout", float, "dropout rate of the hidden layer", default=0.2),
    "learning_rate": Option("--learning-rate", float, "optimizer learning rate", default=1e-3),
    "budget_s": Option("--budget-s", float, "tp1.batching: training seconds per batch size", default=30.0, quick=1.5),
    "eval_points": Option("--eval-points", int, "tp1.batching: validation measurements per batch size, evenly "
                          "spaced in training time", default=10, quick=4),
    "eval_images": Option("--eval-images", int, "tp1.batching: validation images the loss is measured on",
                          default=2000),
    # Quick: a fifth of MNIST (offline: all 4,000 training digits of mnist_5k), the recipe's epochs.
    "subset": Option("--subset", int, "tp1: train on the first N training images and test on the first M; "
                     "all if not given", nargs=2, quick=(12_000, 2_000)),
}

EXPERIMENTS: list[Experiment] = [
    # Quick: a fifth of MNIST (--subset) for the recipe's 5 epochs; after 3, real digits from the
    # 3,600 offline training images were still at the 0.90 of the target, some seeds and backends below.
    Experiment("tp1", "tp1", "Dense MNIST classifier, original recipe, tracked and registered as mnist-dense",
               "dltp.labs.tp1:run", ("dropout", "learning_rate", "subset"),
               defaults={"epochs": 5, "batch_size": 128}),
    Experiment("tp1.batching", "tp1",
               "Full-batch GD vs SGD vs mini-batches: throughput and loss after equal wall time",
               "dltp.labs.tp1_batching:run", ("budget_s", "eval_points", "eval_images", "learning_rate"),
               defaults={"learning_rate": 0.05}),  # plain SGD, the same step for every batch size
]

# A lab id whose exercises are run together by one function (e.g. a parent run with a comparison);
# a lab without one runs its exercises one after another.
LAB_RUNNERS: dict[str, str] = {}


# TP2: diagnose and improve a network (one parent run with the six models as child runs). Epochs
# and batch size: each model's own (dltp.labs.tp2.VARIANTS).
OPTIONS.update({
    "bias_threshold": Option("--bias-threshold", float,
                             "TP2 diagnosis: train accuracy below this is high bias", default=0.90),
    "variance_threshold": Option("--variance-threshold", float,
                                 "TP2 diagnosis: train - validation gap above this is high variance", default=0.02),
    "val_threshold": Option("--val-threshold", float,
                            "TP2 BatchNorm: judge on the first epoch at this validation accuracy (the original "
                            "0.975) instead of 98 % of the better model's best"),
    # Quick: a small problem with the full epochs. 600 training images are few enough for the
    # unregularised 512-unit network to overfit them (high variance, the lesson of ex. 1-2) and cheap
    # enough for six models; 600 more for validation (a 60-image split would move 1.7 % per image).
    "split": Option("--split", int, "TP2: train on the first N training images, validate on the next M, test "
                    "on the first T test images; if not given, the last 10 % of the training images validate",
                    nargs=3, quick=(600, 600, 1_000)),
})
_TP2_OPTIONS = ("bias_threshold", "variance_threshold", "val_threshold", "split")
EXPERIMENTS += [
    Experiment("tp2.diagnose", "tp2", "Bias/variance diagnosis of the TP1 model, 15 epochs on a 54k/6k/10k split",
               "dltp.labs.tp2:run_diagnose", _TP2_OPTIONS),
    Experiment("tp2.regularize", "tp2", "L2(0.001) + Dropout 0.5 against the baseline: the gap change",
               "dltp.labs.tp2:run_regularize", _TP2_OPTIONS),
    Experiment("tp2.optimizers", "tp2", "SGD+momentum vs RMSprop vs Adam, 10 epochs, one tracked run each",
               "dltp.labs.tp2:run_optimizers", _TP2_OPTIONS),
    Experiment("tp2.batchnorm", "tp2",
               "BatchNormalization after the hidden layer: epochs to reach 98 % of the best val accuracy",
               "dltp.labs.tp2:run_batchnorm", _TP2_OPTIONS),
]
LAB_RUNNERS["tp2"] = "dltp.labs.tp2:run_lab"

# TP3: convolutional networks (dltp.labs.tp3, tp3_style_transfer, tp3_detection). The CNN and the
# Mini-ResNet take their batch size from the recipe (dltp.models.recipes).
OPTIONS.update({
    "recipe": Option("--recipe", str, "TP3 training recipe: original or fast", default="original"),
    # Quick: real datasets cut to 1,000 + 500 images; the generated shapes come in their own quick
    # form instead (3,000 + 500 images of 16×16, dltp.data.shapes).
    "train_images": Option("--train-images", int, "TP3: train on the first N training images; all if not given",
                           quick=1000),
    "test_images": Option("--test-images", int, "TP3: evaluate on the first N test images; all if not given",
                          quick=500),
    "content": Option("--content", str, "style transfer: content image, a file or a scikit-image name",
                      default="chelsea"),
    "style": Option("--style", str, "style transfer: style image, a file or a scikit-image name",
                    default="immunohistochemistry"),
    "weights": Option("--weights", str, "style transfer: local VGG16 ImageNet weights file (.h5, no top)"),
    # Quick: a 32×32 image (VGG16's smallest input), enough steps to halve the loss.
    "steps": Option("--steps", int, "style transfer: optimisation steps over the pixels", default=200, quick=30),
    "image_size": Option("--image-size", int, "style transfer: side of the generated image in pixels",
                         default=256, quick=32),
    "box_weight": Option("--box-weight", float, "detection: weight λ of the box loss", default=5.0),
    # Quick: 32×32 images whose object spans 30-80 % of the side (full: 64×64, 16-60 %).
    "detection_images": Option("--detection-images", int, "detection: generated training images",
                               default=6000, quick=1500),
    "detection_test_images": Option("--detection-test-images", int, "detection: generated test images",
                                    default=1000, quick=300),
    "detection_size": Option("--detection-size", int, "detection: side of the generated images in pixels",
                             default=64, quick=32),
    "object_radius": Option("--object-radius", float, "detection: smallest and largest half-extent of the "
                            "object, as fractions of the image side", nargs=2, default=(0.08, 0.3),
                            quick=(0.15, 0.4)),
})
_TP3_CLASSIFIER = {"epochs": Default(10, quick=5)}
EXPERIMENTS += [
    Experiment("tp3.cnn", "tp3", "basic CNN on CIFAR-10 (original recipe; --recipe fast)",
               "dltp.labs.tp3:run_cnn", ("recipe", "train_images", "test_images"), defaults=_TP3_CLASSIFIER),
    Experiment("tp3.resnet", "tp3", "Mini-ResNet with corrected residual blocks on CIFAR-10",
               "dltp.labs.tp3:run_resnet", ("recipe", "train_images", "test_images"), defaults=_TP3_CLASSIFIER),
    Experiment("tp3.style_transfer", "tp3", "neural style transfer with a frozen VGG16, optimised over the pixels",
               "dltp.labs.tp3_style_transfer:run", ("content", "style", "weights", "steps", "image_size")),
    Experiment("tp3.detection", "tp3", "one-object detection: class head + box head, combined loss, IoU",
               "dltp.labs.tp3_detection:run",
               ("box_weight", "detection_images", "detection_test_images", "detection_size", "object_radius"),
               defaults={"epochs": Default(15, quick=12), "batch_size": Default(64, quick=32)}),
]
LAB_RUNNERS["tp3"] = "dltp.labs.tp3:run_lab"

# TP4: segmentation and 3D data
OPTIONS.update({
    "variant": Option("--variant", str, "tp4.unet data: circles (the original), multi, small or faint",
                      default="circles"),
    "filters": Option("--filters", int, "tp4.unet encoder filters per level, e.g. --filters 8 16 32", nargs="+",
                      default=(8, 16, 32)),
    "bottleneck": Option("--bottleneck", int, "tp4.unet bottleneck filters", default=128),
    "loss": Option("--loss", str, "tp4.unet loss: dice (the original) or bce_dice", default="dice"),
    "sizes": Option("--sizes", int, "tp4.memory volume sides, e.g. --sizes 32 64 96 128", nargs="+",
                    default=(32, 64, 96, 128), quick=(32, 64)),
    "batches": Option("--batches", int, "tp4.memory batch sizes, e.g. --batches 1 4", nargs="+",
                      default=(1, 4), quick=(1,)),
    # Quick: the same picture at 64×64 (radii scaled), 200 images, 6 epochs: a quarter of the pixels.
    "circle_images": Option("--circle-images", int, "tp4.unet: generated training and validation images",
                            nargs=2, default=(500, 100), quick=(200, 50)),
    "circle_size": Option("--circle-size", int, "tp4.unet: side of the generated images in pixels",
                          default=128, quick=64),
    # Quick: 16³ volumes (an eighth of the voxels) holding a sphere of radius 4 or a cube of the same
    # volume, as many training volumes as the full run: the flattened head learns each position
    # apart, and 300 volumes left it near chance for 5 to 9 of 10 epochs; 600 learn it in 5.
    # Validation chose the learning rate and epochs; the test volumes are only scored.
    "volumes": Option("--volumes", int, "tp4.conv3d: generated training, validation and test volumes",
                      nargs=3, default=(600, 200, 400), quick=(600, 100, 200)),
    "volume_size": Option("--volume-size", int, "tp4.conv3d: side of the generated volumes in voxels",
                          default=32, quick=16),
})
EXPERIMENTS += [
    Experiment("tp4.unet", "tp4", "U-Net on simulated circles: Dice loss, Dice/IoU, predictions, IoU-vs-Dice table",
               "dltp.labs.tp4:run_unet",
               ("variant", "filters", "bottleneck", "loss", "learning_rate", "circle_images", "circle_size"),
               # Quick: a larger step, so that 300 steps saturate the predictions (soft Dice follows; 4
               # epochs were too few on torch).
               defaults={"learning_rate": Default(1e-3, quick=3e-3), "epochs": Default(15, quick=6),
                         "batch_size": 4}),
    Experiment("tp4.conv3d", "tp4", "Conv3D sphere-vs-cube classifier on 32³ volumes, trained for real",
               "dltp.labs.tp4:run_conv3d", ("learning_rate", "volumes", "volume_size"),
               # The original never trained this network. Measured: Adam 1e-3 for 10 epochs leaves it near
               # chance (val accuracy 0.545); 3e-3 for 20 epochs learns, after a one-epoch warm-up
               # (dltp.labs.tp4) on every backend: without it the first steps could kill every conv2 ReLU.
               defaults={"learning_rate": 3e-3, "epochs": Default(20, quick=5), "batch_size": 16}),
    Experiment("tp4.memory", "tp4", "Memory of 3D convolutions: activations from shapes vs measured peak RSS",
               "dltp.labs.tp4_memory:run", ("sizes", "batches")),
]

# TP5: sequences and attention.
OPTIONS.update({
    # A unidirectional GRU carries the answer to every state after the deciding token, so plain
    # attention may spread over all of them (record tp5_attention_no_penalty, docs/labs/tp5.md); a
    # small entropy penalty makes it pick the one state that holds the answer first.
    "attention_entropy": Option("--attention-entropy", float,
                                "tp5.attention: attention-entropy penalty in the loss, 0 = off", default=0.02),
    "seq_len": Option("--seq-len", int, "tp5.attention: sentence length", default=20),
    "vocab_size": Option("--vocab-size", int, "tp5.attention: vocabulary size", default=30),
    "sentences": Option("--sentences", int, "tp5.attention: generated training sentences (a tenth of them "
                        "for validation)", default=4000, quick=2000),
    "test_sentences": Option("--test-sentences", int, "tp5.attention: generated test sentences",
                             default=1000, quick=500),
    "series": Option("--series", str, "tp5.seq2seq: synthetic, co2, sunspots, or a CSV path", default="synthetic"),
    "input_len": Option("--input-len", int, "tp5.seq2seq: input steps", default=50),
    "output_len": Option("--output-len", int, "tp5.seq2seq: forecast steps", default=10),
    "season": Option("--season", int, "tp5.seq2seq: season length for the seasonal-naive baseline"),
})
EXPERIMENTS.extend([
    Experiment("tp5.attention", "tp5", "GRU + additive attention on a key-token task; attention focus measured",
               "dltp.labs.tp5_attention:run",
               ("seq_len", "vocab_size", "sentences", "test_sentences", "attention_entropy", "learning_rate"),
               defaults={"learning_rate": 3e-3, "epochs": Default(10, quick=6), "batch_size": 64}),
    Experiment("tp5.seq2seq", "tp5",
               "BiLSTM→LSTM seq2seq forecaster with cross-attention, autoregressive, vs naive baselines",
               "dltp.labs.tp5_seq2seq:run", ("series", "input_len", "output_len", "season", "learning_rate"),
               # Quick: 6 epochs with a 3× larger step, enough to beat the seasonal-naive forecast.
               defaults={"learning_rate": Default(1e-3, quick=3e-3), "epochs": Default(20, quick=6),
                         "batch_size": 64}),
])

# TP5 research challenge: latent video prediction on Moving MNIST (dltp.research). Every setting
# of the study, with its --quick value: the quick budget still trains every model and shows the
# instrument reading digits, with fewer sequences and epochs, one seed and no full-horizon depth.
OPTIONS.update({
    "sequences": Option("--sequences", int, "tp5.research: training sequences", default=600, quick=80),
    "test_sequences": Option("--test-sequences", int, "tp5.research: held-out test sequences (both protocols)",
                             default=1000, quick=100),
    "seeds": Option("--seeds", int, "tp5.research: predictor seeds, from --seed on", default=2, quick=1),
    # Rollout depth k: the fine-tuning epochs unroll k passes through the model's own predictions
    # (research.models.build_rollout_trainer); k = 1 is teacher forcing, 40 the whole test horizon.
    "depths": Option("--depths", int, "tp5.research: rollout depths of the fine-tuning, e.g. --depths 1 4 40",
                     nargs="+", default=(1, 4, 40), quick=(1, 4)),
    "rollout_epochs": Option("--rollout-epochs", int, "tp5.research: fine-tuning epochs at each rollout depth",
                             default=1),
    "ae_epochs": Option("--ae-epochs", int, "tp5.research: frame autoencoder epochs", default=3),
    "ae_frames": Option("--ae-frames", int, "tp5.research: frames of each training sequence the autoencoder "
                        "trains on", default=20, quick=10),
    "reader_epochs": Option("--reader-epochs", int, "tp5.research: identity instrument epochs", default=3,
                            quick=2),
    "reader_frames": Option("--reader-frames", int, "tp5.research: frames of each training sequence whose "
                            "digit crops the identity instrument trains on", default=20, quick=10),
    "baseline_epochs": Option("--baseline-epochs", int, "tp5.research: pixel-space baseline epochs", default=4,
                              quick=2),
    "baseline_windows": Option("--baseline-windows", int, "tp5.research: 10 → 10 windows of each training "
                               "sequence the pixel-space baseline trains on", default=8, quick=6),
    "resamples": Option("--resamples", int, "tp5.research: bootstrap resamples of every interval", default=2000,
                        quick=500),
    "results_dir": Option("--results-dir", str, "tp5.research: where results.json goes",
                          default="dltp-results/research"),
})
EXPERIMENTS.append(
    Experiment("tp5.research", "tp5", "Latent video prediction on Moving MNIST: GRU vs TAP-T vs TAP-M, "
               "teacher forcing vs rollout training at several depths, an identity instrument, a pixel-space "
               "baseline, 95 % intervals; results.json for `dltp paper`", "dltp.research.experiment:run",
               ("sequences", "test_sequences", "seeds", "depths", "rollout_epochs", "ae_epochs", "ae_frames",
                "reader_epochs", "reader_frames", "baseline_epochs", "baseline_windows", "resamples",
                "learning_rate", "results_dir"),
               defaults={"epochs": Default(8, quick=4), "batch_size": 32}))


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


def default(name: str, experiment: str | None = None, quick: bool = False) -> Any:
    """The default of option ``name`` (or of epochs, batch_size) in a run of ``experiment``: the
    experiment's own if it declares one, else the option's; its --quick value if ``quick``.
    ``experiment`` may be a lab id (a lab runner's run): the default its experiments share.
    None: the option's own."""
    if experiment is None:
        return (OPTIONS[name].defaults if name in OPTIONS else Default()).pick(quick)
    if any(e.id == experiment for e in EXPERIMENTS):
        return get(experiment).default(name).pick(quick)
    if not any(e.lab == experiment for e in EXPERIMENTS):
        get(experiment)  # the unknown-id error
    shared = [e.default(name) for e in EXPERIMENTS if e.lab == experiment and e.takes(name)]
    if any((d.pick(False), d.pick(True)) != (shared[0].pick(False), shared[0].pick(True)) for d in shared):
        raise ValueError(f"the experiments of {experiment} differ in the default of {name}: read it "
                         f"for one of them (RunConfig.for_experiment)")
    return shared[0].pick(quick) if shared else default(name, quick=quick)


def _shown(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(_shown(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _shown_default(d: Default) -> str:
    quick = "" if d.quick is SAME else f"--quick {_shown(d.quick)}"
    if d.full is None:  # not set: the option's help says what that means
        return quick
    return _shown(d.full) + (f", {quick}" if quick else "")


def help_text(name: str) -> str:
    """The argparse help of option ``name``: its text, then its default and those that experiments
    declare for it, e.g. "(default 600, --quick 120)" or "(default 0.001; tp4.conv3d: 0.003)"."""
    opt = OPTIONS[name]
    shown = [f"default {_shown_default(opt.defaults)}"] if opt.default is not None else \
        [_shown_default(opt.defaults)] if opt.quick is not SAME else []
    by_default: dict[str, list[str]] = {}
    for exp in EXPERIMENTS:
        if name in exp.defaults:
            by_default.setdefault(_shown_default(exp.defaults[name]), []).append(exp.id)
    shown += [f"{', '.join(ids)}: {value}" for value, ids in by_default.items()]
    text = f"{opt.help} ({'; '.join(shown)})" if shown else opt.help
    return text.replace("%", "%%")
