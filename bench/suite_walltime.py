"""Whole-suite wall time: `dltp run all` with each experiment on its preferred backend (`auto`,
the default) against the same command pinned to torch, to jax and to tensorflow, side by side in
one invocation.

Each side is one `dltp run all` process with its own fresh MLflow store and the same data; the
per-experiment seconds come from the run's own JSON. The pinned sides run first: they rank the
backends for the quick budget in dltp's backend preferences (bench/_preferences.py, written by
`make bench` after this script), and the `auto` side runs with exactly those preferences. TP2's
comparison with the original course scripts is bench/tp2_suite.py.

    python bench/suite_walltime.py                 # quick budget (`--quick`, what `make run` does)
    python bench/suite_walltime.py --full          # the full budget: hours on a 2-core CPU
    python bench/suite_walltime.py --threads 1     # pin every side to one thread
    python bench/suite_walltime.py --sides auto torch
    python bench/suite_walltime.py --no-one-lane    # without auto and torch at --jobs 1

Each side runs with dltp's default lanes (experiments side by side, `--jobs`: cores / threads);
then auto and torch run again with `--jobs 1`, one experiment at a time, so that what the backend
choice gains and what running side by side gains are told apart.
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
SIDES = ("torch", "jax", "tensorflow", "auto")


def run_side(side: str, full: bool, dataset: str | None, threads: int | None,
             preferences: Path | None = None, jobs: int | None = None) -> tuple[float, dict]:
    work = tempfile.mkdtemp(prefix=f"suite-{side}-")
    env = {**os.environ, **thread_env(threads), "PYTHONPATH": str(ROOT / "src"),
           "MLFLOW_TRACKING_URI": f"sqlite:///{work}/mlflow.db", "MLFLOW_DISABLE_TELEMETRY": "true",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    if preferences:
        env["DLTP_BACKEND_PREFERENCES"] = str(preferences)
    env.pop("KERAS_BACKEND", None)  # the flag decides, as it would for a user with nothing set
    cmd = [sys.executable, "-m", "dltp", "run", "all", "--json", "--backend", side,
           *([] if full else ["--quick"]), *(["--dataset", dataset] if dataset else []),
           *(["--jobs", str(jobs)] if jobs else [])]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if "it/s]" not in line and line.strip()]
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n" + "\n".join(errors[-60:]))
    return seconds, json.loads(proc.stdout.strip().splitlines()[-1])


def with_quick_table(pinned: dict) -> Path | None:
    """dltp's preferences with the quick table ranked from the pinned sides just measured."""
    import _preferences

    table = _preferences.quick_table_from(pinned, [{"benchmark": "suite_walltime", "date": time.strftime("%Y-%m-%d"),
                                                    "note": "this run's pinned sides"}])
    if not table:
        return None
    path = Path(tempfile.mkdtemp(prefix="suite-prefs-")) / "backend_preferences.json"
    path.write_text(json.dumps(_preferences.merged({"quick": table})))
    return path


def ratio(a, b):
    return a / b if a and b else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="full budget instead of --quick")
    p.add_argument("--dataset", help="passed to every lab (default: each lab's own, with its offline fallback)")
    p.add_argument("--threads", type=int, help="threads per side (default: dltp's own default)")
    p.add_argument("--sides", nargs="+", choices=SIDES, default=list(SIDES))
    p.add_argument("--no-one-lane", dest="one_lane", action="store_false",
                   help="skip auto and torch with --jobs 1")
    a = p.parse_args(argv)
    totals, pinned, auto = {}, {}, {}
    for side in sorted(a.sides, key=SIDES.index):
        load = os.getloadavg()[0]
        preferences = with_quick_table(pinned) if side == "auto" and not a.full else None
        seconds, payload = run_side(side, a.full, a.dataset, a.threads, preferences)
        totals[side] = seconds
        for r in payload["results"]:
            if side == "auto":
                auto[r["experiment"]] = {"backend": r["backend"], "seconds": r["seconds"]}
            else:
                pinned.setdefault(r["experiment"], {})[side] = r["seconds"]
        print(f"{side:<11} {seconds:8.1f} s  (load average {load:.1f} at start)", flush=True)
    one_lane = {}
    for side in ("torch", "auto") if a.one_lane else ():
        load = os.getloadavg()[0]
        preferences = with_quick_table(pinned) if side == "auto" and not a.full else None
        one_lane[side], _ = run_side(side, a.full, a.dataset, a.threads, preferences, jobs=1)
        print(f"{side + ' --jobs 1':<11} {one_lane[side]:8.1f} s  (load average {load:.1f} at start)", flush=True)
    units = list(dict.fromkeys([*auto, *pinned]))
    rows = [{"experiment": u, "auto_backend": auto.get(u, {}).get("backend"), "auto": auto.get(u, {}).get("seconds"),
             **pinned.get(u, {}),
             "vs_torch": ratio(auto.get(u, {}).get("seconds"), pinned.get(u, {}).get("torch")),
             "vs_tensorflow": ratio(auto.get(u, {}).get("seconds"), pinned.get(u, {}).get("tensorflow"))}
            for u in units]
    rows.append({"experiment": "**whole `dltp run all` (process wall time)**", **totals,
                 "vs_torch": ratio(totals.get("auto"), totals.get("torch")),
                 "vs_tensorflow": ratio(totals.get("auto"), totals.get("tensorflow"))})
    table = markdown_table(rows, [("experiment", "experiment"), ("auto_backend", "auto picks"), ("auto", "auto s"),
                                  ("torch", "torch s"), ("jax", "jax s"), ("tensorflow", "tensorflow s"),
                                  ("vs_torch", "auto / torch"), ("vs_tensorflow", "auto / tensorflow")])
    budget = "full" if a.full else "quick"
    threads = a.threads or os.environ.get("DLTP_THREADS") or "dltp's default"
    note = f"`dltp run all{'' if a.full else ' --quick'}`, {budget} budget, {threads} thread(s), {os.cpu_count()} CPUs"
    for other in ("torch", "tensorflow"):
        if totals.get("auto") and totals.get(other):
            note += f"; whole suite auto / {other} = {totals['auto'] / totals[other]:.2f}"
    if one_lane:
        note += (f"; with --jobs 1 (one experiment at a time): auto {one_lane['auto']:.1f} s, torch "
                 f"{one_lane['torch']:.1f} s, auto / torch = {one_lane['auto'] / one_lane['torch']:.2f}")
        if totals.get("auto"):
            note += (f"; default auto (side by side) / torch --jobs 1 = "
                     f"{totals['auto'] / one_lane['torch']:.2f}")
    print()
    print(table)
    print(f"\n{note}")
    save("suite_walltime", {"budget": budget, "threads": a.threads, "totals_s": totals, "pinned_s": pinned,
                            "auto": auto, "one_lane_totals_s": one_lane}, table + "\n\n" + note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
