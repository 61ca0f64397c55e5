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
    """Whether side a beats side b in every round (True), loses in every round (False), or neither,
    a tie included (None: keep the default order)."""
    r = ratio(a, b)
    if r["max"] < 1.0:  # a below b in every round
        return lower_is_better
    if r["min"] > 1.0:
        return not lower_is_better
    return None


def rank(rounds: dict[str, Sequence[float]], default: Sequence[str] = (), *, lower_is_better: bool = True) -> list[str]:
    """The sides of ``rounds`` (side -> its rounds, e.g. seconds) best first, in ``default``'s order
    wherever the rounds do not decide.

    One side beats another only when it is better in every round (``faster``); that relation is
    transitive (the rounds are paired), so the order is a stable topological sort: the next side is
    the first one, in the default order, that no side still left beats in every round. Two sides
    within each other's spread therefore keep their default order, and a side moves ahead only
    when every round agrees. Sides missing from ``default`` follow it, by name."""
    left = [s for s in default if s in rounds] + sorted(s for s in rounds if s not in default)
    order = []
    while left:
        side = next(s for s in left
                    if not any(faster(rounds[o], rounds[s], lower_is_better=lower_is_better) for o in left if o != s))
        order.append(side)
        left.remove(side)
    return order


def compared(a: Sequence[float], b: Sequence[float], *, lower_is_better: bool = True) -> str:
    """'faster', 'slower' or 'inside the spread': side a against side b over their paired rounds."""
    return {True: "faster", False: "slower", None: "inside the spread"}[faster(a, b, lower_is_better=lower_is_better)]


def interleaved(sides: dict[str, Callable[[], float]], rounds: int = MIN_ROUNDS,
                warmup: bool = True, rotate: bool = False) -> dict[str, list[float]]:
    """Measure every side once per round, in turn; a first warm-up round is thrown away.
    ``rotate``: each round starts one side further (A B C, B C A, C A B, …), so that no side is
    always the one that follows another (for long rounds, where the order may matter)."""
    if rounds < MIN_ROUNDS:
        raise ValueError(f"a comparison takes at least {MIN_ROUNDS} rounds (got {rounds})")
    names = list(sides)
    if warmup:
        for measure in sides.values():
            measure()
    out: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(rounds):
        shift = i % len(names) if rotate and names else 0
        for name in names[shift:] + names[:shift]:
            out[name].append(float(sides[name]()))
    return out


def fmt(s: dict, digits: int = 3) -> str:
    """'1.23 (1.10–1.31, 5 rounds)'."""
    return f"{s['median']:.{digits}g} ({s['min']:.{digits}g}–{s['max']:.{digits}g}, {s['n']} rounds)"


def cell(s: dict | None, digits: int = 3) -> str:
    """A table cell: '1.23 (1.10–1.31)' (the number of rounds is in the table's title)."""
    if not s:
        return "—"

    def num(x: float) -> str:
        return f"{x:,.0f}" if abs(x) >= 10 ** digits else f"{x:.{digits}g}"

    return f"{num(s['median'])} ({num(s['min'])}–{num(s['max'])})"
