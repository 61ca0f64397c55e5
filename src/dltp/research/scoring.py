"""Scoring forecasts of the test sequences' frames GIVEN+1 .. FRAMES, sequence by sequence: the error
of every predicted frame (OpenSTL's MSE per frame), the standard protocol's MAE and SSIM on its
first STANDARD frames, and identity: the instrument reads the 28×28 crops of a predicted frame at
the digits' true positions in the true frame. Then the means over seeds, and a 95 % interval for
the difference of two models by a paired two-level bootstrap (seeds, then test sequences)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from dltp.research import data as mdata
from dltp.research import protocol
from dltp.research.latents import as_float, decoded_chunks, predict
from dltp.research.study import GIVEN, LAST, PREDICTED, STANDARD

IDENTITY_AT = (20, 30, 40, 50)  # frames at which identity is read (1-based, as frame 50)
CHUNK_SEQUENCES = 50  # sequences decoded and scored at a time
# Per-sequence metrics (lower is better for the errors, higher for SSIM and identity).
METRICS = ("mse_last20", "mse_all", "standard_mse", "standard_mae", "standard_ssim",
           *(f"identity{t}" for t in IDENTITY_AT))
HIGHER_IS_BETTER = {"standard_ssim", *(f"identity{t}" for t in IDENTITY_AT)}


@dataclass
class TestSet:
    """The held-out sequences and the instrument that reads their digits."""

    frames: np.ndarray  # uint8 (N, FRAMES, S, S)
    labels: np.ndarray  # (N, DIGITS)
    positions: np.ndarray  # (N, FRAMES, DIGITS, 2)
    reader: object  # the digit classifier of 28×28 crops

    def __len__(self) -> int:
        return len(self.frames)

    def identity(self, frames: np.ndarray, frame: int, rows: slice = slice(None)) -> np.ndarray:
        """Fraction of the digits the instrument names right in ``frames`` (n, S, S[, 1]) in [0, 1], read
        at the true positions of frame ``frame`` (1-based) of the sequences ``rows``: (n,)."""
        positions, labels = self.positions[rows, frame - 1], self.labels[rows]
        cut = mdata.crops(frames, positions).reshape(-1, mdata.DIGIT, mdata.DIGIT, 1)
        named = predict(self.reader, cut.astype("float32"), batch=1024).argmax(axis=-1).reshape(labels.shape)
        return (named == labels).mean(axis=1)


def score(test: TestSet, chunks: Iterable[tuple[slice, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-sequence metrics of a forecast given as (sequences, their predicted frames (n, PREDICTED,
    S, S, 1) in [0, 1]) chunks, plus "mse_per_frame" (N, PREDICTED)."""
    n = len(test)
    squared = np.zeros((n, PREDICTED))
    out = {k: np.zeros(n) for k in ("standard_mae", "standard_ssim")}
    out.update({f"identity{t}": np.zeros(n) for t in IDENTITY_AT})
    for rows, pred in chunks:
        true = as_float(test.frames[rows, GIVEN:])
        sq, ab = protocol.frame_errors(pred, true)
        squared[rows] = sq
        out["standard_mae"][rows] = ab[:, :STANDARD].mean(axis=1)
        out["standard_ssim"][rows] = protocol.ssim(pred[:, :STANDARD], true[:, :STANDARD]).mean(axis=1)
        for t in IDENTITY_AT:
            out[f"identity{t}"][rows] = test.identity(pred[:, t - GIVEN - 1], t, rows)
    return {"mse_per_frame": squared, "mse_last20": squared[:, -LAST:].mean(axis=1),
            "mse_all": squared.mean(axis=1), "standard_mse": squared[:, :STANDARD].mean(axis=1), **out}


def frame_chunks(frames: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """A forecast held as uint8 (N, PREDICTED, S, S) or float frames, in scoring chunks."""
    for start in range(0, len(frames), CHUNK_SEQUENCES):
        part = frames[start:start + CHUNK_SEQUENCES]
        yield slice(start, start + len(part)), as_float(part) if part.dtype == np.uint8 else part


def latent_chunks(decoder, latents: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """A forecast held as (N, PREDICTED, D) latents, decoded in scoring chunks."""
    return decoded_chunks(decoder, latents, CHUNK_SEQUENCES)


def copy_last_frame(frames: np.ndarray) -> np.ndarray:
    """The copy-last-frame forecast of uint8 sequences (N, T, S, S): frame GIVEN, repeated (uint8)."""
    return np.repeat(frames[:, GIVEN - 1:GIVEN], PREDICTED, axis=1)


def log_curve(run_id: str, curve: np.ndarray) -> None:
    """The MSE of every predicted frame as metric ``mse_frame``, step = frame number, in one request."""
    import time

    from mlflow.entities import Metric

    from dltp import tracking

    now = int(time.time() * 1000)
    tracking.client().log_batch(run_id, metrics=[Metric("mse_frame", float(v), now, GIVEN + 1 + i)
                                                 for i, v in enumerate(curve)])


# --- Summaries and intervals ----------------------------------------------------------------

def summary(per_seed: list[dict[str, np.ndarray]]) -> dict:
    """Means over seeds and sequences of every metric, the standard deviation of the per-seed
    means (0 with one seed), and the mean MSE of every predicted frame."""
    seed_means = {k: np.array([run[k].mean() for run in per_seed]) for k in METRICS}
    curve = np.mean([run["mse_per_frame"].mean(axis=0) for run in per_seed], axis=0)
    identity = [float(np.mean([run[f"identity{t}"].mean() for run in per_seed])) for t in IDENTITY_AT]
    return {"mean": {k: float(v.mean()) for k, v in seed_means.items()},
            "seed_std": {k: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for k, v in seed_means.items()},
            "mse_per_frame": curve.tolist(), "identity_per_frame": identity}


def interval(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, resamples: int,
             level: float = 0.95) -> dict:
    """The mean of a - b and its ``level`` interval, from per-sequence values a (S_a, N) and b (S_b, N)
    (S = seeds; 1 for a model trained once): a two-level bootstrap that resamples seeds, then test
    sequences, both with replacement; the same sequences on both sides (paired), and the same seeds
    where both sides have them."""
    a, b = np.atleast_2d(a).astype("float64"), np.atleast_2d(b).astype("float64")
    n = a.shape[1]
    if b.shape[1] != n:
        raise ValueError(f"the two sides are scored on different sequences ({n} and {b.shape[1]})")
    sequence_weights = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples) / n  # (R, N)

    def resampled(values: np.ndarray, seed_weights: np.ndarray) -> np.ndarray:  # (R,)
        return np.einsum("rs,sn,rn->r", seed_weights, values, sequence_weights)

    seeds = max(len(a), len(b))
    shared = rng.multinomial(seeds, np.full(seeds, 1.0 / seeds), size=resamples) / seeds

    def seed_weights(values: np.ndarray) -> np.ndarray:
        return shared if len(values) == seeds else np.ones((resamples, 1))

    draws = resampled(a, seed_weights(a)) - resampled(b, seed_weights(b))
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return {"difference": float(a.mean() - b.mean()), "low": float(low), "high": float(high)}


def proportion_interval(values: np.ndarray, rng: np.random.Generator, resamples: int, level: float = 0.95) -> dict:
    """A mean over sequences (a proportion such as identity) with its bootstrap ``level`` interval."""
    zero = np.zeros((1, values.shape[-1]))
    out = interval(np.atleast_2d(values), zero, rng, resamples, level)
    return {"value": out["difference"], "low": out["low"], "high": out["high"]}
