"""What the study compares, the same in every run: the sequences' geometry, the latent predictors
(three main ones and their ablations), the two training regimes, and the MLflow names under which
each of its runs is tracked."""

from __future__ import annotations

import inspect

from dltp import tracking
from dltp.research import models

EXPERIMENT = "tp5-research"  # the MLflow experiment
DLTP_ID = "tp5.research"  # the `dltp run` id, tagged on every run of the study
FRAMES, GIVEN, SIZE, LATENT = 50, 10, 64, 64
PREDICTED = FRAMES - GIVEN
LAST = 20  # the "MSE over the last 20 frames" of the original proposal
TAP_T_WINDOW = 10

# id -> (label, group, builder kind, builder kwargs, description of the knob for the paper)
VARIANTS: dict[str, dict] = {
    "tap": {"label": "TAP (GRU)", "kind": "recurrent", "kwargs": {}, "main": True},
    "tap-t-L1": {"label": "TAP-T", "kind": "tap_t", "kwargs": {"layers_": 1, "window": TAP_T_WINDOW},
                 "layers": 1, "window": TAP_T_WINDOW},
    "tap-t-L2": {"label": "TAP-T", "kind": "tap_t", "kwargs": {"layers_": 2, "window": TAP_T_WINDOW},
                 "layers": 2, "window": TAP_T_WINDOW, "main": True},
    "tap-t-L4": {"label": "TAP-T", "kind": "tap_t", "kwargs": {"layers_": 4, "window": TAP_T_WINDOW},
                 "layers": 4, "window": TAP_T_WINDOW},
    "tap-m-M10": {"label": "TAP-M", "kind": "tap_m", "kwargs": {"memory": 10}, "memory": 10},
    "tap-m-M25": {"label": "TAP-M", "kind": "tap_m", "kwargs": {"memory": 25}, "memory": 25},
    "tap-m-all": {"label": "TAP-M", "kind": "tap_m", "kwargs": {"memory": None}, "memory": "all", "main": True},
}
MAIN = [v for v, spec in VARIANTS.items() if spec.get("main")]
# Training regimes: teacher forcing (one pass on true latents) and the rollout objective
# (``rollout_steps`` passes through the model's own predictions, models.build_rollout_trainer).
REGIMES = {"teacher_forcing": "teacher forcing", "rollout": "rollout training"}


def architecture() -> dict:
    """The predictors' sizes (the builders' defaults), for the paper."""

    def default(fn, arg):
        return inspect.signature(fn).parameters[arg].default

    return {"gru_units": default(models.build_recurrent, "units"),
            "tap_t_d_model": default(models.build_tap_t, "d_model"),
            "tap_t_heads": default(models.build_tap_t, "heads"), "tap_t_ff": default(models.build_tap_t, "ff"),
            "tap_m_key_dim": default(models.build_tap_m, "key_dim"), "tap_m_ff": default(models.build_tap_m, "ff")}


def child_run(parent_id: str, run_name: str, **kwargs):
    """A run of the study nested under its parent run (``tracking.run``'s other arguments pass through)."""
    return tracking.run(EXPERIMENT, dltp_id=DLTP_ID, run_name=run_name, parent_run_id=parent_id, **kwargs)
