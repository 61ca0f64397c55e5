"""Moving digits: handwritten digits bouncing inside a square frame (Srivastava et al.'s Moving
MNIST recipe), generated from a seed so that every run sees the same sequences.

Each sequence holds one or two digits; their identities are kept as labels (-1 = no second
digit), which the object-consistency metric needs. Train and test sequences are made from
*different digit images* (the dataset's train and test parts), not only different trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltp.errors import DltpError

DIGIT = 28


@dataclass
class Sequences:
    frames: np.ndarray  # uint8 (N, T, S, S)
    labels: np.ndarray  # int64 (N, 2); -1 where the sequence has a single digit

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def n_digits(self) -> np.ndarray:
        return (self.labels >= 0).sum(axis=1)


def moving_digits(images: np.ndarray, labels: np.ndarray, n_sequences: int, *, frames: int = 50,
                  size: int = 64, max_digits: int = 2, seed: int = 0,
                  speed: tuple[float, float] = (2.0, 4.0), min_digits: int = 1) -> Sequences:
    """``n_sequences`` sequences of ``frames`` frames (``size``×``size``, uint8) built from ``images``
    (N×28×28 uint8 digits): ``min_digits``..``max_digits`` digits each, straight motion, bouncing off
    the walls; overlapping digits combine by maximum, as in Moving MNIST (whose standard test file
    always has two digits: ``min_digits=2``)."""
    if size < DIGIT + 4:
        raise DltpError(f"frames must be at least {DIGIT + 4} pixels wide to hold a moving digit (got {size})")
    if frames < 2 or n_sequences < 1:
        raise DltpError("moving digits need at least 1 sequence of 2 frames")
    if not 1 <= min_digits <= max_digits <= 2:
        raise DltpError(f"moving digits hold 1 or 2 digits (got {min_digits}..{max_digits})")
    if images.ndim != 3 or images.shape[1:] != (DIGIT, DIGIT):
        raise DltpError(f"moving digits need 28×28 digit images, got shape {images.shape[1:]}")
    rng = np.random.default_rng(seed)
    limit = size - DIGIT
    out = np.zeros((n_sequences, frames, size, size), dtype=np.uint8)
    seq_labels = np.full((n_sequences, 2), -1, dtype=np.int64)
    for n in range(n_sequences):
        count = int(rng.integers(min_digits, max_digits + 1))
        for d in range(count):
            idx = int(rng.integers(len(images)))
            seq_labels[n, d] = labels[idx]
            pos = rng.uniform(0, limit, size=2)
            angle = rng.uniform(0, 2 * np.pi)
            vel = rng.uniform(*speed) * np.array([np.sin(angle), np.cos(angle)])
            for t in range(frames):
                y, x = int(round(pos[0])), int(round(pos[1]))
                view = out[n, t, y:y + DIGIT, x:x + DIGIT]
                np.maximum(view, images[idx], out=view)
                pos = pos + vel
                for axis in range(2):  # bounce: reflect position and velocity at the walls
                    if pos[axis] < 0:
                        pos[axis], vel[axis] = -pos[axis], -vel[axis]
                    elif pos[axis] > limit:
                        pos[axis], vel[axis] = 2 * limit - pos[axis], -vel[axis]
    return Sequences(out, seq_labels)


def multi_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """(N, 2) labels with -1 for "none" → (N, num_classes) float32 multi-hot targets."""
    out = np.zeros((len(labels), num_classes), dtype="float32")
    for slot in range(labels.shape[1]):
        present = labels[:, slot] >= 0
        out[np.flatnonzero(present), labels[present, slot]] = 1.0
    return out


def consistency(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Object consistency: the fraction of the digits of each sequence found among the classifier's
    top-k classes (k = the number of distinct digits in that sequence); for one digit, plain accuracy."""
    found = total = 0
    order = np.argsort(-probabilities, axis=1)
    for p, lab in zip(order, labels):
        true = {int(v) for v in lab if v >= 0}  # two copies of one digit count as one class
        top = set(p[:len(true)].tolist())
        found += len(true & top)
        total += len(true)
    return found / total if total else float("nan")
