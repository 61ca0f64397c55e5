"""What the study compares, the same in every run: the sequences' geometry, the frame model's
latent, the three latent predictors, and the MLflow names under which each of its runs is
tracked. Budgets (sequences, epochs, seeds, rollout depths) are options: dltp.registry."""

from __future__ import annotations

import inspect

from dltp import tracking
from dltp.research import models

EXPERIMENT = "tp5-research"  # the MLflow experiment
DLTP_ID = "tp5.research"  # the `dltp run` id, tagged on every run of the study
FRAMES, GIVEN, SIZE = 50, 10, 64
PREDICTED = FRAMES - GIVEN
LAST = 20  # the "MSE over the last 20 frames" of the original proposal
STANDARD = 10  # the standard protocol predicts frames GIVEN+1 .. GIVEN+STANDARD (10 → 10)
GRID, CHANNELS = SIZE // 4, 1  # the frame model's spatial latent: GRID × GRID × CHANNELS
LATENT = GRID * GRID * CHANNELS  # what the predictors read, flattened
TAP_T_WINDOW = 10

# id -> label, builder kind and keyword arguments
VARIANTS: dict[str, dict] = {
    "tap": {"label": "TAP (GRU)", "short": "TAP", "kind": "recurrent", "kwargs": {}},
    "tap-t": {"label": f"TAP-T (2 layers, window {TAP_T_WINDOW})", "short": "TAP-T", "kind": "tap_t",
              "kwargs": {"layers_": 2, "window": TAP_T_WINDOW}},
    "tap-m": {"label": "TAP-M (memory of all latents)", "short": "TAP-M", "kind": "tap_m",
              "kwargs": {"memory": None}},
}


def model_id(variant: str, depth: int) -> str:
    """'tap-t@k4': a predictor fine-tuned at rollout depth 4 (depth 1: teacher forcing)."""
    return f"{variant}@k{depth}"


def architecture() -> dict:
    """The predictors' sizes (the builders' defaults), for the paper."""

    def default(fn, arg):
        return inspect.signature(fn).parameters[arg].default

    return {"gru_units": default(models.build_recurrent, "units"),
            "tap_t_d_model": default(models.build_tap_t, "d_model"),
            "tap_t_heads": default(models.build_tap_t, "heads"), "tap_t_ff": default(models.build_tap_t, "ff"),
            "tap_m_key_dim": default(models.build_tap_m, "key_dim"), "tap_m_ff": default(models.build_tap_m, "ff"),
            "tap_t_window": TAP_T_WINDOW, "latent_grid": GRID, "latent_channels": CHANNELS, "latent_dim": LATENT,
            "autoencoder_width": default(models.build_autoencoder, "width")}


def child_run(parent_id: str, run_name: str, **kwargs):
    """A run of the study nested under its parent run (``tracking.run``'s other arguments pass through)."""
    return tracking.run(EXPERIMENT, dltp_id=DLTP_ID, run_name=run_name, parent_run_id=parent_id, **kwargs)
