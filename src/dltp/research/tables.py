"""The paper's table rows and cells, from ``results.json``: the main comparison, the ablations, the
costs, the standard protocol beside the published figures. Every number is formatted by
``wording``, so each cell can be matched exactly against the JSON."""

from __future__ import annotations

from dltp.research.results_view import ResultsView
from dltp.research.wording import REGIME_NAMES, REGIME_SHORT, mse, ms, pct, per_frame, sec, ssim

CELLS = (("mse_last20", mse), ("mse_all", mse), ("consistency", pct), ("standard_mse", per_frame),
         ("standard_ssim", ssim))


def tables(view: ResultsView) -> dict:
    """The cells the text quotes and the rows of every table."""
    regimes, main, names, short, cell = view.regimes, view.main, view.names, view.short, view.cell
    teacher_forcing, copy, standard = view.teacher_forcing, view.results["copy_last"], view.results["standard"]
    out: dict = {
        "cells": {g: {v: {key: cell(regimes[g][v], key, fmt) for key, fmt in CELLS}
                      for v in regimes[g] if v in main} for g in regimes},
        "copy_last": {"mse_last20": mse(copy["mse_last20"]), "mse_all": mse(copy["mse_all"]),
                      "consistency": pct(copy["consistency"])},
        "has_rollout": bool(view.rollout),
    }

    def main_row(variant: str, regime: str) -> str:
        model = regimes[regime][variant]
        label = f"{names[variant]}, {REGIME_NAMES[regime]}"
        return (f"{label} & {model['parameters']} & {cell(model, 'mse_last20', mse)} & "
                f"{cell(model, 'mse_all', mse)} & {cell(model, 'consistency', pct)} \\\\")

    out["main_rows"] = [main_row(v, g) for v in main for g in regimes if v in regimes[g]]
    out["ablation_rows"] = [f"{names[v]} & {teacher_forcing[v]['parameters']} & "
                            f"{cell(teacher_forcing[v], 'mse_last20', mse)} & "
                            f"{cell(teacher_forcing[v], 'consistency', pct)} \\\\"
                            for v in teacher_forcing if v not in main]
    out["cost_rows"] = [f"{short[v]}, {REGIME_SHORT[g]} & {regimes[g][v]['parameters']} & "
                        f"{cell(regimes[g][v], 'train_seconds', sec)} & "
                        f"{cell(regimes[g][v], 'rollout_ms_per_sequence', ms)} \\\\"
                        for g in regimes for v in regimes[g] if v in main]
    out["published_rows"] = [f"{p['model']}~\\cite{{{p['cite']}}} (published) & {per_frame(p['mse'])} & -- & "
                             f"{ssim(p['ssim'])} \\\\" for p in standard["published"]]
    copy_last, autoencoder = standard["copy_last"], standard["autoencoder"]
    out["standard_rows"] = (
        [f"Copy last frame & {per_frame(copy_last['mse'])} & {per_frame(copy_last['mae'])} & "
         f"{ssim(copy_last['ssim'])} \\\\"]
        + [f"{short[v]}, {REGIME_SHORT[g]} & {cell(regimes[g][v], 'standard_mse', per_frame)} & "
           f"{cell(regimes[g][v], 'standard_mae', per_frame)} & {cell(regimes[g][v], 'standard_ssim', ssim)} \\\\"
           for v in main for g in regimes if v in regimes[g]]
        + [f"Autoencoder, true $z$ & {per_frame(autoencoder['mse'])} & {per_frame(autoencoder['mae'])} & "
           f"{ssim(autoencoder['ssim'])} \\\\"])
    return out
