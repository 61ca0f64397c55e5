"""Benchmark sides as worker processes: each started once, then measured in interleaved rounds
after a warm-up round that is not kept (bench/_common.measure_sides)."""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import _common  # noqa: E402

# A worker that counts its measures (and logs a line of its own on stdout, as libraries do)
COUNTER = """
import itertools, sys
sys.path.insert(0, {bench!r})
from _common import serve
print("a library's own line")
count = itertools.count({start})
serve({{"measure": lambda: next(count), "pair": lambda: {{"a": next(count), "b": -1}}}}, {{"start": {start}}})
"""


def counter(start: int):
    return [sys.executable, "-c", COUNTER.format(bench=str(BENCH), start=start)], {}, {"pinned": False}


def test_sides_are_measured_in_turn_after_a_warm_up_round():
    got = _common.measure_sides({"one": counter(0), "ten": counter(10)}, rounds=5)
    assert got["one"]["rounds"] == [1, 2, 3, 4, 5] and got["ten"]["rounds"] == [11, 12, 13, 14, 15]
    assert got["one"]["summary"]["median"] == 3 and got["ten"]["info"]["start"] == 10
    assert got["one"]["peak_rss_mb"] > 0


def test_a_worker_answers_several_measures_and_dicts_are_read_at_their_primary_key():
    got = _common.measure_sides({"w": counter(0)}, {"plain": ("w", "measure"), "pair": ("w", "pair")}, rounds=5,
                                primary="a")
    assert got["plain"]["rounds"] == [2, 4, 6, 8, 10] and got["pair"]["rounds"] == [3, 5, 7, 9, 11]
    assert got["pair"]["replies"][0] == {"a": 3, "b": -1}


def test_a_worker_that_fails_to_start_is_an_error_row_and_the_others_still_run():
    broken = [sys.executable, "-c", "import sys; sys.exit('no such backend')"], {}, {"pinned": False}
    got = _common.measure_sides({"ok": counter(0), "broken": broken}, rounds=5)
    assert got["ok"]["rounds"] == [1, 2, 3, 4, 5]
    assert "no such backend" in got["broken"]["error"]


def test_a_worker_that_dies_in_a_round_fails_the_benchmark():
    dying = COUNTER.replace("next(count)", "sys.exit(3)", 1)
    cmd = [sys.executable, "-c", dying.format(bench=str(BENCH), start=0)]
    with pytest.raises(_common.WorkerError, match="exited with 3"):
        _common.measure_sides({"dying": (cmd, {}, {"pinned": False})}, rounds=5)
