"""How numbers and comparisons become the paper's words. Every number is formatted here, so that
the paper's numbers can be matched exactly against ``results.json``; every comparison is a mean
difference with its 95 % interval, and its verdict is **better** or **worse** only when the
interval excludes zero, else "no difference detected at this sample size". Nothing here imports
numpy, keras or LaTeX.
"""

from __future__ import annotations

NO_DIFFERENCE = "no difference detected at this sample size"


# --- Numbers: the only way a number enters the paper ------------------------------------------

def per_frame(v: float) -> str:
    """MSE or MAE per frame (a sum over the frame's pixels, OpenSTL's unit)."""
    return f"{v:.1f}"


def pct(v: float) -> str:
    return f"{100 * v:.1f}"


def ssim(v: float) -> str:
    return f"{v:.3f}"


def published(v: float) -> str:
    """A published figure, with the decimals it was published with."""
    return f"{v:.2f}" if v >= 1 else f"{v:.4f}"


def sec(v: float) -> str:
    return f"{v:.1f}"


def ms(v: float) -> str:
    return f"{v:.2f}"


def signed(text: str) -> str:
    """'2.1' → '$+2.1$', '-2.1' → '$-2.1$' (math mode: a real minus sign)."""
    return f"${text}$" if text.startswith("-") else f"$+{text}$"


def spread(mean: float, std: float, seeds: int, fmt) -> str:
    """'m $\\pm$ s' over several seeds (s: the per-seed means' standard deviation); 'm' alone with one."""
    return f"{fmt(mean)} $\\pm$ {fmt(std)}" if seeds > 1 else fmt(mean)


# --- Comparisons -----------------------------------------------------------------------------

def verdict(comparison: dict, higher_is_better: bool) -> str:
    """'better' / 'worse' for a (the comparison's first side) against b when the interval of a - b
    excludes zero, else NO_DIFFERENCE."""
    if comparison["low"] > 0:
        return "better" if higher_is_better else "worse"
    if comparison["high"] < 0:
        return "worse" if higher_is_better else "better"
    return NO_DIFFERENCE


def effect(comparison: dict, fmt, unit: str = "") -> str:
    """'$+2.1$ points, 95 % interval [$-0.4$, $+4.6$]': the difference a - b and its interval."""
    return (f"{signed(fmt(comparison['difference']))}{unit}, interval [{signed(fmt(comparison['low']))}, "
            f"{signed(fmt(comparison['high']))}]")


def grouped(subjects: list[tuple[str, dict]], higher_is_better: bool, fmt, unit: str = "",
            everyone: str = "") -> str:
    """One clause for several comparisons on one metric, grouped by verdict: 'better for A (…) and
    B (…); worse for C (…); no difference detected at this sample size for D (…)'. When all agree
    and ``everyone`` names them: 'better for every predictor, every interval excluding zero
    (differences from … to …)'."""
    by_verdict: dict[str, list[tuple[str, dict]]] = {}
    for name, comparison in subjects:
        by_verdict.setdefault(verdict(comparison, higher_is_better), []).append((name, comparison))
    if everyone and len(by_verdict) == 1 and len(subjects) > 2:
        word = next(iter(by_verdict))
        diffs = sorted(c["difference"] for _, c in subjects)
        excluding = "including" if word == NO_DIFFERENCE else "excluding"
        return (f"{word} for {everyone}, every interval {excluding} zero (differences from "
                f"{signed(fmt(diffs[0]))}{unit} to {signed(fmt(diffs[-1]))}{unit})")
    return "; ".join(f"{word} for " + and_list([f"{name} ({effect(c, fmt, unit)})" for name, c in by_verdict[word]])
                     for word in ("better", "worse", NO_DIFFERENCE) if word in by_verdict)


def and_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
