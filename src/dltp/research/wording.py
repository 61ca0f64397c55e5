"""How numbers and comparisons become the paper's words: every number is formatted by the helpers
below (so that the paper's numbers can be matched exactly against the JSON), every comparison of
two models gets a verdict and a sentence that agrees with it, and every model and regime has one
name. Nothing here imports numpy, keras or LaTeX.

A comparison's verdict is **better**, **worse**, **within the spread** (the gap is at most the sum
of the two standard deviations over seeds) or **equal** (the printed values are the same); with
one seed there is no spread, and the sentence says so instead of "± 0.0000".
"""

from __future__ import annotations

REGIME_NAMES = {"teacher_forcing": "teacher forcing", "rollout": "rollout training"}
REGIME_SHORT = {"teacher_forcing": "TF", "rollout": "RT"}  # in the narrow tables; the captions say so


# --------------------------------------------------------------------------------------------
# Number formatting: the only way a number enters the paper.

def mse(v: float) -> str:
    return f"{v:.4f}"


def pct(v: float) -> str:
    return f"{100 * v:.1f}"


def sec(v: float) -> str:
    return f"{v:.1f}"


def ms(v: float) -> str:
    return f"{v:.2f}"


def per_frame(v: float) -> str:
    """MSE/MAE per frame summed over pixels (the standard protocol's unit)."""
    return f"{v:.1f}"


def ssim(v: float) -> str:
    return f"{v:.3f}"


def spread(mean: float, std: float, n: int, fmt) -> str:
    """'m $\\pm$ s' over several seeds; 'm' alone with one seed (no spread was measured)."""
    return f"{fmt(mean)} $\\pm$ {fmt(std)}" if n > 1 else fmt(mean)


# --------------------------------------------------------------------------------------------
# Comparisons

def verdict(a: float, a_std: float, b: float, b_std: float, n: int, fmt, lower_is_better: bool = True) -> str:
    """'better' / 'worse' / 'within the spread' / 'equal' for a against b."""
    if fmt(a) == fmt(b):
        return "equal"
    if n > 1 and abs(a - b) <= a_std + b_std:
        return "within the spread"
    return "better" if (a < b) == lower_is_better else "worse"


def comparison(subject: str, other: str, metric: str, a: tuple, b: tuple, n: int, fmt,
               lower_is_better: bool = True, unit: str = "") -> tuple[str, str]:
    """(verdict, sentence) for ``subject`` against ``other`` on ``metric``; a and b are (mean, std)."""
    word = verdict(a[0], a[1], b[0], b[1], n, fmt, lower_is_better)
    av, bv = f"{spread(a[0], a[1], n, fmt)}{unit}", f"{spread(b[0], b[1], n, fmt)}{unit}"
    if word == "equal":
        return word, f"{subject}'s {metric} equals {other}'s at the printed precision ({av})"
    if word == "within the spread":
        return word, (f"{subject}'s {metric} ({av}) and {other}'s ({bv}) are within the spread of each other "
                      f"(the gap is at most the sum of their standard deviations over {n} seeds): "
                      "no difference is established")
    direction = "lower" if a[0] < b[0] else "higher"
    if n > 1:
        how = f"{word}, by more than the sum of the two standard deviations over {n} seeds"
    else:
        how = f"{word} on a single seed, whose spread is not measured"
    return word, f"{subject}'s {metric} ({av}) is {direction} than {other}'s ({bv}): {how}"


def and_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def variant_name(results: dict, variant: str) -> str:
    """How the paper names a predictor: 'TAP-T (2 layers)', 'TAP-M (memory all)', 'TAP (GRU)'."""
    model = results["regimes"]["teacher_forcing"][variant]
    if model["kind"] == "tap_t":
        return f"TAP-T ({model['layers']} layer{'s' if model['layers'] != 1 else ''})"
    if model["kind"] == "tap_m":
        return f"TAP-M (memory {model['memory']})"
    return model["label"]
