"""The sweep's grid: ``KEY=V1,V2`` items parsed and checked, and the points they span.

Light on purpose: the command checks a grid before anything heavy is imported or written.
"""

from __future__ import annotations

import itertools
import json

from dltp.errors import DltpError
from dltp.models.optimizers import OPTIMIZERS

DEFAULT_GRID = ["optimizer=sgd,rmsprop,adam"]


def _float(key, low, high, *, low_open=False, high_open=False):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise DltpError(f"grid key {key}: {text!r} is not a number") from None
        if value < low or value > high or (low_open and value == low) or (high_open and value == high):
            raise DltpError(f"grid key {key}: {value} is outside {'(' if low_open else '['}{low}, "
                            f"{high}{')' if high_open else ']'}")
        return value
    return parse


def _optimizer(text: str) -> str:
    if text.lower() not in OPTIMIZERS:
        raise DltpError(f"unknown optimizer {text!r} in the grid; choose among {', '.join(OPTIMIZERS)}")
    return text.lower()


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    raise DltpError(f"grid key batch_norm: {text!r} is not true/false")


GRID_KEYS = {
    "optimizer": _optimizer,
    "dropout": _float("dropout", 0.0, 1.0, high_open=True),
    "l2": _float("l2", 0.0, 1.0),
    "learning_rate": _float("learning_rate", 0.0, 10.0, low_open=True),
    "batch_norm": _bool,
}


def parse_grid(items: list[str] | None) -> dict[str, list]:
    """``["optimizer=sgd,adam", "dropout=0.2,0.5"]`` → ``{"optimizer": [...], "dropout": [...]}``;
    None: the default grid."""
    items = DEFAULT_GRID if items is None else [item for item in items if item.strip()]
    if not items:
        raise DltpError("empty grid: give at least one KEY=V1,V2, e.g. --grid optimizer=sgd,rmsprop,adam")
    grid: dict[str, list] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise DltpError(f"grid item {item!r} is not KEY=V1,V2")
        if key not in GRID_KEYS:
            raise DltpError(f"unknown grid key {key!r}; known keys: {', '.join(GRID_KEYS)}")
        if key in grid:
            raise DltpError(f"grid key {key!r} is given twice")
        parsed = [GRID_KEYS[key](value.strip()) for value in values.split(",") if value.strip()]
        if not parsed:
            raise DltpError(f"grid key {key!r} has no values (empty grid)")
        grid[key] = list(dict.fromkeys(parsed))
    return grid


def grid_points(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid's values, one dict per point, in a fixed order."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[key] for key in keys))]


def point_key(point: dict) -> str:
    """The point as canonical JSON: its name in the claims table, MLflow tags and the printed table."""
    return json.dumps(point, sort_keys=True)
