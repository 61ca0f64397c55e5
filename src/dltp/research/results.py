"""The study's results: where the run ran, ``results.json`` and ``rollouts.npz`` written locally and
logged to the parent run with the figures, and the headline metrics of the parent run and of the
`dltp run` summary."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np

from dltp import tracking
from dltp.research.study import MAIN, REGIMES


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


def save_results(results: dict, examples: dict[str, np.ndarray], results_dir: Path) -> Path:
    """``results.json`` and ``rollouts.npz`` into ``results_dir`` and, with the figures drawn from
    them, into the active run's artifacts; returns the path of ``results.json``."""
    import mlflow

    from dltp.research import figures

    results_dir.mkdir(parents=True, exist_ok=True)
    rollouts = results_dir / "rollouts.npz"
    np.savez_compressed(rollouts, **examples)
    path = results_dir / "results.json"
    path.write_text(json.dumps(results, indent=1))
    tracking.log_json(results, "results.json")
    mlflow.log_artifact(str(rollouts))
    tracking.log_figure(figures.mse_curves(results), "mse_vs_horizon.png")
    tracking.log_figure(figures.rollout_strips(results, np.load(rollouts)), "rollouts.png")
    return path


def headline_metrics(results: dict) -> dict:
    """MSE over the last frames, consistency and standard MSE of each main predictor in each regime
    (mean over seeds), keyed ``tap_t_L2_rollout_consistency`` and the like."""
    out = {}
    for regime in REGIMES:
        suffix = "" if regime == "teacher_forcing" else "_rollout"
        for variant in MAIN:
            mean = results["regimes"][regime][variant]["mean"]
            key = variant.replace("-", "_") + suffix
            out[f"{key}_mse_last20"] = mean["mse_last20"]
            out[f"{key}_consistency"] = mean["consistency"]
            out[f"{key}_standard_mse"] = mean["standard_mse"]
    return out
