"""The paper's facts: a pure function from ``results.json`` to formatted numbers, table rows and
sentences, each sentence decided from the numbers it quotes.

Rules the sentences follow:

- a comparison of two models gets a verdict: **better**, **worse**, **within the spread** (the gap
  is at most the sum of the two standard deviations over seeds) or **equal** (the printed values are
  the same); with one seed there is no spread, and the sentence says so instead of "± 0.0000";
- a reference line is called a floor or a ceiling only when no model crossed it;
- the device, the backend and the budget come from the run, never from fixed text.

Every number is formatted by ``wording``, so the paper's numbers can be matched exactly against
the JSON; ``tables`` writes the rows and ``findings`` the sentences, both from the
``ResultsView`` built here. Nothing here imports numpy, keras or LaTeX.
"""

from __future__ import annotations

from dltp.research.findings import findings
from dltp.research.results_view import ResultsView
from dltp.research.tables import tables
from dltp.research.wording import (REGIME_NAMES, REGIME_SHORT, comparison, mse, ms, pct, per_frame, sec, spread,
                                   ssim, variant_name, verdict)

# ``wording``'s names too: the template and the tests read the formatters and verdicts from here.
__all__ = ["facts", "run_description", "REGIME_NAMES", "REGIME_SHORT", "comparison", "mse", "ms", "pct",
           "per_frame", "sec", "spread", "ssim", "variant_name", "verdict"]


def facts(results: dict) -> dict:
    """Everything the template prints, decided from ``results`` (a results.json of tp5.research)."""
    view = ResultsView(results)
    return {**run_description(view), **tables(view), **findings(view)}


def run_description(view: ResultsView) -> dict:
    """The seeds, the device and the budget, as the run recorded them."""
    results, settings, n_seeds = view.results, view.settings, view.n_seeds
    seeds = results["seeds"]
    return {
        "n_seeds": n_seeds, "one_seed": n_seeds == 1, "settings": settings, "regime_names": REGIME_NAMES,
        "rollout_steps": settings["rollout_steps"], "names": view.names,
        "seeds_text": (f"a single seed, {seeds[0]}, hence no spread over seeds" if n_seeds == 1 else
                       f"mean $\\pm$ standard deviation over {n_seeds} seeds "
                       f"({', '.join(str(seed) for seed in seeds)})"),
        "seeds_limitation": ("With a single seed, no spread over seeds is measured." if n_seeds == 1 else
                             f"{n_seeds} seeds give only a rough idea of the spread."),
        "spread_caption": "one seed" if n_seeds == 1 else f"mean $\\pm$ std over {n_seeds} seeds",
        "device_text": view.device_text,
        "on_gpu": results.get("device", {}).get("kind") == "gpu",
        "wall_text": (f"The whole run took {sec(results['wall_seconds'])} s of wall-clock time."
                      if "wall_seconds" in results else ""),
        "budget_text": (f"{results['data']['train_sequences']} training sequences, {settings['predictor_epochs']} "
                        f"predictor epochs and {settings['ae_epochs']} autoencoder epochs"
                        + (", the reduced \\texttt{-{}-quick} budget" if settings["quick"] else "")),
        "main": [{"id": v, "short": view.short[v], "name": view.names[v]} for v in view.main],
    }
