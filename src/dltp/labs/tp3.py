"""TP3 ex. 1 and 2: a basic CNN and a Mini-ResNet on CIFAR-10 (or any image dataset), trained with
the original recipe or a ``fast`` one, and compared side by side.

    dltp run tp3.cnn                       # original recipe: Adam, batch 64
    dltp run tp3.resnet --recipe fast      # augmentation + warm-up/cosine AdamW + label smoothing
    dltp run tp3 --dataset fashion_mnist   # both models, compared, then style transfer and detection

The input shape comes from the data, so the same models train on Fashion-MNIST (28×28×1).
Every run logs its curves, test accuracy, confusion matrix, parameter count and time per epoch.
"""

from __future__ import annotations

import time

import keras
import mlflow
import numpy as np

from dltp import plots, tracking, training
from dltp.config import RunConfig
from dltp.data import ImageData, load_images
from dltp.errors import DltpError
from dltp.labs.common import evaluate_classifier, image_pixels, result
from dltp.models import recipes
from dltp.models.cnn import build_cnn
from dltp.models.resnet import build_resnet

EXPERIMENT = "tp3-convnets"
BUILDERS = {"cnn": build_cnn, "resnet": build_resnet}
TITLES = {"cnn": "basic CNN", "resnet": "Mini-ResNet"}


def run_cnn(cfg: RunConfig) -> dict:
    return train_classifier("cnn", cfg, load_data(cfg))


def run_resnet(cfg: RunConfig) -> dict:
    return train_classifier("resnet", cfg, load_data(cfg))


def load_data(cfg: RunConfig) -> ImageData:
    """The dataset (CIFAR-10 unless --dataset says otherwise, with the offline fallback), cut to
    --train-images / --test-images."""
    for flag, least in (("train_images", 20), ("test_images", 1)):
        if cfg.given(flag) is not None and cfg.given(flag) < least:
            raise DltpError(f"--{flag.replace('_', '-')} must be at least {least}")
    data = load_images(cfg.dataset, default="cifar10", quick=cfg.quick)
    if data.x_train.ndim not in (3, 4):
        raise DltpError(f"TP3 needs images; {data.name} has shape {data.x_train.shape[1:]}")
    if cfg.quick and data.name == "shapes":
        # The generated shapes came in their quick form already (load_images): only the user's cut applies.
        return data.subset(cfg.given("train_images"), cfg.given("test_images"))
    return data.subset(cfg.value("train_images"), cfg.value("test_images"))


def train_classifier(kind: str, cfg: RunConfig, data: ImageData, parent_run_id: str | None = None) -> dict:
    """Train one model (``cnn`` or ``resnet``) with the recipe of ``cfg``, tracked; its results."""
    keras.utils.set_random_seed(cfg.seed)
    recipe = recipes.settings(cfg.value("recipe"))
    params = {**recipe, "model": kind, "epochs": cfg.value("epochs"),
              "batch_size": cfg.given("batch_size") or recipe["batch_size"],
              "val_fraction": 0.1, "train_images": len(data.x_train), "quick": cfg.quick}
    flip = data.name in recipes.FLIP_SAFE
    if recipe["augment"]:
        params["augment"] = f"shift ±2 px{' + horizontal flip' if flip else ''}"
    dltp_id = f"tp3.{kind}"
    with tracking.run(EXPERIMENT, dltp_id=dltp_id, run_name=f"{dltp_id}-{params['recipe']}-{data.name}",
                      params=params, data=data, seed=cfg.seed, parent_run_id=parent_run_id) as active:
        # 1. Data: 10 % of the training images held out for validation, pixels scaled to [0, 1]
        x_train, y_train, x_val, y_val = data.train_val_split(params["val_fraction"])
        x_tr, x_va, x_te = image_pixels(x_train), image_pixels(x_val), image_pixels(data.x_test)

        # 2. Model: the basic CNN or the Mini-ResNet, compiled with the recipe's optimizer and loss
        model = BUILDERS[kind](x_tr.shape[1:], data.num_classes)
        steps = -(-len(x_tr) // params["batch_size"])
        recipes.compile_for(model, params, steps, data.num_classes)
        n_params = model.count_params()
        tracking.log_metrics({"parameters": n_params})

        # 3. Training: every epoch's metrics logged as it ends
        logger = training.EpochLogger()
        if recipe["augment"]:
            train = recipes.AugmentedBatches(x_tr, y_train, params["batch_size"], flip=flip, seed=cfg.seed)
            fit_args = {"x": train}
        else:
            fit_args = {"x": x_tr, "y": y_train, "batch_size": params["batch_size"], "shuffle": True}
        start = time.perf_counter()
        model.fit(**fit_args, validation_data=(x_va, y_val), epochs=params["epochs"], callbacks=[logger],
                  verbose=training.verbosity())
        train_seconds = time.perf_counter() - start
        history = logger.history

        # 4. Evaluation: learning curves, test accuracy, confusion matrix, speed
        tracking.log_figure(plots.training_curves(history, f"TP3 {TITLES[kind]} ({params['recipe']}) — {data.name}"),
                            "training_curves.png")
        test = evaluate_classifier(model, x_te, data.y_test, data.class_names,
                                   title=f"TP3 {TITLES[kind]} — {data.name} test set")
        epoch_time = float(np.mean(history["epoch_time_s"]))
        images_per_s = len(x_tr) / epoch_time
        tracking.log_metrics({"train_images_per_s": images_per_s, "train_seconds": train_seconds})
        tracking.log_keras_model(model, "model")
        best = int(np.argmin(history["val_loss"])) + 1
        return result(
            dltp_id, active.info.run_id, data, model=kind, recipe=params["recipe"], epochs=params["epochs"],
            parameters=n_params, train_accuracy=history["accuracy"][-1], val_accuracy=history["val_accuracy"][-1],
            best_val_loss_epoch=best, test_accuracy=test["test_accuracy"], test_loss=test["test_loss"],
            epoch_time_s=epoch_time, train_images_per_s=images_per_s, train_images=len(x_tr),
        )


def run_lab(cfg: RunConfig) -> dict:
    """`dltp run tp3`: CNN and Mini-ResNet on the same data and recipe, compared in a parent run;
    then the style transfer and the detection head."""
    from dltp.labs import tp3_detection, tp3_style_transfer

    data = load_data(cfg)
    recipe = cfg.value("recipe")
    with tracking.run(EXPERIMENT, dltp_id="tp3", run_name=f"tp3-compare-{recipe}-{data.name}",
                      params={"recipe": recipe, "quick": cfg.quick}, data=data, seed=cfg.seed) as parent:
        pid = parent.info.run_id
        # 5. Comparison: the CNN and the Mini-ResNet on the same data, side by side
        results = {kind: train_classifier(kind, cfg.for_experiment(f"tp3.{kind}"), data, parent_run_id=pid)
                   for kind in BUILDERS}
        winner = max(results, key=lambda k: results[k]["test_accuracy"])
        table = {k: {key: r[key] for key in ("test_accuracy", "train_accuracy", "val_accuracy", "parameters",
                                             "epoch_time_s", "train_images_per_s", "run_id")}
                 for k, r in results.items()}
        tracking.log_json({"dataset": data.name, "recipe": recipe, "models": table, "winner": winner},
                          "comparison.json")
        tracking.log_figure(comparison_figure(results, data.name), "comparison.png")
        tracking.log_metrics({f"{k}_test_accuracy": r["test_accuracy"] for k, r in results.items()})
        mlflow.set_tags({"tp3.winner": winner})

        # 6. The concepts made concrete: neural style transfer, then one-object detection
        style = tp3_style_transfer.run(cfg.for_experiment("tp3.style_transfer"), parent_run_id=pid)
        detection = tp3_detection.run(cfg.for_experiment("tp3.detection"), parent_run_id=pid)
        print(f"TP3 on {data.name} ({recipe} recipe): CNN {results['cnn']['test_accuracy']:.4f} vs "
              f"Mini-ResNet {results['resnet']['test_accuracy']:.4f} -> {TITLES[winner]} wins")
        return result(
            "tp3", pid, data, recipe=recipe, winner=winner,
            cnn_test_accuracy=results["cnn"]["test_accuracy"], resnet_test_accuracy=results["resnet"]["test_accuracy"],
            cnn_parameters=results["cnn"]["parameters"], resnet_parameters=results["resnet"]["parameters"],
            cnn_epoch_time_s=results["cnn"]["epoch_time_s"], resnet_epoch_time_s=results["resnet"]["epoch_time_s"],
            style_total_loss=style["final_total_loss"], style_loss_drop=style["style_loss_drop"],
            detection_mean_iou=detection["mean_iou"],
            detection_class_accuracy=detection["class_accuracy"],
        )


# --------------------------------------------------------------------------- figures

def comparison_figure(results: dict[str, dict], dataset: str):
    plt = plots.pyplot()

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    names = [TITLES[k] for k in results]
    for ax, key, label in zip(axes, ("test_accuracy", "parameters", "epoch_time_s"),
                              ("test accuracy", "parameters", "seconds per epoch")):
        values = [results[k][key] for k in results]
        ax.bar(names, values, color=["tab:blue", "tab:orange"][: len(values)])
        for i, v in enumerate(values):
            ax.text(i, v, f"{v:.4f}" if key == "test_accuracy" else f"{v:,.0f}" if key == "parameters"
                    else f"{v:.1f}", ha="center", va="bottom", fontsize=8)
        ax.set_title(label)
    fig.suptitle(f"TP3 — CNN vs Mini-ResNet on {dataset}")
    fig.tight_layout()
    return fig
