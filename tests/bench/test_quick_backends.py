"""The quick suite's per-experiment table: medians and spreads of the later runs beside the first
run, and an order that moves a backend only when every round agrees and leaves out one that
missed the target."""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import _rounds  # noqa: E402
import quick_backends  # noqa: E402


def payload(missed=None):
    return {"units": ["tp1", "tp4.conv3d"], "backends": ["torch", "jax", "tensorflow"], "rounds": 5,
            "first_run_s": {"tp1": {"torch": 12.0, "jax": 30.0, "tensorflow": 14.0}},
            "seconds": {"tp1": {"torch": [10, 10, 11, 10, 10], "jax": [6, 7, 6, 6, 7], "tensorflow": [9, 12, 9, 9, 9]},
                        "tp4.conv3d": {"torch": [7] * 5, "jax": [30] * 5, "tensorflow": [5] * 5}},
            "process_s": {b: _rounds.summary([100.0] * 5) for b in ("torch", "jax", "tensorflow")},
            "missed_target": missed or {}}


def rows(text: str) -> dict[str, list[str]]:
    return {cells[0]: cells for line in text.splitlines()[2:]
            if (cells := [c.strip() for c in line.strip("|").split("|")])}


def test_the_order_moves_only_on_every_round():
    table = rows(quick_backends.report(payload()))
    assert table["tp1"][1:4] == ["10 (10–11)", "6 (6–7)", "9 (9–12)"]
    assert table["tp1"][4:7] == ["12", "30", "14"]  # the first run, apart
    assert table["tp1"][7] == "jax > torch > tensorflow"  # tensorflow lost one round to torch
    assert table["tp4.conv3d"][7] == "tensorflow > torch > jax"


def test_a_backend_that_missed_the_target_is_left_out_of_the_order():
    table = rows(quick_backends.report(payload({"tp4.conv3d": ["tensorflow"]})))
    assert table["tp4.conv3d"][7] == "torch > jax" and table["tp4.conv3d"][8] == "tensorflow"
