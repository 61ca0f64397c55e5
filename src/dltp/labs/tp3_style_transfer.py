"""TP3: neural style transfer, finished: the optimisation loop over the pixels.

A frozen VGG16 (ImageNet weights, no classifier) describes images: the activations of
block5_conv2 say *what* is where (content), the Gram matrices of block1_conv1 … block5_conv1 say
which textures and colours co-occur regardless of where (style). Starting from the content image,
Adam changes the pixels to lower  content_weight·content + style_weight·style + tv_weight·TV.

    dltp run tp3.style_transfer --content photo.jpg --style painting.jpg --steps 300
    dltp run tp3.style_transfer --weights vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5

Images: a file or one of scikit-image's bundled images. Weights: ``--weights PATH``, else Keras'
cache or download; offline → a loud warning and random weights (the pipeline runs and is
testable, the picture is not art). Gradients w.r.t. the pixels: ``dltp.models.gradients``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import keras
import mlflow
import numpy as np
from PIL import Image, UnidentifiedImageError

from dltp import plots, tracking
from dltp.config import RunConfig
from dltp.data.base import data_dir
from dltp.errors import DatasetUnavailable, DltpError
from dltp.labs.common import result
from dltp.models import style
from dltp.models.gradients import value_and_grad

EXPERIMENT = "tp3-convnets"
LEARNING_RATE = 4.0  # Adam step in pixel units (0-255)
CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT = 1.0, 1.0, 1e-3  # the weights of the three losses


def run(cfg: RunConfig, parent_run_id: str | None = None) -> dict:
    keras.utils.set_random_seed(cfg.seed)
    size, steps = cfg.value("image_size"), cfg.value("steps")
    if size < 32:
        raise DltpError("--image-size must be at least 32 (VGG16 halves the image five times)")
    if steps < 1:
        raise DltpError("--steps must be at least 1")

    # 1. Images: the content and the style picture, centre squares of --image-size pixels
    content_spec, style_spec = cfg.value("content"), cfg.value("style")
    content = load_image(content_spec, size)
    style_image = load_image(style_spec, size)

    # 2. Model: VGG16 with ImageNet weights, frozen, without its classifier (include_top=False)
    weights, weights_source = resolve_weights(cfg.value("weights"))
    params = {"content": content_spec, "style": style_spec, "image_size": size, "steps": steps,
              "weights": weights_source, "content_layer": style.CONTENT_LAYER,
              "style_layers": list(style.STYLE_LAYERS), "content_weight": CONTENT_WEIGHT,
              "style_weight": STYLE_WEIGHT, "tv_weight": TV_WEIGHT, "optimizer": "adam",
              "learning_rate": LEARNING_RATE, "quick": cfg.quick}
    tags = {"vgg16.weights": "imagenet" if weights else "random"}
    with tracking.run(EXPERIMENT, dltp_id="tp3.style_transfer", run_name=f"tp3.style_transfer-{size}px",
                      params=params, tags=tags, seed=cfg.seed, parent_run_id=parent_run_id) as active:
        extractor = style.feature_extractor(size, weights)  # the content and style layers' activations

        # 3. Loss and optimisation loop: Adam over the pixels, on content + style (Gram matrices) + total variation
        start = time.perf_counter()
        generated, history = transfer(content, style_image, extractor, steps, progress=True)
        seconds = time.perf_counter() - start
        for step, values in enumerate(zip(*history.values())):
            tracking.log_metrics({f"{k}_loss": v for k, v in zip(history, values)}, step=step)

        # 4. Result: the generated image, saved, beside its content and style; the loss curves
        panel, curve = figures(content, style_image, generated, history)
        tracking.log_figure(panel, "style_transfer.png")
        tracking.log_figure(curve, "loss_curve.png")
        out = Path(os.environ.get("DLTP_OUTPUT_DIR", ".")) / "style_transfer.png"
        Image.fromarray(generated).save(out)
        mlflow.log_artifact(str(out))
        return result(
            "tp3.style_transfer", active.info.run_id, _NoData, steps=steps, image_size=size,
            weights="imagenet" if weights else "random", initial_total_loss=history["total"][0],
            final_total_loss=history["total"][-1],
            style_loss_drop=1.0 - history["total"][-1] / history["total"][0] if history["total"][0] else None,
            final_content_loss=history["content"][-1],
            final_style_loss=history["style"][-1], seconds_per_step=seconds / steps, image=str(out.resolve()),
        )


# --------------------------------------------------------------------------- images, weights, the loop

def load_image(spec: str, size: int) -> np.ndarray:
    """A file path or a scikit-image bundled image name → float32 (size, size, 3) RGB, 0-255."""
    from skimage import data as skdata
    from skimage.transform import resize

    path = Path(spec).expanduser()
    if path.is_file():
        try:
            with Image.open(path) as im:
                image = np.asarray(im.convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise DltpError(f"{path}: not a readable image ({exc})") from exc
    elif spec.isidentifier() and spec in getattr(skdata, "__all__", dir(skdata)):
        image = getattr(skdata, spec)()
    else:
        raise DltpError(f"{spec!r} is neither an image file nor one of scikit-image's bundled images "
                        f"(e.g. chelsea, astronaut, coffee, rocket, immunohistochemistry)")
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3].astype(np.float32)
    if image.max() <= 1.0:
        image = image * 255.0
    h, w = image.shape[:2]
    side = min(h, w)  # centre square, then resize
    top, left = (h - side) // 2, (w - side) // 2
    square = image[top:top + side, left:left + side]
    return resize(square, (size, size), order=1, anti_aliasing=True, preserve_range=True).astype(np.float32)


def resolve_weights(path: str | None) -> tuple[str | None, str]:
    """(weights file or None for random, description). Never raises for a missing download."""
    from dltp.data.download import fetch

    if path:
        p = Path(path).expanduser()
        if not p.is_file():
            raise DltpError(f"--weights {path}: no such file (expected {style.WEIGHTS_FILE})")
        return str(p), str(p)
    for candidate in (Path("~/.keras/models").expanduser() / style.WEIGHTS_FILE,
                      data_dir() / "models" / style.WEIGHTS_FILE):
        if candidate.is_file():
            return str(candidate), str(candidate)
    try:
        dest = fetch(style.WEIGHTS_URL, data_dir() / "models" / style.WEIGHTS_FILE)
        return str(dest), style.WEIGHTS_URL
    except DatasetUnavailable as exc:
        bar = "!" * 78
        print(f"{bar}\nWARNING: VGG16 ImageNet weights unavailable ({exc}).\nWARNING: using RANDOM "
              f"weights: the pipeline runs, but the result is not a style transfer.\nWARNING: give "
              f"--weights PATH to a local {style.WEIGHTS_FILE}.\n{bar}", file=sys.stderr)
        return None, "random (ImageNet weights unavailable)"


def deprocess(x: np.ndarray) -> np.ndarray:
    """VGG16 input (BGR, mean removed) → uint8 RGB."""
    img = x.reshape(x.shape[-3:]).copy()
    img += np.array([103.939, 116.779, 123.68], dtype=np.float32)
    return np.clip(img[..., ::-1], 0, 255).astype(np.uint8)


def adam_step(x, grad, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    state["t"] += 1
    state["m"] = beta1 * state["m"] + (1 - beta1) * grad
    state["v"] = beta2 * state["v"] + (1 - beta2) * grad ** 2
    m_hat = state["m"] / (1 - beta1 ** state["t"])
    v_hat = state["v"] / (1 - beta2 ** state["t"])
    return x - lr * m_hat / (np.sqrt(v_hat) + eps)


def transfer(content: np.ndarray, style_image: np.ndarray, extractor, steps: int, *, content_weight=CONTENT_WEIGHT,
             style_weight=STYLE_WEIGHT, tv_weight=TV_WEIGHT, lr=LEARNING_RATE, progress=True):
    """Optimise the pixels; returns (final image uint8, history of the losses per step)."""
    from tqdm import tqdm

    pre = keras.applications.vgg16.preprocess_input
    c = pre(content[None].copy())
    s = pre(style_image[None].copy())
    loss_fn = style.make_loss(extractor, keras.ops.convert_to_tensor(c), keras.ops.convert_to_tensor(s),
                              content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight)
    grad_fn = value_and_grad(loss_fn)
    x = c.astype(np.float32)
    low = -np.array([103.939, 116.779, 123.68], dtype=np.float32)
    state = {"t": 0, "m": np.zeros_like(x), "v": np.zeros_like(x)}
    history: dict[str, list[float]] = {"total": [], "content": [], "style": [], "tv": []}
    bar = tqdm(range(steps), desc="style transfer", disable=not progress, file=sys.stderr)
    for _ in bar:
        loss, grad, aux = grad_fn(x)
        history["total"].append(loss)
        for k, v in aux.items():
            history[k].append(v)
        x = np.clip(adam_step(x, grad, state, lr), low, 255.0 + low).astype(np.float32)
        bar.set_postfix(loss=f"{loss:.4g}")
    final, _, aux = grad_fn(x)
    history["total"].append(final)
    for k, v in aux.items():
        history[k].append(v)
    return deprocess(x), history


def figures(content, style_image, generated, history):
    plt = plots.pyplot()

    fig, axes = plt.subplots(1, 3, figsize=(9, 3.3))
    for ax, img, title in zip(axes, (content, style_image, generated), ("content", "style", "generated")):
        ax.imshow(np.clip(img, 0, 255).astype(np.uint8))
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    curve, ax = plt.subplots(figsize=(5.5, 3.6))
    for k, v in history.items():
        ax.plot(v, label=k)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (weighted total; relative content/style; TV in pixels)")
    ax.legend()
    ax.grid(alpha=0.3)
    curve.tight_layout()
    return fig, curve


class _NoData:
    """The style transfer has no dataset; result() wants one."""

    name = "images"
    fallback = False
