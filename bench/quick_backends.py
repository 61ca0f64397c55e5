"""Each experiment's seconds in `dltp run ... --quick` on each backend, on the second and later
runs: the quick table of dltp's backend preferences (bench/_preferences.py), which `auto` follows
for quick runs and lanes.py deals experiments by.

A side is one backend: one process `dltp run U1 U2 ... --quick --backend B --jobs 1 --json`, the
experiments one at a time (no neighbour sways a figure), each experiment's seconds read from the
run's own JSON (the experiment itself; the process start is lanes.py's START_S, once per batch).
Every run of the benchmark shares one cache directory (DLTP_CACHE_DIR: bundled datasets, compiled
programs; a fresh one unless ``--cache-dir``) and one MLflow store, as a student's repeated runs do.
The first round, a run per backend on the fresh cache, is the warm-up: its seconds are kept apart
as the *first run*. Then ``--rounds`` (≥ 5) interleaved rounds, each starting one backend further
(bench/_rounds.interleaved), give per experiment and backend the median and spread of the *second
and later runs*. An experiment's backends are ordered by bench/_rounds.rank: one moves ahead of the
default order (torch, jax, tensorflow) only when it is faster in every round. A backend on which a
run here missed the experiment's target is named (``missed_target``) and left out of the order.

    python bench/quick_backends.py                          # every experiment of `dltp run all`
    python bench/quick_backends.py --units tp1 tp4.conv3d --backends torch jax

"""

# Duration: (rounds + 1) × the three pinned `dltp run all --quick --jobs 1` (about 3 + 6 + 3.5
# minutes a round on the 2-core machine at one thread before the compilation cache; jax's share
# shrinks on the second run): about 60–75 minutes with 5 rounds.

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
from _common import BACKENDS, markdown_table, pythonpath, save  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def suite_units() -> list[str]:
    sys.path.insert(0, str(ROOT / "src"))
    from dltp import registry

    return registry.plan("all")


class Side:
    """One backend: runs the experiments in one pinned process per round, keeps what each took."""

    def __init__(self, backend: str, units: list[str], work: Path, cache: Path, dataset: str | None):
        self.backend, self.units, self.work, self.cache, self.dataset = backend, units, work, cache, dataset
        self.runs: list[dict] = []  # per run: process seconds, unit -> seconds, unit -> target met

    def run(self) -> float:
        env = {**os.environ, "PYTHONPATH": pythonpath(), "DLTP_CACHE_DIR": str(self.cache),
               "MLFLOW_TRACKING_URI": f"sqlite:///{self.work}/mlflow.db", "MLFLOW_DISABLE_TELEMETRY": "true",
               "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("KERAS_BACKEND", None)
        cmd = [sys.executable, "-m", "dltp", "run", *self.units, "--quick", "--backend", self.backend, "--jobs", "1",
               "--json", *(["--dataset", self.dataset] if self.dataset else [])]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=self.work)
        seconds = time.perf_counter() - start
        try:
            payload = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            errors = [line for line in proc.stderr.splitlines() if line.strip() and "it/s]" not in line]
            sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n" + "\n".join(errors[-40:]))
        results = payload.get("results", [payload])
        self.runs.append({"process_s": seconds, "seconds": {r["experiment"]: r["seconds"] for r in results},
                          "target_met": {r["experiment"]: r.get("target_met") for r in results},
                          "failed": payload.get("failed", [])})
        print(f"  {self.backend:<11} {seconds:7.1f} s  (load average {os.getloadavg()[0]:.1f})", file=sys.stderr,
              flush=True)
        return seconds


def measure(units: list[str], backends: list[str], rounds: int, cache: Path | None, dataset: str | None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="quick-backends-"))
    cache = cache or work / "cache"
    sides = {b: Side(b, units, work, cache, dataset) for b in backends}
    print(f"first run (warm-up, cache {cache}):", file=sys.stderr, flush=True)
    for side in sides.values():
        side.run()
    print(f"{rounds} rounds:", file=sys.stderr, flush=True)
    process_s = _rounds.interleaved({b: s.run for b, s in sides.items()}, rounds=rounds, warmup=False, rotate=True)
    seconds: dict[str, dict[str, list[float]]] = {}
    first: dict[str, dict[str, float]] = {}
    missed: dict[str, list[str]] = {}
    for b, side in sides.items():
        for unit in units:
            if side.runs[0]["seconds"].get(unit) is not None:
                first.setdefault(unit, {})[b] = side.runs[0]["seconds"][unit]
            kept = [run["seconds"].get(unit) for run in side.runs[1:]]
            if all(s is not None for s in kept):  # a backend that failed a round is not ranked
                seconds.setdefault(unit, {})[b] = kept
            if any(run["target_met"].get(unit) is False for run in side.runs):
                missed.setdefault(unit, []).append(b)
    return {"units": units, "backends": backends, "rounds": rounds, "cache": "given" if cache != work / "cache"
            else "fresh at the first run", "first_run_s": first, "seconds": seconds,
            "process_s": {b: _rounds.summary(v) for b, v in process_s.items()}, "missed_target": missed,
            "failed": {b: sorted({u for run in s.runs for u in run["failed"]}) for b, s in sides.items()}}


def report(payload: dict) -> str:
    backends = payload["backends"]
    rows = []
    for unit in payload["units"]:
        by_backend = payload["seconds"].get(unit, {})
        ranked = {b: v for b, v in by_backend.items() if b not in payload["missed_target"].get(unit, [])}
        row = {"experiment": unit, **{b: _rounds.cell(_rounds.summary(v)) for b, v in by_backend.items()},
               **{f"first_{b}": payload["first_run_s"].get(unit, {}).get(b) for b in backends},
               "order": " > ".join(_rounds.rank(ranked, BACKENDS)) if len(ranked) > 1 else "—",
               "missed": ", ".join(payload["missed_target"].get(unit, [])) or None}
        rows.append(row)
    rows.append({"experiment": "**process wall time**",
                 **{b: _rounds.cell(s) for b, s in payload["process_s"].items()}})
    columns = [("experiment", "experiment"), *[(b, f"{b} s (min–max)") for b in backends],
               *[(f"first_{b}", f"{b} first run s") for b in backends], ("order", "order, every round"),
               ("missed", "target missed on")]
    return markdown_table(rows, columns)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--units", nargs="+", help="experiments (default: every one of `dltp run all`)")
    p.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    p.add_argument("--rounds", type=int, default=_rounds.MIN_ROUNDS, help="kept rounds after the first run (>= 5)")
    p.add_argument("--cache-dir", type=Path, help="DLTP_CACHE_DIR of every run (default: a fresh one)")
    p.add_argument("--dataset", help="passed to every experiment (default: each one's own)")
    a = p.parse_args(argv)
    if a.rounds < _rounds.MIN_ROUNDS:
        p.error(f"a ranking takes at least {_rounds.MIN_ROUNDS} rounds")
    payload = measure(a.units or suite_units(), a.backends, a.rounds, a.cache_dir, a.dataset)
    threads = os.environ.get("DLTP_THREADS") or "dltp's default"
    text = (f"`dltp run ... --quick --jobs 1` pinned to each backend, {threads} thread(s), {os.cpu_count()} CPUs: "
            f"each experiment's seconds on the second and later runs, median (min–max) of {a.rounds} interleaved "
            f"rounds, beside its first run (fresh cache). The order moves a backend ahead of torch, jax, tensorflow "
            f"only when every round agrees; a backend that missed the target is left out of it.\n\n" + report(payload))
    print(text)
    save("quick_backends", payload, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
