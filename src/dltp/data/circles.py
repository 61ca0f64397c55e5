"""Simulated segmentation data for TP4: grey 128×128 images of bright discs in Gaussian noise,
the mask being the discs.

The original recipe is one random circle, noise σ 0.1, 500 training and 100 validation images.
Harder variants give Dice and IoU something to show: several objects, small objects, a lower
contrast between disc and background. Everything is generated from a seed, so the same seed gives
the same images on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dltp.errors import DltpError

# name -> generator settings. "circles" is the original recipe.
VARIANTS: dict[str, dict] = {
    "circles": {"objects": (1, 1), "radius": (10, 30), "contrast": 1.0},
    "multi": {"objects": (2, 5), "radius": (6, 20), "contrast": 1.0},
    "small": {"objects": (1, 3), "radius": (2, 6), "contrast": 1.0},
    "faint": {"objects": (1, 1), "radius": (10, 30), "contrast": 0.25},
}


@dataclass
class SegmentationData:
    """Images (N, H, W, 1) float32 and binary masks of the same shape, split train/validation."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    settings: dict = field(default_factory=dict)
    fallback_from: str | None = None  # generated data never falls back; kept for tracking.run

    @property
    def fallback(self) -> bool:
        return False


def disc_mask(size: int, centre: tuple[float, float], radius: float) -> np.ndarray:
    """Boolean (size, size) mask of the pixels whose centre lies within ``radius`` of ``centre``."""
    yy, xx = np.mgrid[0:size, 0:size]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2


def make_circles(n: int, *, size: int = 128, noise: float = 0.1, objects: tuple[int, int] = (1, 1),
                 radius: tuple[float, float] = (10, 30), contrast: float = 1.0,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images and masks: discs of value ``contrast`` on 0, plus N(0, noise²) noise."""
    if n < 1 or size < 8:
        raise DltpError("make_circles needs n >= 1 and size >= 8")
    lo, hi = radius
    if not 0 < lo <= hi < size / 2:
        raise DltpError(f"radius range {radius} must satisfy 0 < min <= max < size/2")
    masks = np.zeros((n, size, size), dtype=bool)
    for i in range(n):
        for _ in range(rng.integers(objects[0], objects[1] + 1)):
            r = rng.uniform(lo, hi)
            centre = rng.uniform(r, size - 1 - r, size=2)  # the whole disc inside the image
            masks[i] |= disc_mask(size, centre, r)
    images = contrast * masks + rng.normal(0.0, noise, size=masks.shape)
    return images.astype("float32")[..., None], masks.astype("float32")[..., None]


def load_circles(variant: str = "circles", *, n_train: int = 500, n_val: int = 100, size: int = 128,
                 noise: float = 0.1, seed: int = 0) -> SegmentationData:
    """The TP4 segmentation set: ``n_train`` + ``n_val`` seeded images of ``variant``; the radii
    (given for 128×128) scale with ``size``, so a smaller image holds the same picture."""
    if variant not in VARIANTS:
        raise DltpError(f"unknown segmentation variant {variant!r}; choose from {', '.join(VARIANTS)}")
    settings = {**VARIANTS[variant], "size": size, "noise": noise}
    settings["radius"] = tuple(r * size / 128 for r in settings["radius"])
    rng = np.random.default_rng(seed)
    x, y = make_circles(n_train + n_val, rng=rng, **settings)
    name = "circles" if variant == "circles" else f"circles-{variant}"
    return SegmentationData(name, x[:n_train], y[:n_train], x[n_train:], y[n_train:], settings)
