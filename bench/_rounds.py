"""Interleaved rounds: how every benchmark that compares or ranks reads its measurements.

Each side is measured once per round, the sides taken in turn (A B C, A B C, …), after a warm-up
round that is not kept, so that a drift in the machine's load reaches every side alike. A side's
figure is the median of its rounds, with the spread (min, max) beside it. A comparison of two sides
is the per-round ratio (the sides of one round ran back to back): its median and its min..max. A
ratio is *outside the spread* of a threshold, and a ranking is acted on, only when every round
agrees: with 5 rounds, the chance that noise alone puts all five on one side is 1 in 16.
"""

from __future__ import annotations

import statistics
from typing import Callable, Sequence

MIN_ROUNDS = 5


def summary(values: Sequence[float]) -> dict:
    """Median, min, max and count of one side's rounds."""
    if not values:
        raise ValueError("no rounds")
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values),
            "rounds": list(values)}


def ratio(a: Sequence[float], b: Sequence[float]) -> dict:
    """Per-round a/b of two sides measured in the same rounds, summarised like a side."""
    if len(a) != len(b):
        raise ValueError(f"the sides ran {len(a)} and {len(b)} rounds: a ratio pairs rounds")
    return summary([x / y for x, y in zip(a, b)])


def at_least(r: dict, threshold: float) -> bool | None:
    """True when every round's ratio is ≥ threshold, False when every one is below, None when the
    threshold lies inside the spread (not decided at this number of rounds)."""
    if r["min"] >= threshold:
        return True
    if r["max"] < threshold:
        return False
    return None


def verdict(r: dict, threshold: float, *, higher_is_better: bool = True) -> str:
    """'met', 'not met' or 'inside the spread' for a goal on a ratio (≥ threshold, or ≤ with
    ``higher_is_better=False``)."""
    decided = at_least(r, threshold) if higher_is_better else _at_most(r, threshold)
    return {True: "met", False: "not met", None: "inside the spread"}[decided]


def _at_most(r: dict, threshold: float) -> bool | None:
    if r["max"] <= threshold:
        return True
    if r["min"] > threshold:
        return False
    return None


def faster(a: Sequence[float], b: Sequence[float], *, lower_is_better: bool = True) -> bool | None:
    """Whether side a beats side b in every round (True), loses in every round (False), or neither
    (None: keep the default order)."""
    r = ratio(a, b)
    better = at_least(r, 1.0)  # a/b ≥ 1 in every round
    if better is None:
        return None
    return (not better) if lower_is_better else better


def interleaved(sides: dict[str, Callable[[], float]], rounds: int = MIN_ROUNDS,
                warmup: bool = True) -> dict[str, list[float]]:
    """Measure every side once per round, in turn; a first warm-up round is thrown away."""
    if rounds < MIN_ROUNDS:
        raise ValueError(f"a comparison takes at least {MIN_ROUNDS} rounds (got {rounds})")
    if warmup:
        for measure in sides.values():
            measure()
    out: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, measure in sides.items():
            out[name].append(float(measure()))
    return out


def fmt(s: dict, digits: int = 3) -> str:
    """'1.23 (1.10–1.31, 5 rounds)'."""
    return f"{s['median']:.{digits}g} ({s['min']:.{digits}g}–{s['max']:.{digits}g}, {s['n']} rounds)"
