"""Whole-suite wall time: `dltp run all` with each experiment on its preferred backend (`auto`,
the default) against the same command pinned to torch, to jax and to tensorflow.

Two measurements, each side one `dltp run all` process with its own fresh MLflow store and the
same data; per-experiment seconds come from the run's own JSON:

1. **Alone** (`--jobs 1`, one experiment at a time): every experiment's own cost per backend. The
   pinned sides run first and rank the backends for the quick budget in dltp's backend preferences
   (bench/_preferences.py, written by `make bench` after this script); then `auto --jobs 1` runs
   with exactly those preferences. The per-experiment comparison (auto against torch) is read
   here, where no neighbour shares the machine.
2. **Side by side** (dltp's default lanes, `--jobs` = cores / threads): what a user's
   `dltp run all` takes, auto against the same command pinned to torch and to tensorflow.

TP2's comparison with the original course scripts is bench/tp2_suite.py.

    python bench/suite_walltime.py                 # quick budget (`--quick`, what `make run` does)
    python bench/suite_walltime.py --full          # the full budget: hours on a 2-core CPU
    python bench/suite_walltime.py --threads 1     # pin every side to one thread
    python bench/suite_walltime.py --sides auto torch
    python bench/suite_walltime.py --no-side-by-side
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
                                                    "note": "this run's pinned sides"}],
                                          _preferences.missed_targets())
    if not table:
        return None
    path = Path(tempfile.mkdtemp(prefix="suite-prefs-")) / "backend_preferences.json"
    path.write_text(json.dumps(_preferences.merged({"quick": table})))
    return path


def ratio(a, b):
    return a / b if a and b else None


def run_and_report(label: str, side: str, a, preferences: Path | None, jobs: int | None) -> tuple[float, dict]:
    load = os.getloadavg()[0]
    seconds, payload = run_side(side, a.full, a.dataset, a.threads, preferences, jobs=jobs)
    print(f"{label:<24} {seconds:8.1f} s  (load average {load:.1f} at start)", flush=True)
    return seconds, payload


def alone_table(pinned: dict, auto: dict, totals: dict) -> str:
    units = list(dict.fromkeys([*auto, *pinned]))
    rows = [{"experiment": u, "auto_backend": auto.get(u, {}).get("backend"), "auto": auto.get(u, {}).get("seconds"),
             **pinned.get(u, {}),
             "vs_torch": ratio(auto.get(u, {}).get("seconds"), pinned.get(u, {}).get("torch")),
             "vs_tensorflow": ratio(auto.get(u, {}).get("seconds"), pinned.get(u, {}).get("tensorflow"))}
            for u in units]
    rows.append({"experiment": "**whole `dltp run all --jobs 1` (process wall time)**", **totals,
                 "vs_torch": ratio(totals.get("auto"), totals.get("torch")),
                 "vs_tensorflow": ratio(totals.get("auto"), totals.get("tensorflow"))})
    return markdown_table(rows, [("experiment", "experiment"), ("auto_backend", "auto picks"), ("auto", "auto s"),
                                 ("torch", "torch s"), ("jax", "jax s"), ("tensorflow", "tensorflow s"),
                                 ("vs_torch", "auto / torch"), ("vs_tensorflow", "auto / tensorflow")])


def side_by_side_table(totals: dict, alone_torch: float | None) -> str:
    rows = [{"side": side, "seconds": seconds, "vs_torch": ratio(seconds, totals.get("torch")),
             "vs_tensorflow": ratio(seconds, totals.get("tensorflow")),
             "vs_torch_alone": ratio(seconds, alone_torch)} for side, seconds in totals.items()]
    return markdown_table(rows, [("side", "`dltp run all --backend`"), ("seconds", "wall s"),
                                 ("vs_torch", "/ torch"), ("vs_tensorflow", "/ tensorflow"),
                                 ("vs_torch_alone", "/ torch --jobs 1")])


def verdicts(auto_alone: dict, pinned: dict, totals: dict) -> list[str]:
    """The issue's goals for the quick suite, each with the figure it is read from."""
    lines = []
    if totals.get("auto") and totals.get("torch"):
        got = totals["auto"] / totals["torch"]
        lines.append(f"whole suite, default: auto / torch = {got:.2f} (goal <= 0.6: {'met' if got <= 0.6 else 'not met'})")
    if totals.get("auto") and totals.get("tensorflow"):
        got = totals["auto"] / totals["tensorflow"]
        lines.append(f"whole suite, default: auto / tensorflow = {got:.2f} "
                     f"(goal <= 0.3: {'met' if got <= 0.3 else 'not met'})")
    measured = [u for u in pinned if pinned[u].get("torch")]
    if measured:  # what a perfect choice per experiment could give, from the pinned sides alone
        best = sum(min(pinned[u].values()) for u in measured) / sum(pinned[u]["torch"] for u in measured)
        lines.append(f"bound: the fastest backend for every experiment, alone, sums to {best:.2f} of torch's sum")
    # Where auto picks torch too, both sides ran the same code: their ratio is the run-to-run noise.
    ratios = {u: r["seconds"] / pinned[u]["torch"] for u, r in auto_alone.items() if pinned.get(u, {}).get("torch")}
    moved = {u: x for u, x in ratios.items() if auto_alone[u]["backend"] != "torch"}
    same = {u: x for u, x in ratios.items() if u not in moved}
    if moved:
        worst = max(moved, key=moved.get)
        lines.append(f"per experiment, alone, where auto picks another backend than torch: slowest auto / torch = "
                     f"{moved[worst]:.2f} ({worst}) (goal <= 1.10: {'met' if moved[worst] <= 1.10 else 'not met'})")
    if same:
        spread = max(same.values(), key=lambda x: abs(x - 1))
        lines.append(f"run-to-run noise: where auto picks torch too, the same run twice differs by up to "
                     f"{abs(spread - 1):.0%} ({len(same)} experiments)")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="full budget instead of --quick")
    p.add_argument("--dataset", help="passed to every lab (default: each lab's own, with its offline fallback)")
    p.add_argument("--threads", type=int, help="threads per side (default: dltp's own default)")
    p.add_argument("--sides", nargs="+", choices=SIDES, default=list(SIDES))
    p.add_argument("--no-side-by-side", dest="side_by_side", action="store_false",
                   help="only the one-at-a-time runs")
    a = p.parse_args(argv)
    pinned, auto, alone_totals = {}, {}, {}
    auto_preferences = None  # ranked once, from the pinned sides, for both auto runs
    print("alone (--jobs 1):", flush=True)
    for side in sorted(a.sides, key=SIDES.index):  # the pinned sides first, auto last
        if side == "auto" and not a.full:
            auto_preferences = with_quick_table(pinned)
        preferences = auto_preferences if side == "auto" else None
        alone_totals[side], payload = run_and_report(f"{side} --jobs 1", side, a, preferences, jobs=1)
        for r in payload["results"]:
            if side == "auto":
                auto[r["experiment"]] = {"backend": r["backend"], "seconds": r["seconds"]}
            else:
                pinned.setdefault(r["experiment"], {})[side] = r["seconds"]
    lanes: dict = {"totals_s": {}, "seconds": {}, "auto_backends": {}}
    if a.side_by_side:
        print("side by side (dltp's default lanes):", flush=True)
        for side in (s for s in ("torch", "tensorflow", "auto") if s in a.sides):
            preferences = auto_preferences if side == "auto" else None
            lanes["totals_s"][side], payload = run_and_report(side, side, a, preferences, jobs=None)
            for r in payload["results"]:
                lanes["seconds"].setdefault(r["experiment"], {})[side] = r["seconds"]
                if side == "auto":
                    lanes["auto_backends"][r["experiment"]] = r["backend"]
    budget = "full" if a.full else "quick"
    threads = a.threads or os.environ.get("DLTP_THREADS") or "dltp's default"
    print()
    text = (f"`dltp run all{'' if a.full else ' --quick'}`, {budget} budget, {threads} thread(s), "
            f"{os.cpu_count()} CPUs\n\nAlone, one experiment at a time (`--jobs 1`):\n\n"
            + alone_table(pinned, auto, alone_totals))
    if lanes["totals_s"]:
        text += ("\n\nSide by side, dltp's default lanes (what `dltp run all` does):\n\n"
                 + side_by_side_table(lanes["totals_s"], alone_totals.get("torch")))
    text += "\n\n" + "\n".join(f"- {line}" for line in verdicts(auto, pinned, lanes["totals_s"]))
    print(text)
    save("suite_walltime", {"budget": budget, "threads": a.threads, "pinned_s": pinned, "auto": auto,
                            "alone_totals_s": alone_totals, "side_by_side": lanes}, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
