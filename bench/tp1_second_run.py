"""TP1's training seconds: `dltp run tp1` on auto (its measured-fastest backend, every core, the
compilation cache) against the original recipe on tensorflow (bench/tp1_original_worker.py: Keras'
defaults, tensorflow's own threads), each a first run and a second run.

dltp's first run starts with an empty compilation cache (a fresh DLTP_CACHE_DIR), its second run
reuses that cache; each run is its own process with its own MLflow store. The original has no cache
to warm: its "second run" is the same process again, measured for symmetry. Figures are the
``train_seconds`` each side reports (model.fit's wall time, compilation included; dltp's includes its
per-epoch tracking and checkpoint). Rounds are interleaved (bench/_rounds.py): a warm-up round, then
every side once per round; the ratio original / dltp is taken per round.
Goal: ≥ 2.0× on the second run.

    python bench/tp1_second_run.py                         # Fashion-MNIST (Debian's files), 5 rounds
    python bench/tp1_second_run.py --dataset mnist --rounds 7
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rounds  # noqa: E402
from _common import pythonpath, save  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOAL = 2.0


def _env(**extra) -> dict:
    env = {**os.environ, "PYTHONPATH": pythonpath(), "TF_CPP_MIN_LOG_LEVEL": "3", **extra}
    for name in ("KERAS_BACKEND", "DLTP_THREADS", "OMP_NUM_THREADS", "DLTP_JOBS"):  # each side's own defaults
        env.pop(name, None)
    return env


def _last_json(proc: subprocess.CompletedProcess, what: str) -> dict:
    if proc.returncode != 0:
        sys.exit(f"{what} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class Dltp:
    """`dltp run tp1` twice per round: with an empty cache, then with the cache the first run left."""

    def __init__(self, dataset: str):
        self.dataset, self.cache, self.details = dataset, None, []

    def run(self, first: bool) -> float:
        if first:
            self.cache = tempfile.mkdtemp(prefix="tp1-cache-")
        work = tempfile.mkdtemp(prefix="tp1-dltp-")
        proc = subprocess.run([sys.executable, "-m", "dltp", "run", "tp1", "--dataset", self.dataset, "--json"],
                              capture_output=True, text=True, cwd=work,
                              env=_env(DLTP_CACHE_DIR=self.cache, MLFLOW_TRACKING_URI=f"sqlite:///{work}/mlflow.db"))
        result = _last_json(proc, "dltp run tp1")
        self.details.append({"run": "first" if first else "second", **{k: result.get(k) for k in (
            "backend", "threads", "train_seconds", "test_accuracy", "compilation_cache", "backend_choice")}})
        return result["train_seconds"]


def original(dataset: str) -> float:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "tp1_original_worker.py"), "--dataset", dataset],
                          capture_output=True, text=True, env=_env(KERAS_BACKEND="tensorflow"))
    return _last_json(proc, "the original recipe")["train_seconds"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion_mnist",
                        help="passed to both sides (default: Fashion-MNIST, MNIST's size, installed by Debian)")
    parser.add_argument("--rounds", type=int, default=_rounds.MIN_ROUNDS)
    args = parser.parse_args(argv)
    dltp = Dltp(args.dataset)
    load = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    # dltp's second run must follow its first: the two are one side each, in that order, every round
    rounds = _rounds.interleaved({"dltp first": lambda: dltp.run(True), "dltp second": lambda: dltp.run(False),
                                  "original first": lambda: original(args.dataset),
                                  "original second": lambda: original(args.dataset)}, rounds=args.rounds)
    sides = {name: _rounds.summary(values) for name, values in rounds.items()}
    ratios = {run: _rounds.ratio(rounds[f"original {run}"], rounds[f"dltp {run}"]) for run in ("first", "second")}
    verdict = _rounds.verdict(ratios["second"], GOAL)
    backends = sorted({d["backend"] for d in dltp.details})
    lines = [f"TP1 train seconds, {args.dataset}, {args.rounds} rounds after a warm-up, {os.cpu_count()} CPUs, "
             f"load average {load:.1f} at start; dltp on auto ({', '.join(backends)})", "",
             "| side | first run s | second run s |", "|---|---|---|"]
    for side in ("dltp", "original"):
        lines.append(f"| {side} | {_rounds.fmt(sides[f'{side} first'])} | {_rounds.fmt(sides[f'{side} second'])} |")
    lines += ["", f"original / dltp, first run: {_rounds.fmt(ratios['first'])}",
              f"original / dltp, second run: {_rounds.fmt(ratios['second'])} (goal >= {GOAL}: {verdict})"]
    text = "\n".join(lines)
    print(text)
    save("tp1_second_run", {"dataset": args.dataset, "date": started, "load_average_at_start": load,
                            "cpus": os.cpu_count(), "sides_s": sides, "ratio_original_over_dltp": ratios,
                            "goal": GOAL, "verdict_second_run": verdict, "dltp_runs": dltp.details}, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
