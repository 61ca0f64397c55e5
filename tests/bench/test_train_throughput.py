"""TP1's goal is read on the backend the rounds rank first, every round against tensorflow."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import train_throughput as tt  # noqa: E402


def test_the_tp1_goal_is_read_on_the_backend_the_rounds_rank_first():
    def row(backend, rounds):
        return {"backend": backend, "compile": tt.DLTP_ROW, "rounds": rounds}
    tf = row("tensorflow", [10.0] * 5)
    rows = [row("torch", [12.0] * 5), row("jax", [21, 22, 20.5, 23, 21]), tf]
    assert tt.goal_line(rows, tf, ["torch", "jax", "tensorflow"]).endswith("(goal >= 2.0x: met)")
    rows[1]["rounds"] = [21, 22, 19, 23, 21]
    assert tt.goal_line(rows, tf, ["torch", "jax", "tensorflow"]).endswith("(goal >= 2.0x: inside the spread)")
    rows[1]["rounds"] = [11, 13, 11, 11, 11]  # jax within torch's spread: torch, first by default, is read
    assert "preferred backend (ranked by the rounds): torch; torch / tensorflow = 1.2" in tt.goal_line(
        rows, tf, ["torch", "jax", "tensorflow"])


def test_at_default_threads_the_goal_compares_with_the_original_courses_tensorflow():
    original = {"backend": "tensorflow", "compile": tt.TF_DEFAULTS_ROW, "rounds": [10.0] * 5}
    rows = [{"backend": "jax", "compile": tt.DLTP_THREADS_ROW, "rounds": [15.0] * 5},
            {"backend": "tensorflow", "compile": tt.DLTP_THREADS_ROW, "rounds": [30.0] * 5}, original]
    # dltp's own tensorflow row is the fastest: it is read against the original, not replaced by it
    assert tt.goal_line(rows, original, ["torch", "jax", "tensorflow"]).startswith(
        "preferred backend (ranked by the rounds): tensorflow; tensorflow / tensorflow (steps_per_execution=1, "
        "tensorflow's default threads) = 3 (3–3, 5 rounds)")
