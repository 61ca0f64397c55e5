import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import _rounds as rounds  # noqa: E402


def test_a_ratio_is_met_only_when_every_round_clears_it():
    r = rounds.ratio([2.1, 2.2, 2.05, 2.3, 2.15], [1, 1, 1, 1, 1])
    assert r["median"] == pytest.approx(2.15) and rounds.verdict(r, 2.0) == "met"
    assert rounds.verdict(rounds.ratio([2.1, 1.9, 2.2, 2.3, 2.0], [1] * 5), 2.0) == "inside the spread"
    assert rounds.verdict(rounds.ratio([1.5, 1.6, 1.7, 1.8, 1.9], [1] * 5), 2.0) == "not met"
    assert rounds.verdict(rounds.ratio([0.5] * 5, [1] * 5), 0.6, higher_is_better=False) == "met"


def test_a_ranking_needs_every_round_to_agree():
    assert rounds.faster([1, 1, 1, 1, 1], [2, 2, 2, 2, 2]) is True
    assert rounds.faster([3, 3, 3, 3, 3], [2, 2, 2, 2, 2]) is False
    assert rounds.faster([1, 3, 1, 1, 1], [2, 2, 2, 2, 2]) is None
    assert rounds.faster([100] * 5, [50] * 5, lower_is_better=False) is True


def test_rounds_are_interleaved_after_a_warm_up_and_at_least_five():
    calls = []
    sides = {"a": lambda: calls.append("a") or 1.0, "b": lambda: calls.append("b") or 2.0}
    out = rounds.interleaved(sides, rounds=5)
    assert calls == ["a", "b"] * 6 and out == {"a": [1.0] * 5, "b": [2.0] * 5}
    with pytest.raises(ValueError, match="at least 5"):
        rounds.interleaved(sides, rounds=3)
    with pytest.raises(ValueError, match="pairs rounds"):
        rounds.ratio([1, 2], [1])


DEFAULT = ["torch", "jax", "tensorflow"]


def test_backends_within_the_spread_keep_the_default_order():
    seconds = {"torch": [10, 12, 10, 11, 10], "jax": [11, 10, 12, 10, 11], "tensorflow": [12, 11, 11, 12, 9]}
    assert rounds.rank(seconds, DEFAULT) == DEFAULT
    assert rounds.compared(seconds["jax"], seconds["torch"]) == "inside the spread"


def test_a_backend_moves_ahead_only_when_every_round_agrees():
    seconds = {"torch": [10, 10, 10, 10, 10], "jax": [20, 20, 20, 20, 20], "tensorflow": [9, 9, 9, 9.5, 9]}
    assert rounds.rank(seconds, DEFAULT) == ["tensorflow", "torch", "jax"]
    seconds["tensorflow"][3] = 10.5  # one round disagrees: tensorflow stays behind torch
    assert rounds.rank(seconds, DEFAULT) == ["torch", "tensorflow", "jax"]
    rates = {"torch": [1, 1, 1, 1, 1], "jax": [3, 3, 3, 3, 3], "tensorflow": [2, 2, 2, 2, 2]}
    assert rounds.rank(rates, DEFAULT, lower_is_better=False) == ["jax", "tensorflow", "torch"]


def test_a_tie_is_no_win():
    same = [5.0] * 5
    assert rounds.faster(same, same) is None and rounds.compared(same, same) == "inside the spread"
    assert rounds.rank({"tensorflow": same, "torch": same}, DEFAULT) == ["torch", "tensorflow"]


def test_a_side_beaten_in_every_round_never_leads():
    # tensorflow beats torch in every round; jax is inside both spreads: torch cannot come first
    seconds = {"torch": [10, 10, 10, 10, 10], "jax": [8, 12, 9, 11, 10], "tensorflow": [9, 9, 9, 9, 9]}
    order = rounds.rank(seconds, DEFAULT)
    assert order.index("tensorflow") < order.index("torch") and order[0] != "torch"


def test_rotated_rounds_start_one_side_further():
    calls = []
    sides = {name: (lambda name=name: calls.append(name) or 1.0) for name in "abc"}
    rounds.interleaved(sides, rounds=5, warmup=False, rotate=True)
    assert calls[:9] == list("abc") + list("bca") + list("cab")

