"""Tables as text: one way to write a value in a cell, and one Markdown and one CSV writer, for
every table dltp writes (a lab's comparison, ``dltp report``, the figures of a paper).

Standard library only, so that any module can use it without importing Keras or matplotlib.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any, Iterable, Sequence

MISSING = "—"


def cell(value: Any) -> str:
    """A value as a table shows it: ``None`` as "—", a float with 4 decimals (from 1000 on, whole
    with thousands separators: a parameter count, not a score), ``nan`` and ``inf`` spelled out;
    anything else as ``str`` gives it."""
    if value is None:
        return MISSING
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def markdown(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown (GitHub) table: the header, then one line per row, each value written by ``cell``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The same table as CSV, values as they are (full precision); ``None`` as an empty field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if value is None else value for value in row] for row in rows])
    return buffer.getvalue()
