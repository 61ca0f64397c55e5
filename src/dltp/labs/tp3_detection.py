"""TP3: object detection reduced to its core, one object per image.

Generated images hold one shape (disc, square, triangle) at a random place and size on a noisy
background. One CNN predicts both the class (softmax head) and the bounding box (a 4-number
regression head), trained with  cross-entropy + λ·Huber(box). Reported: class accuracy, mean IoU
of the predicted boxes, and the share of images whose box has IoU ≥ 0.5 *and* the right class
(the usual "correct detection" criterion).
"""

from __future__ import annotations

import time

import keras
import numpy as np

from dltp import plots, tracking, training
from dltp.config import RunConfig, require_at_least_one
from dltp.data.shapes import DETECTION_CLASSES, detection_images
from dltp.errors import DltpError
from dltp.labs.common import result
from dltp.models.detection import build_detector, compile_detector

EXPERIMENT = "tp3-convnets"


def run(cfg: RunConfig, parent_run_id: str | None = None) -> dict:
    keras.utils.set_random_seed(cfg.seed)
    box_weight = cfg.value("box_weight")
    if box_weight < 0:
        raise DltpError("--box-weight must be >= 0")
    n_train, n_test = cfg.value("detection_images"), cfg.value("detection_test_images")
    size, radius = cfg.value("detection_size"), tuple(cfg.value("object_radius"))
    _check_sizes(n_train, n_test, size, radius)
    params = {"epochs": cfg.value("epochs"), "batch_size": cfg.value("batch_size"),
              "box_weight": box_weight, "box_loss": "huber(0.1)", "n_train": n_train, "n_test": n_test,
              "image_size": size, "object_radius": radius, "classes": DETECTION_CLASSES, "quick": cfg.quick}

    # 1. Data: generated images, each with one object, its class and its box (x0, y0, x1, y1 in [0, 1])
    x_train, y_train, b_train = detection_images(n_train, seed=11, size=size, radius=radius)
    x_test, y_test, b_test = detection_images(n_test, seed=12, size=size, radius=radius)
    with tracking.run(EXPERIMENT, dltp_id="tp3.detection", run_name="tp3.detection", params=params,
                      tags={"dataset": "generated shapes"}, seed=cfg.seed, parent_run_id=parent_run_id) as active:
        train_pixels, test_pixels = x_train.astype("float32") / 255.0, x_test.astype("float32") / 255.0
        cut = int(len(train_pixels) * 0.9)  # the last 10 % for validation

        # 2. Model: one CNN, two heads (class softmax, box regression), loss = cross-entropy + λ·Huber(box)
        model = build_detector(train_pixels.shape[1:], len(DETECTION_CLASSES))
        compile_detector(model, box_weight)
        tracking.log_metrics({"parameters": model.count_params()})

        # 3. Training
        logger = training.EpochLogger()
        start = time.perf_counter()
        model.fit(train_pixels[:cut], {"class": y_train[:cut], "box": b_train[:cut]},
                  validation_data=(train_pixels[cut:], {"class": y_train[cut:], "box": b_train[cut:]}),
                  epochs=params["epochs"], batch_size=params["batch_size"], callbacks=[logger],
                  verbose=training.verbosity())
        train_seconds = time.perf_counter() - start

        # 4. Evaluation: class accuracy, IoU of the predicted boxes, correct detections (IoU ≥ 0.5 and right class)
        pred = model.predict(test_pixels, batch_size=256, verbose=0)
        pred_class = pred["class"].argmax(axis=1)
        scores = iou(b_test, pred["box"])
        figures = {
            "class_accuracy": float(np.mean(pred_class == y_test)),
            "mean_iou": float(scores.mean()),
            "iou50_accuracy": float(np.mean(scores >= 0.5)),
            "detection_accuracy": float(np.mean((scores >= 0.5) & (pred_class == y_test))),
        }
        tracking.log_metrics({f"test_{k}": v for k, v in figures.items()})
        tracking.log_figure(boxes_figure(x_test, y_test, b_test, pred_class, pred["box"]), "boxes.png")
        tracking.log_keras_model(model, "model")
        return result("tp3.detection", active.info.run_id, _Generated, epochs=params["epochs"],
                      box_weight=box_weight, **figures, parameters=model.count_params(),
                      train_seconds=train_seconds)


def _check_sizes(n_train: int, n_test: int, size: int, radius: tuple[float, float]) -> None:
    if n_train < 10:
        raise DltpError("--detection-images must be at least 10 (a tenth of them validate)")
    require_at_least_one(detection_test_images=n_test)
    if size < 16:
        raise DltpError("--detection-size must be at least 16 (the detector halves the image four times)")
    if not 0 < radius[0] <= radius[1] < 0.5:
        raise DltpError("--object-radius MIN MAX needs 0 < MIN <= MAX < 0.5 (fractions of the image side)")


# --------------------------------------------------------------------------- measures and figures

def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes (N, 4) = x0, y0, x1, y1, row by row."""
    x0, y0 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x1, y1 = np.minimum(a[:, 2], b[:, 2]), np.minimum(a[:, 3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda r: np.clip(r[:, 2] - r[:, 0], 0, None) * np.clip(r[:, 3] - r[:, 1], 0, None)  # noqa: E731
    union = area(a) + area(b) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def boxes_figure(x, y, boxes, pred_class, pred_boxes, n: int = 12):
    """Up to ``n`` test images with the true box (green) and the predicted one (red)."""
    from matplotlib.patches import Rectangle

    plt = plots.pyplot()

    n = min(n, len(x))
    cols = min(6, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2 * cols, 2.2 * rows), squeeze=False)
    size = x.shape[1]
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(x[i])
        for box, colour in ((boxes[i], "lime"), (pred_boxes[i], "red")):
            x0, y0, x1, y1 = box * size
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, linewidth=1.5))
        score = iou(boxes[i:i + 1], pred_boxes[i:i + 1])[0]
        ax.set_title(f"{DETECTION_CLASSES[pred_class[i]]} (true {DETECTION_CLASSES[y[i]]})\nIoU {score:.2f}",
                     fontsize=7, color="black" if pred_class[i] == y[i] else "red")
    fig.suptitle("green: true box, red: predicted box")
    fig.tight_layout()
    return fig


class _Generated:
    """The detection data is generated here; result() wants a dataset."""

    name = "generated_shapes"
    fallback = False
