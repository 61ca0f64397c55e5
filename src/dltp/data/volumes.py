"""Generated 3D volumes for TP4's Conv3D network: does a noisy 32³ volume hold a sphere or a cube?

Each volume holds one bright object at a random position, either a sphere or an axis-aligned
cube *of about the same volume* (so the total brightness does not give the answer away: the
network has to see the shape), plus Gaussian noise. Labels: 0 = sphere, 1 = cube, balanced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dltp.errors import DltpError

CLASS_NAMES = ["sphere", "cube"]


@dataclass
class VolumeData:
    """Volumes (N, D, H, W, 1) float32 with 0/1 labels, split train / validation (for choosing the
    learning rate and epochs) / test (held out: the headline figure)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    settings: dict = field(default_factory=dict)
    class_names: list[str] = field(default_factory=lambda: list(CLASS_NAMES))
    fallback_from: str | None = None

    @property
    def fallback(self) -> bool:
        return False


def make_volumes(n: int, *, size: int = 32, noise: float = 0.3, radius: tuple[float, float] = (4.0, 8.0),
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` volumes (value 1 inside the object, 0 outside, plus N(0, noise²)) and their labels."""
    if n < 2 or size < 12:
        raise DltpError("make_volumes needs n >= 2 and size >= 12")
    if not 1 <= radius[0] <= radius[1] <= size / 3:
        raise DltpError(f"radius range {radius} must satisfy 1 <= min <= max <= size/3")
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    grid = np.mgrid[0:size, 0:size, 0:size].astype("float32")
    volumes = np.empty((n, size, size, size), dtype="float32")
    for i, label in enumerate(labels):
        r = rng.uniform(*radius)
        half = r * (4 * np.pi / 3) ** (1 / 3) / 2  # cube side = sphere volume ** (1/3)
        centre = rng.uniform(r, size - 1 - r, size=3).reshape(3, 1, 1, 1)  # r > half: both fit
        if label:  # cube
            inside = np.all(np.abs(grid - centre) <= half, axis=0)
        else:
            inside = ((grid - centre) ** 2).sum(axis=0) <= r ** 2
        volumes[i] = inside + rng.normal(0.0, noise, size=inside.shape)
    return volumes[..., None], labels.astype("int64")


def load_volumes(*, n_train: int = 600, n_val: int = 200, n_test: int = 200, size: int = 32,
                 noise: float = 0.3, radius: tuple[float, float] | None = None, seed: int = 0) -> VolumeData:
    settings = {"size": size, "noise": noise, "radius": radius or (4.0, min(8.0, size / 4))}
    rng = np.random.default_rng(seed)
    x_train, y_train = make_volumes(n_train, rng=rng, **settings)  # each split balanced on its own
    x_val, y_val = make_volumes(n_val, rng=rng, **settings)
    x_test, y_test = make_volumes(n_test, rng=rng, **settings)
    return VolumeData("volumes", x_train, y_train, x_val, y_val, x_test, y_test, settings)
