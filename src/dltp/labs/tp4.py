"""TP4: segmentation with a U-Net, and a Conv3D network trained on real (generated) volumes.

``tp4.unet``   the original U-Net on simulated circle images, Dice loss, Dice and IoU metrics,
               a PNG of input / truth / prediction, and the IoU-vs-Dice perturbation table.
``tp4.conv3d`` the original Conv3D network, trained for real to tell a sphere from a cube in noisy
               32³ volumes; MLflow experiment ``3D_Volumetric_Analysis`` with the architecture
               JSON, the hyper-parameters, the validation metrics (used to tune) and the held-out test ones.
The memory study of 3D convolutions is ``tp4.memory`` (dltp.labs.tp4_memory).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from dltp import plots, tables, tracking, training
from dltp.config import RunConfig, require_at_least_one
from dltp.data.circles import VARIANTS, disc_mask, load_circles
from dltp.data.volumes import load_volumes
from dltp.errors import DltpError
from dltp.labs.common import result
from dltp.losses import LOSSES
from dltp.metrics import binary_scores, dice_coefficient, iou
from dltp.models.conv3d import build_conv3d
from dltp.models.schedules import LinearWarmup
from dltp.models.unet import build_unet

UNET_EXPERIMENT = "tp4-unet-segmentation"
VOLUME_EXPERIMENT = "3D_Volumetric_Analysis"  # the original lab's experiment name


# --------------------------------------------------------------------------- 1. U-Net segmentation

def run_unet(cfg: RunConfig) -> dict:
    keras.utils.set_random_seed(cfg.seed)
    variant = cfg.value("variant")
    if cfg.dataset not in (None, "circles"):
        raise DltpError(f"tp4.unet generates its data (--dataset circles); harder sets: --variant "
                        f"{'/'.join(v for v in VARIANTS if v != 'circles')}")
    loss_name = cfg.value("loss")
    if loss_name not in LOSSES:
        raise DltpError(f"unknown --loss {loss_name!r}; choose from {', '.join(LOSSES)}")
    n_train, n_val = cfg.value("circle_images")
    size = cfg.value("circle_size")
    require_at_least_one(circle_images=min(n_train, n_val))
    levels = len(cfg.value("filters"))
    if size % 2 ** levels:  # every level halves the image, and the decoder doubles it back
        raise DltpError(f"--circle-size must be a multiple of {2 ** levels} (one halving per --filters level)")

    # Data: seeded noisy images of one circle (or the harder --variant), the circle as the mask
    data = load_circles(variant, n_train=n_train, n_val=n_val, size=size, seed=cfg.seed)
    params = {
        "variant": variant, "n_train": n_train, "n_val": n_val, **data.settings,
        "filters": cfg.value("filters"), "bottleneck": cfg.value("bottleneck"),
        "loss": loss_name, "optimizer": "adam",
        "learning_rate": cfg.value("learning_rate"),
        "epochs": cfg.value("epochs"), "batch_size": cfg.value("batch_size"), "quick": cfg.quick,
    }

    # Model: the U-Net (conv blocks and pooling down, transposed convolutions and concatenated skips up)
    model = build_unet(data.x_train.shape[1:], params["filters"], params["bottleneck"])
    model.compile(optimizer=keras.optimizers.Adam(params["learning_rate"]), loss=LOSSES[loss_name],
                  metrics=[dice_coefficient, iou])
    with tracking.run(UNET_EXPERIMENT, dltp_id="tp4.unet", run_name=f"unet-{data.name}", params=params,
                      data=data, seed=cfg.seed) as active:
        tracking.log_metrics({"parameters": model.count_params()})
        # Training: Dice and IoU on the validation images every epoch
        with tracking.Timer() as fit_time:
            history = training.fit(model, data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                                   epochs=params["epochs"], batch_size=params["batch_size"], checkpoint=False).history
        tracking.log_figure(_curves(history), "training_curves.png")

        # Evaluation: thresholded masks scored, predictions drawn, and the IoU-vs-Dice question answered
        probabilities = model.predict(data.x_val, batch_size=8, verbose=0)
        hard_scores = binary_scores(data.y_val, probabilities)  # thresholded at 0.5, mean over images
        tracking.log_metrics({"val_dice_hard": hard_scores["dice"], "val_iou_hard": hard_scores["iou"]})
        tracking.log_figure(prediction_figure(data.x_val[:4], data.y_val[:4], probabilities[:4]), "predictions.png")

        perturbations = perturbation_table()
        tracking.log_json(perturbations, "iou_vs_dice.json")
        tracking.log_text(perturbation_markdown(perturbations), "iou_vs_dice.md")
        tracking.log_figure(perturbation_figure(perturbations), "iou_vs_dice.png")
        tracking.log_keras_model(model, "model")
        return result(
            "tp4.unet", active.info.run_id, data, variant=variant, epochs=params["epochs"],
            parameters=model.count_params(),
            val_dice=history["val_dice_coefficient"][-1], val_iou=history["val_iou"][-1],
            val_dice_hard=hard_scores["dice"], val_iou_hard=hard_scores["iou"], val_loss=history["val_loss"][-1],
            epoch_time_s=float(np.mean(history["epoch_time_s"])), train_seconds=fit_time.seconds,
            iou_vs_dice=perturbations,
        )


def _curves(history: dict):
    """Loss, and Dice and IoU (validation solid, training dashed), per epoch."""
    scores = [curve for key, label in (("dice_coefficient", "Dice"), ("iou", "IoU"))
              for curve in (plots.Curve(f"val {label}", history[f"val_{key}"], "s-"),
                            plots.Curve(f"train {label}", history[key], "o--", alpha=0.6))]
    return plots.curves_figure([plots.train_and_validation(history, "loss"), plots.Panel(scores, ylabel="score")],
                               "TP4 U-Net")


def prediction_figure(x, y, p):
    """One row per image: input, true mask, predicted probability (with its Dice/IoU)."""
    fig, axes = plots.pyplot().subplots(len(x), 3, figsize=(7.5, 2.5 * len(x)), squeeze=False)
    for i in range(len(x)):
        scores = binary_scores(y[i:i + 1], p[i:i + 1])
        for ax, img, title in zip(axes[i], (x[i], y[i], p[i]),
                                  ("input", "truth", f"prediction  Dice {scores['dice']:.3f} IoU {scores['iou']:.3f}")):
            mask_range = {} if title == "input" else {"vmin": 0, "vmax": 1}  # masks and probabilities: 0 to 1
            ax.imshow(img[..., 0], cmap="gray", **mask_range)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- 2. IoU vs Dice, measured

def _perturb(mask: np.ndarray, kind: str, pixels: int) -> np.ndarray:
    from scipy import ndimage

    cross = ndimage.generate_binary_structure(2, 1)
    if kind == "erosion":
        return ndimage.binary_erosion(mask, cross, iterations=pixels)
    if kind == "dilation":
        return ndimage.binary_dilation(mask, cross, iterations=pixels)
    if kind == "shift":
        return np.roll(mask, pixels, axis=1)
    raise ValueError(kind)


def perturbation_table(radii=(3, 6, 12, 24, 48), pixels: int = 2, size: int = 128) -> list[dict]:
    """Dice and IoU of a disc's true mask against the same mask eroded, dilated or shifted by a fixed
    number of pixels, for several object sizes: the same boundary error, objects of every size."""
    rows = []
    for r in radii:
        truth = disc_mask(size, (size / 2, size / 2), r)
        for kind in ("erosion", "dilation", "shift"):
            pred = _perturb(truth, kind, pixels)
            t, p = truth[None, ..., None].astype("float32"), pred[None, ..., None].astype("float32")
            d, j = float(dice_coefficient(t, p)), float(iou(t, p))
            rows.append({"radius": r, "object_pixels": int(truth.sum()), "perturbation": kind, "pixels": pixels,
                         "dice": d, "iou": j, "dice_drop": 1 - d, "iou_drop": 1 - j})
    return rows


def perturbation_markdown(rows: list[dict]) -> str:
    header = ("radius", "object px", "perturbation", "Dice", "IoU", "1−Dice", "1−IoU")
    return tables.markdown(header, [(r["radius"], r["object_pixels"], f"{r['perturbation']} {r['pixels']} px",
                                     r["dice"], r["iou"], r["dice_drop"], r["iou_drop"]) for r in rows])


def perturbation_figure(rows: list[dict]):
    fig, ax = plots.pyplot().subplots(figsize=(6.4, 4.2))
    for kind, marker in (("erosion", "o"), ("dilation", "s"), ("shift", "^")):
        sel = [r for r in rows if r["perturbation"] == kind]
        ax.plot([r["radius"] for r in sel], [r["dice"] for r in sel], marker + "-", label=f"Dice, {kind}")
        ax.plot([r["radius"] for r in sel], [r["iou"] for r in sel], marker + "--", label=f"IoU, {kind}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("object radius (pixels)")
    ax.set_ylabel("score")
    ax.set_title(f"Same {rows[0]['pixels']}-pixel error, objects of every size")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- 3. Conv3D, trained for real

def run_conv3d(cfg: RunConfig) -> dict:
    keras.utils.set_random_seed(cfg.seed)
    if cfg.dataset not in (None, "volumes"):
        raise DltpError("tp4.conv3d generates its data (--dataset volumes)")
    n_train, n_val, n_test = cfg.value("volumes")
    size = cfg.value("volume_size")
    require_at_least_one(volumes=min(n_train, n_val, n_test))
    if size < 16 or size % 4:  # the network pools twice; the smallest sphere has radius 4
        raise DltpError("--volume-size must be a multiple of 4, at least 16")

    # Data: noisy volumes holding a sphere or a cube of the same volume; validation tunes, test only scores
    data = load_volumes(n_train=n_train, n_val=n_val, n_test=n_test, size=size, seed=cfg.seed)
    params = {
        "task": "sphere vs cube", "n_train": n_train, "n_val": n_val, "n_test": n_test, **data.settings,
        "filters": [16, 32], "kernel": 3, "optimizer": "adam",
        "learning_rate": cfg.value("learning_rate"),
        "warmup_steps": math.ceil(n_train / cfg.value("batch_size")),  # one epoch
        "epochs": cfg.value("epochs"), "batch_size": cfg.value("batch_size"), "quick": cfg.quick,
    }

    # Model: the original Conv3D network, Adam with a one-epoch warm-up
    model = build_conv3d(data.x_train.shape[1:])
    # Warm-up: Adam's first steps move each of the head's 16,384 weights by the full rate, which
    # saturated the sigmoid; the gradients that followed pushed every conv2 unit below zero, and a
    # ReLU that is never positive never learns again (loss stuck at log 2). dltp.models.schedules.
    rate = LinearWarmup(params["learning_rate"], params["warmup_steps"])
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="binary_crossentropy",
                  metrics=["accuracy", keras.metrics.AUC(name="auc")])
    with tracking.run(VOLUME_EXPERIMENT, dltp_id="tp4.conv3d", run_name="conv3d-sphere-vs-cube", params=params,
                      data=data, seed=cfg.seed) as active:
        tracking.log_text(model.to_json(indent=2), "architecture.json")
        tracking.log_metrics({"parameters": model.count_params()})
        # Training: the validation volumes measured every epoch
        with tracking.Timer() as fit_time:
            history = training.fit(model, data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                                   epochs=params["epochs"], batch_size=params["batch_size"], checkpoint=False).history
        tracking.log_figure(plots.training_curves(history, "TP4 Conv3D — sphere vs cube"), "training_curves.png")

        # Evaluation: the held-out test volumes, scored once
        test_loss, test_accuracy, test_auc = model.evaluate(data.x_test, data.y_test, batch_size=32, verbose=0)
        tracking.log_metrics({"test_loss": test_loss, "test_accuracy": test_accuracy, "test_auc": test_auc})
        probabilities = model.predict(data.x_test, batch_size=32, verbose=0)[:, 0]
        predicted = (probabilities > 0.5).astype(int)
        confusion = plots.confusion_matrix(data.y_test, predicted, 2)
        tracking.log_figure(plots.confusion_matrix_figure(confusion, data.class_names, "Conv3D held-out test volumes"),
                            "confusion_matrix.png")
        tracking.log_keras_model(model, "model")
        chance = float(max(np.mean(data.y_test), 1 - np.mean(data.y_test)))  # the larger class's share
        return result(
            "tp4.conv3d", active.info.run_id, data, epochs=params["epochs"], parameters=model.count_params(),
            test_accuracy=float(test_accuracy), test_auc=float(test_auc), test_loss=float(test_loss),
            val_accuracy=history["val_accuracy"][-1], val_auc=history["val_auc"][-1],
            val_loss=history["val_loss"][-1], train_accuracy=history["accuracy"][-1],
            chance_accuracy=chance, epoch_time_s=float(np.mean(history["epoch_time_s"])),
            train_seconds=fit_time.seconds,
        )
