"""Moving MNIST as the literature generates it (Srivastava et al. 2015; OpenSTL's generator):
64×64 frames, two 28×28 digits per sequence, each on its own straight trajectory that bounces
off the borders, combined by pixel-wise maximum.

A trajectory starts at (x, y) uniform in [0, 1)² with a direction θ uniform in [0, 2π); every
frame it first moves ``STEP`` along θ, then clips to [0, 1] and reverses the velocity component
that crossed a border; the digit's top-left pixel is ``int((size - 28) · position)``. The
generator keeps every digit's pixel position per frame and its label: the identity instrument
reads the digits where they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltp.errors import DltpError

DIGIT = 28  # MNIST digits are 28×28
DIGITS = 2  # digits per sequence, as in the standard Moving MNIST files
STEP = 0.1  # step length per frame, in units of the free canvas (size - DIGIT)


@dataclass
class Sequences:
    frames: np.ndarray  # uint8 (N, T, S, S)
    labels: np.ndarray  # int64 (N, DIGITS): each digit's class
    positions: np.ndarray  # int64 (N, T, DIGITS, 2): each digit's top-left pixel (row, column) per frame
    sources: np.ndarray  # int64 (N, DIGITS): each digit's index in the images it was drawn from

    def __len__(self) -> int:
        return len(self.frames)


def trajectories(rng: np.random.Generator, n: int, frames: int) -> np.ndarray:
    """``n`` trajectories of ``frames`` positions in [0, 1]², float64 (n, frames, 2) as (y, x)."""
    pos = rng.random((n, 2))  # (y, x), as OpenSTL draws x then y: both uniform in [0, 1)
    theta = rng.random(n) * 2 * np.pi
    velocity = np.stack([np.sin(theta), np.cos(theta)], axis=1) * STEP
    out = np.empty((n, frames, 2))
    for t in range(frames):
        pos = pos + velocity
        low, high = pos <= 0.0, pos >= 1.0
        velocity = np.where(low | high, -velocity, velocity)  # bounce: reverse the component that crossed
        pos = np.clip(pos, 0.0, 1.0)
        out[:, t] = pos
    return out


def moving_mnist(images: np.ndarray, labels: np.ndarray, n_sequences: int, *, frames: int = 50,
                 size: int = 64, seed: int = 0) -> Sequences:
    """``n_sequences`` sequences of ``frames`` frames (``size``×``size``, uint8) of two digits drawn
    from ``images`` (N×28×28 uint8) and their ``labels``."""
    if size <= DIGIT:
        raise DltpError(f"frames must be wider than a {DIGIT}-pixel digit (got {size})")
    if frames < 2 or n_sequences < 1:
        raise DltpError("Moving MNIST needs at least 1 sequence of 2 frames")
    if images.ndim != 3 or images.shape[1:] != (DIGIT, DIGIT):
        raise DltpError(f"Moving MNIST needs 28×28 digit images, got shape {images.shape[1:]}")
    rng = np.random.default_rng(seed)
    paths = trajectories(rng, n_sequences * DIGITS, frames).reshape(n_sequences, DIGITS, frames, 2)
    positions = ((size - DIGIT) * paths).astype(np.int64).transpose(0, 2, 1, 3)  # (N, T, DIGITS, 2)
    picks = rng.integers(0, len(images), size=(n_sequences, DIGITS))
    out = np.zeros((n_sequences, frames, size, size), dtype=np.uint8)
    for n in range(n_sequences):
        for d in range(DIGITS):
            digit = images[picks[n, d]]
            for t in range(frames):
                top, left = positions[n, t, d]
                view = out[n, t, top:top + DIGIT, left:left + DIGIT]
                np.maximum(view, digit, out=view)
    return Sequences(out, labels[picks].astype(np.int64), positions, picks.astype(np.int64))


def crops(frames: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The 28×28 windows at ``positions``: frames (N, S, S[, 1]) and positions (N, DIGITS, 2) →
    (N, DIGITS, 28, 28) in the frames' dtype."""
    frames = frames.reshape(frames.shape[:3])
    rows = positions[..., 0, None, None] + np.arange(DIGIT)[:, None]  # (N, DIGITS, 28, 1)
    cols = positions[..., 1, None, None] + np.arange(DIGIT)[None, :]  # (N, DIGITS, 1, 28)
    return frames[np.arange(len(frames))[:, None, None, None], rows, cols]
