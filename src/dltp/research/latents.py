"""Frames and latents: uint8 frames to float frames and back, frames to flattened spatial latents
through the frame encoder and back through its decoder (in chunks: a thousand sequences of 50
frames do not fit in memory as floats), and the autoregressive rollout of a latent predictor."""

from __future__ import annotations

import warnings
from typing import Iterator

import numpy as np

from dltp.research import models
from dltp.research.study import CHANNELS, GRID, LATENT, SIZE

CHUNK = 2048  # frames per encoder/decoder call


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
    """(N, T, S, S) uint8 frames → (N, T, D) flattened latents."""
    n, steps = frames.shape[:2]
    flat = frames.reshape(-1, SIZE, SIZE)
    out = np.concatenate([predict(encoder, as_float(flat[i:i + CHUNK])) for i in range(0, len(flat), CHUNK)])
    return out.reshape(n, steps, LATENT)


def decoded_chunks(decoder, latents: np.ndarray, sequences: int) -> Iterator[tuple[slice, np.ndarray]]:
    """(N, T, D) latents → (slice of sequences, their (n, T, S, S, 1) frames), ``sequences`` at a time."""
    n, steps = latents.shape[:2]
    for start in range(0, n, sequences):
        part = latents[start:start + sequences]
        frames = predict(decoder, part.reshape(-1, GRID, GRID, CHANNELS))
        yield slice(start, start + len(part)), frames.reshape(len(part), steps, SIZE, SIZE, 1)


def decode(decoder, latents: np.ndarray) -> np.ndarray:
    """(N, T, D) latents → (N, T, S, S, 1) frames (for a few sequences: all of them in memory)."""
    return np.concatenate([frames for _, frames in decoded_chunks(decoder, latents, max(1, CHUNK // 50))])


def rollout(predictor, given: np.ndarray, steps: int) -> np.ndarray:
    """Autoregressive rollout in latent space: (N, GIVEN, D) → (N, steps, D) predicted latents,
    one position at a time (models.stepper: the recurrent state or the attention keys and values
    of the earlier positions are kept)."""
    import keras

    n, known, dim = given.shape
    if known + steps - 1 > predictor.input_shape[1]:
        raise ValueError(f"{predictor.input_shape[1]} positions cannot hold {known} given + {steps} predicted "
                         "latents")
    step = models.stepper(predictor).step
    with warnings.catch_warnings():  # the first position attends to one key: a softmax over one value
        warnings.filterwarnings("ignore", message=".*softmax over axis -1.*")
        for t in range(known):
            prediction = step(given[:, t])
        out = [prediction]
        for _ in range(steps - 1):
            out.append(step(out[-1]))
    return np.stack([keras.ops.convert_to_numpy(z) for z in out], axis=1).astype("float32")


def buffer_rollout(predictor, given: np.ndarray, steps: int) -> np.ndarray:
    """The same rollout by whole-buffer passes: the predictor is causal, so a zero-padded buffer of
    fixed length gives at position t the output of the unpadded prefix. One pass per predicted
    latent: the reference that ``rollout`` must equal, and what the rollout objective unrolls."""
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
