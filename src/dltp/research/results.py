"""The study's results: where the run ran, ``results.json``, ``rollouts.npz`` and ``per_sequence.npz``
written locally and logged to the parent run with the figures, the headline metrics of the parent
run and of the `dltp run` summary, and the instrument's validity threshold."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np

from dltp import tracking


def run_device() -> dict:
    """Where the run ran: the backend's device kind and the CPU count, for the paper's wording."""
    kind = "cpu"
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            kind = jax.devices()[0].platform
        elif backend == "torch":
            import torch

            kind = "gpu" if torch.cuda.is_available() else "cpu"
        elif backend == "tensorflow":
            import tensorflow as tf

            kind = "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    except Exception:  # noqa: BLE001 - the device is informative only
        kind = "cpu"
    return {"kind": "gpu" if kind in ("gpu", "cuda") else kind, "cpu_count": os.cpu_count()}


def save_results(results: dict, examples: dict[str, np.ndarray], per_sequence: dict[str, np.ndarray],
                 results_dir: Path) -> Path:
    """``results.json``, ``rollouts.npz`` (the first test sequences' forecasts) and ``per_sequence.npz``
    (every model's scores per test sequence, from which every interval can be recomputed) into
    ``results_dir`` and, with the figures drawn from them, into the active run's artifacts; returns
    the path of ``results.json``."""
    import mlflow

    from dltp.research import figures

    results_dir.mkdir(parents=True, exist_ok=True)
    rollouts = results_dir / "rollouts.npz"
    np.savez_compressed(rollouts, **examples)
    scores = results_dir / "per_sequence.npz"
    np.savez_compressed(scores, **{k: v.astype("float32") for k, v in per_sequence.items()})
    path = results_dir / "results.json"
    path.write_text(json.dumps(results, indent=1))
    tracking.log_json(results, "results.json")
    mlflow.log_artifact(str(rollouts))
    mlflow.log_artifact(str(scores))
    tracking.log_figure(figures.mse_curves(results), "mse_vs_horizon.png")
    tracking.log_figure(figures.depth_curves(results), "depth.png")
    tracking.log_figure(figures.rollout_strips(results, np.load(rollouts)), "rollouts.png")
    return path


def headline_metrics(results: dict) -> dict:
    """The figures of the `dltp run` summary and its target: every predictor's MSE per frame over the
    last frames and identity at frame 50 (``predictor_tap_t_k4_mse_last20``...), the references',
    and the instrument's validity (``instrument_*``)."""
    out = {}
    for key, model in results["models"].items():
        name = key.replace("-", "_").replace("@", "_")
        prefix = f"predictor_{name}" if model["kind"] == "predictor" else name
        for metric in ("mse_last20", "standard_mse", "identity50"):
            out[f"{prefix}_{metric}"] = model["mean"][metric]
    instrument = results["instrument"]
    out.update(instrument_true_identity50=instrument["true"]["identity50"]["value"],
               instrument_reconstructed_identity50=instrument["reconstructed"]["identity50"]["value"],
               instrument_chance=instrument["chance"], instrument_constant=instrument["constant"],
               instrument_threshold=instrument["threshold"])
    return out
