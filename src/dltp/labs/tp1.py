"""TP1: the dense MNIST classifier, trained with the original recipe and tracked end to end.

Input 784 → Dense 512 relu → Dropout 0.2 → Dense 10 softmax; Adam; sparse categorical
cross-entropy; 5 epochs, batch 128, the last 10 % of the training images for validation.
The model is registered as ``mnist-dense`` with the statistics of its training inputs, which the
serving side uses to detect drift; the ``champion`` alias moves only to a better model.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from dltp import plots, tracking, training
from dltp.config import RunConfig
from dltp.data import ImageData, load_images
from dltp.errors import DltpError
from dltp.labs.common import evaluate_classifier, flat_pixels, result
from dltp.models.dense import build_dense

EXPERIMENT = "tp1-mnist-dense"
MODEL_NAME = "mnist-dense"


def run(cfg: RunConfig) -> dict:
    if cfg.resume:
        return resume(cfg.resume)
    keras.utils.set_random_seed(cfg.seed)
    # 1. Data: MNIST (or any 28×28 grey set), pixels /255 and flattened; the last 10 % validate
    data = _dataset(cfg, cfg.dataset)
    params = {
        "epochs": cfg.value("epochs"),
        "batch_size": cfg.value("batch_size"),
        "dropout": cfg.value("dropout"),
        "hidden_units": 512,
        "optimizer": "adam",
        "learning_rate": cfg.value("learning_rate"),
        "val_fraction": 0.1,
        "quick": cfg.quick,
    }
    with tracking.run(EXPERIMENT, dltp_id="tp1", run_name=f"tp1-{data.name}", params=params, data=data,
                      seed=cfg.seed) as active:
        return _train(active.info.run_id, data, params, model=None, epochs_done=0)


def _train(run_id: str, data: ImageData, params: dict, *, model, epochs_done: int) -> dict:
    x_train, y_train, x_val, y_val = data.train_val_split(params.get("val_fraction", 0.1))
    x_tr, x_va, x_te = flat_pixels(x_train), flat_pixels(x_val), flat_pixels(data.x_test)

    # 2. Model: 784 → Dense 512 relu → Dropout → Dense 10 softmax, Adam (a resumed run brings its own)
    if model is None:
        model = build_dense(x_tr.shape[1], data.num_classes, dropout=params["dropout"])
        model.compile(optimizer=keras.optimizers.Adam(params["learning_rate"]),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      steps_per_execution=training.steps_per_execution())
        tracking.log_metrics({"parameters": model.count_params()})

    # 3. Training: every epoch logged and checkpointed, so that an interrupted run can resume
    start = time.perf_counter()
    training.fit(model, x_tr, y_train, validation_data=(x_va, y_val), epochs=params["epochs"],
                 batch_size=params["batch_size"], initial_epoch=epochs_done)
    train_seconds = time.perf_counter() - start

    # 4. Evaluation: curves from the run itself, so a resumed run plots all of its epochs.
    history = {k: tracking.metric_history(run_id, k)
               for k in ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_time_s")}
    tracking.log_figure(plots.training_curves(history, f"TP1 dense classifier — {data.name}"),
                        "training_curves.png")
    test = evaluate_classifier(model, x_te, data.y_test, data.class_names,
                               title=f"TP1 — {data.name} test set")

    # 5. Registration: the model with its drift reference, registered as mnist-dense
    val_probabilities = model.predict(x_va, batch_size=1024, verbose=0)
    stats = reference_statistics(x_train, y_train, data.num_classes, val_probabilities)
    stats["dataset"] = data.name
    # An MLflow model (Keras flavor + pyfunc, signature, input example: pixels / 255 as in training),
    # with the drift reference beside MLmodel for `dltp serve`.
    source, model_id = tracking.log_mlflow_keras_model(model, x_te[:1], "model",
                                                       {"reference_stats.json": stats})
    tracking.log_json(stats, "reference_stats.json")
    version, champion = tracking.register_model(
        MODEL_NAME, source, run_id, score_key="test_accuracy", score=test["test_accuracy"],
        dataset=data.name, fallback=data.fallback, model_id=model_id)
    return result(
        "tp1", run_id, data,
        epochs=params["epochs"],
        train_accuracy=history["accuracy"][-1], val_accuracy=history["val_accuracy"][-1],
        test_accuracy=test["test_accuracy"], test_loss=test["test_loss"],
        epoch_time_s=float(np.mean(history["epoch_time_s"])) if history["epoch_time_s"] else None,
        train_seconds=train_seconds, model_name=MODEL_NAME, model_version=version, champion=champion,
    )


# --------------------------------------------------------------------------- data, resume, drift reference

def _dataset(cfg: RunConfig, name: str | None) -> ImageData:
    data = load_images(name, default="mnist")
    if data.image_shape != (28, 28, 1):
        raise DltpError(f"TP1 needs 28×28 grey images; {data.name} has {data.image_shape}")
    subset = cfg.value("subset")  # [training, test] images; None: all of them
    if subset and min(subset) < 1:
        raise DltpError("--subset takes two counts of at least 1")
    return data.subset(*subset) if subset else data


def resume(run_id: str) -> dict:
    """Continue an interrupted TP1 run from its last completed epoch, into the same run."""
    from mlflow.exceptions import MlflowException

    try:
        previous = tracking.client().get_run(run_id)
    except MlflowException as exc:
        raise DltpError(f"no run {run_id!r} in {tracking.tracking_uri()}") from exc
    experiment = tracking.client().get_experiment(previous.info.experiment_id).name
    if experiment != EXPERIMENT:
        raise DltpError(f"run {run_id} belongs to experiment {experiment!r}, not {EXPERIMENT!r}")
    if previous.info.status == "FINISHED":
        raise DltpError(f"run {run_id} already finished: nothing to resume")
    p = previous.data.params
    params = {"epochs": int(p["epochs"]), "batch_size": int(p["batch_size"]), "dropout": float(p["dropout"]),
              "learning_rate": float(p["learning_rate"]), "quick": p.get("quick") == "True"}
    seed = int(p.get("seed", 42))
    keras.utils.set_random_seed(seed)
    data = _dataset(RunConfig(quick=params["quick"]), p["dataset"])
    if p.get("dataset_fallback") == "True":
        data.fallback_from = previous.data.tags.get("dataset.fallback", "unknown").split()[0]
    model, epochs_done = training.load_checkpoint(run_id)
    print(f"resuming run {run_id} after epoch {epochs_done} of {params['epochs']}")
    with tracking.run(EXPERIMENT, resume_run_id=run_id):
        return _train(run_id, data, params, model=model, epochs_done=epochs_done)


# Bins of the per-image mean pixel value (0-255) used by drift monitoring.
MEAN_PIXEL_EDGES = np.linspace(0.0, 255.0, 52)


def reference_statistics(x_train: np.ndarray, y_train: np.ndarray, num_classes: int,
                         val_probabilities: np.ndarray | None = None) -> dict:
    """What the training inputs looked like, for comparison with live traffic."""
    means = x_train.reshape(len(x_train), -1).mean(axis=1)
    counts, _ = np.histogram(means, bins=MEAN_PIXEL_EDGES)
    stats = {
        "version": 1,
        "n_images": int(len(x_train)),
        "mean_pixel": {
            "edges": MEAN_PIXEL_EDGES.tolist(),
            "counts": counts.tolist(),
            "mean": float(means.mean()),
            "std": float(means.std()),
        },
        "pixel_mean": float(x_train.mean()),
        "pixel_std": float(x_train.std()),
        "class_frequencies": (np.bincount(y_train, minlength=num_classes) / len(y_train)).tolist(),
    }
    if val_probabilities is not None:
        predicted = val_probabilities.argmax(axis=1)
        stats["val_predicted_frequencies"] = (np.bincount(predicted, minlength=num_classes)
                                              / len(predicted)).tolist()
        stats["val_mean_confidence"] = float(val_probabilities.max(axis=1).mean())
    return stats
