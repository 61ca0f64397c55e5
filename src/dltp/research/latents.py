"""Frames and latents: uint8 frames to float frames and back, frames to latents through the
frame encoder and back through its decoder, and the autoregressive rollout of a latent predictor."""

from __future__ import annotations

import numpy as np

from dltp.research.study import LATENT, SIZE


def as_float(frames: np.ndarray) -> np.ndarray:
    """uint8 frames (..., S, S) → float32 frames in [0, 1] with a channel axis (..., S, S, 1)."""
    return (frames.astype("float32") / 255.0)[..., None]


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """float frames (..., S, S, 1) in [0, 1] → uint8 frames (..., S, S), for the saved rollouts."""
    return np.clip(np.rint(frames[..., 0] * 255), 0, 255).astype(np.uint8)


def predict(model, inputs, batch: int = 256) -> np.ndarray:
    """model.predict: compiled once per model and input shape, unlike an eager call per batch."""
    return np.asarray(model.predict(inputs, batch_size=batch, verbose=0))


def encode(encoder, frames: np.ndarray) -> np.ndarray:
    """(N, T, S, S) uint8 frames → (N, T, D) latents."""
    n, steps = frames.shape[:2]
    return predict(encoder, as_float(frames.reshape(-1, SIZE, SIZE))).reshape(n, steps, LATENT)


def decode(decoder, latents: np.ndarray) -> np.ndarray:
    """(N, T, D) latents → (N, T, S, S, 1) frames."""
    n, steps = latents.shape[:2]
    return predict(decoder, latents.reshape(-1, LATENT)).reshape(n, steps, SIZE, SIZE, 1)


def rollout(predictor, given: np.ndarray, steps: int) -> np.ndarray:
    """Autoregressive rollout in latent space: (N, GIVEN, D) → (N, steps, D) predicted latents.

    The predictor is causal, so a zero-padded buffer of fixed length gives the same output at
    position t as the unpadded prefix, with one input shape for the whole rollout."""
    n, known, dim = given.shape
    length = predictor.input_shape[1]
    if known + steps - 1 > length:
        raise ValueError(f"buffer of {length} cannot hold {known} given + {steps} predicted latents")
    buffer = np.zeros((n, length, dim), dtype="float32")
    buffer[:, :known] = given
    out = np.zeros((n, steps, dim), dtype="float32")
    for step in range(steps):
        t = known + step  # latents 0..t-1 are known; predict latent t
        pred = np.asarray(predictor.predict_on_batch(buffer))[:, t - 1]  # one compiled function
        out[:, step] = pred
        if t < length:
            buffer[:, t] = pred
    return out
