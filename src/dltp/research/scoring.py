"""Scoring forecasts: what every predictor is measured on (``Benchmark``), its per-frame MSE, object
consistency and the standard protocol's metrics, the copy-last-frame baseline, the per-frame curve
in MLflow, and the mean and spread over seeds."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from dltp import tracking
from dltp.research import data as mdata
from dltp.research import protocol
from dltp.research.latents import as_float, decode, predict, rollout
from dltp.research.study import GIVEN, LAST, PREDICTED


def frame_mse(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per-frame MSE (pixels in [0, 1]) averaged over sequences: (N, T, H, W[,1]) → (T,)."""
    diff = pred.reshape(pred.shape[:2] + (-1,)) - true.reshape(true.shape[:2] + (-1,))
    return (diff ** 2).mean(axis=(0, 2))


def copy_last_frame(frames: np.ndarray, given: int, predicted: int) -> np.ndarray:
    """The copy-last-frame forecast of uint8 sequences (N, T, S, S): the last given frame, repeated."""
    return np.repeat(as_float(frames[:, given - 1:given]), predicted, axis=1)


@dataclass
class Benchmark:
    """What every forecast is scored on: the test sequences (given latents, true future frames,
    digits) on the study's horizon and on the standard protocol, with the frame models that decode
    standardised latents and classify frames."""

    decoder: object
    classifier: object
    latent_mean: np.ndarray
    latent_std: np.ndarray
    test_given: np.ndarray  # (N, GIVEN, D) standardised latents
    test_future: np.ndarray  # (N, PREDICTED, S, S, 1) frames in [0, 1]
    test_labels: np.ndarray  # (N, 2) digits, -1 for none
    standard_given: np.ndarray  # (M, standard given, D) standardised latents
    standard_future: np.ndarray  # (M, standard predicted, S, S, 1) frames in [0, 1]

    def decode(self, standardised: np.ndarray) -> np.ndarray:
        return decode(self.decoder, standardised * self.latent_std + self.latent_mean)

    def consistency(self, last_frames: np.ndarray) -> float:
        """Object consistency of the test sequences' last frames (N, S, S, 1)."""
        return mdata.consistency(predict(self.classifier, last_frames), self.test_labels)


@dataclass
class Forecast:
    """One predictor's rollouts, decoded and scored."""

    scores: dict  # MSE over the last frames and all, consistency, the standard protocol's metrics
    curve: np.ndarray  # MSE per predicted frame
    frames: np.ndarray  # the decoded test rollouts (N, PREDICTED, S, S, 1)
    rollout_seconds: float  # rolling out and decoding the test sequences


def score_predictor(predictor, bench: Benchmark) -> Forecast:
    """Roll ``predictor`` out from the given latents of both test sets, decode and score."""
    with tracking.Timer() as timer:
        frames = bench.decode(rollout(predictor, bench.test_given, PREDICTED))
    curve = frame_mse(frames, bench.test_future)
    standard = bench.decode(rollout(predictor, bench.standard_given, bench.standard_future.shape[1]))
    standard_scores = protocol.standard_metrics(standard, bench.standard_future)
    scores = {
        "mse_last20": float(curve[-LAST:].mean()),
        "mse_all": float(curve.mean()),
        "consistency": bench.consistency(frames[:, -1]),
        **{f"standard_{k}": v for k, v in standard_scores.items()},
    }
    return Forecast(scores, curve, frames, timer.seconds)


def log_curve(run_id: str, curve: np.ndarray) -> None:
    """The per-frame MSE as metric ``mse_frame`` with step = frame number, in one request."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    tracking.client().log_batch(run_id, metrics=[Metric("mse_frame", float(v), now, GIVEN + 1 + i)
                                                 for i, v in enumerate(curve)])


def _summary(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype="float64")
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def aggregate(spec: dict, runs: list[dict]) -> dict:
    """Mean and sample standard deviation over seeds (std 0 with one seed, which the paper says)."""
    keys = ("mse_last20", "mse_all", "consistency", "standard_mse", "standard_mae", "standard_ssim",
            "train_seconds", "rollout_seconds", "rollout_ms_per_sequence")
    stats = {k: _summary([r[k] for r in runs]) for k in keys}
    curves = np.array([r["mse_per_frame"] for r in runs])
    return {
        **{k: spec[k] for k in ("label", "kind", "layers", "window", "memory") if k in spec},
        "main": bool(spec.get("main")),
        "parameters": runs[0]["parameters"],
        "mean": {k: v[0] for k, v in stats.items()},
        "std": {k: v[1] for k, v in stats.items()},
        "mse_per_frame_mean": curves.mean(axis=0).tolist(),
        "mse_per_frame_std": (curves.std(axis=0, ddof=1) if len(runs) > 1 else curves.std(axis=0)).tolist(),
        "runs": runs,
    }
