"""Whole-suite wall time: `dltp run all` on the default backend (torch) against the same
`dltp run all` on the tensorflow backend, side by side in one invocation. Both sides are dltp; the
original scripts themselves are timed only for TP2 (bench/tp2_suite.py).

Each side is one `dltp run all` process with its own fresh MLflow store and the same data; the
per-experiment seconds come from the run's own JSON. `dltp run all` defaults to the labs' original
recipes (TP3's `fast` recipe is opt-in) on both sides, so the two train the same models for the
same epochs: the difference is the backend.

    python bench/suite_walltime.py                 # quick budget (`--quick`, what `make run` does)
    python bench/suite_walltime.py --full          # the full budget: hours on a 2-core CPU
    python bench/suite_walltime.py --threads 1     # pin both sides to one thread each
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
from _common import markdown_table, save, thread_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIDES = (("dltp, default backend", "torch"), ("dltp, tensorflow", "tensorflow"))


def run_side(backend: str, full: bool, dataset: str | None, threads: int | None) -> tuple[float, dict]:
    work = tempfile.mkdtemp(prefix=f"suite-{backend}-")
    env = {**os.environ, **thread_env(threads), "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT / "src"),
           "MLFLOW_TRACKING_URI": f"sqlite:///{work}/mlflow.db", "MLFLOW_DISABLE_TELEMETRY": "true",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    cmd = [sys.executable, "-m", "dltp", "run", "all", "--json", *([] if full else ["--quick"]),
           *(["--dataset", dataset] if dataset else [])]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} ({backend}) failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return seconds, json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="full budget instead of --quick")
    p.add_argument("--dataset", help="passed to every lab (default: each lab's own, with its offline fallback)")
    p.add_argument("--threads", type=int, help="threads per side (OMP / TF intra-op); default: the libraries'")
    a = p.parse_args(argv)
    totals, per_unit = {}, {}
    for label, backend in SIDES:
        seconds, payload = run_side(backend, a.full, a.dataset, a.threads)
        totals[backend] = seconds
        for r in payload["results"]:
            per_unit.setdefault(r["experiment"], {})[backend] = r["seconds"]
        print(f"{label:<22} {backend:<10} {seconds:8.1f} s", flush=True)
    budget = "full" if a.full else "quick"
    rows = [{"experiment": unit, **{b: s.get(b) for _, b in SIDES},
             "ratio": s["torch"] / s["tensorflow"] if s.get("torch") and s.get("tensorflow") else None}
            for unit, s in per_unit.items()]
    rows.append({"experiment": "**whole `dltp run all` (process wall time)**", "torch": totals["torch"],
                 "tensorflow": totals["tensorflow"], "ratio": totals["torch"] / totals["tensorflow"]})
    table = markdown_table(rows, [("experiment", "experiment"), ("torch", "dltp, torch s"),
                                  ("tensorflow", "dltp, tensorflow s"), ("ratio", "torch / tensorflow")])
    note = (f"`dltp run all{'' if a.full else ' --quick'}`, {budget} budget, "
            f"{a.threads or os.environ.get('OMP_NUM_THREADS') or 'default'} thread(s) per side, {os.cpu_count()} CPUs; "
            f"whole suite torch / tensorflow = {totals['torch'] / totals['tensorflow']:.2f}")
    print()
    print(table)
    print(f"\n{note}")
    save("suite_walltime", {"budget": budget, "threads": a.threads, "totals_s": totals, "per_experiment_s": per_unit},
         table + "\n\n" + note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
