"""Whole-suite wall time: `dltp run all` with each experiment on its preferred backend (`auto`,
the default) against the same command pinned to torch and to tensorflow, alone and side by side.

The ranking `auto` follows for the quick budget comes from bench/quick_backends.py (each
experiment's seconds per backend on the second run, in rounds), read from its latest record
(bench/results/runs/quick_backends.json, else bench/results/quick_backends.json) into a
preferences file for the auto runs; without a record, auto follows dltp's shipped preferences, and
the output says so. Six sides, each one `dltp run all` process:

- **alone** (`--jobs 1`, one experiment at a time): auto, torch, tensorflow;
- **side by side** (dltp's default lanes, what a user's `dltp run all` does): auto, torch, tensorflow.

Every run shares one cache directory (DLTP_CACHE_DIR, fresh at the start: compiled programs,
bundled datasets) and each backend flag its MLflow store, as a student's repeated runs do. A warm-up
round runs the three sides side by side (it fills the caches; not kept), then ``--rounds`` (≥ 5)
interleaved rounds of the six sides, each round starting one side further (bench/_rounds.py). Each
whole-suite figure is the median of the rounds with its spread; each ratio the median of the
per-round ratios; a goal is met only when every round's ratio meets it, and an experiment's auto
against torch (alone, same rounds) is read the same way.

TP2's comparison with the original course scripts is bench/tp2_suite.py.

    python bench/suite_walltime.py                 # quick budget (`--quick`, what `make run` does)
    python bench/suite_walltime.py --full          # the full budget: many hours on a 2-core CPU
    python bench/suite_walltime.py --sides auto torch --modes side-by-side
    python bench/suite_walltime.py --targets tp1 tp5.attention   # a part of the suite (a smoke test)

"""

# Duration: 3 side-by-side runs + rounds × (3 alone + 3 side by side). With the quick suite at
# ~170 s alone and ~100 s side by side (2-core machine, before the compilation cache) that is about
# 75 minutes with 5 rounds; ~50 minutes if the second run brings `make run` to 60 s.

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
from _common import markdown_table, pythonpath, save, thread_env  # noqa: E402

SIDES = ("auto", "torch", "tensorflow")
MODES = {"alone": 1, "side-by-side": None}  # --jobs
TITLES = {"alone": "Alone, one experiment at a time (`--jobs 1`)", "side-by-side": "Side by side, dltp's default lanes"}
GOALS = {("side-by-side", "torch"): 0.6, ("side-by-side", "tensorflow"): 0.3}  # auto / side, at most
PER_EXPERIMENT_GOAL = 1.10  # alone, where auto picks another backend than torch: auto / torch, at most


class Side:
    """One `dltp run all` configuration: a backend flag and a number of lanes."""

    def __init__(self, side: str, mode: str, a, cache: Path, preferences: Path | None, work: Path):
        self.side, self.mode, self.a, self.cache, self.preferences, self.work = side, mode, a, cache, preferences, work
        self.runs: list[dict] = []

    def run(self) -> float:
        env = {**os.environ, **thread_env(self.a.threads), "PYTHONPATH": pythonpath(),
               "DLTP_CACHE_DIR": str(self.cache), "MLFLOW_TRACKING_URI": f"sqlite:///{self.work}/mlflow.db",
               "MLFLOW_DISABLE_TELEMETRY": "true", "TF_CPP_MIN_LOG_LEVEL": "2"}
        if self.preferences and self.side == "auto":
            env["DLTP_BACKEND_PREFERENCES"] = str(self.preferences)
        env.pop("KERAS_BACKEND", None)  # the flag decides, as it would for a user with nothing set
        jobs = MODES[self.mode]
        cmd = [sys.executable, "-m", "dltp", "run", *self.a.targets, "--json", "--backend", self.side,
               *([] if self.a.full else ["--quick"]), *(["--dataset", self.a.dataset] if self.a.dataset else []),
               *(["--jobs", str(jobs)] if jobs else [])]
        load = os.getloadavg()[0]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=self.work)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            errors = [line for line in proc.stderr.splitlines() if "it/s]" not in line and line.strip()]
            sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n" + "\n".join(errors[-60:]))
        payload = json.loads(proc.stdout.strip().splitlines()[-1])
        results = payload.get("results", [payload])  # one experiment: its own result
        self.runs.append({"seconds": seconds, "load_average_at_start": round(load, 2),
                          "experiments": {r["experiment"]: {"backend": r["backend"], "seconds": r["seconds"],
                                                            "target_met": r.get("target_met")} for r in results}})
        print(f"  {self.side:<11} {self.mode:<13} {seconds:8.1f} s  (load average {load:.1f} at start)",
              file=sys.stderr, flush=True)
        return seconds


def quick_preferences(record: Path | None = None) -> tuple[Path | None, dict | None, str]:
    """A preferences file whose quick table is ranked from bench/quick_backends.py's latest record,
    the table, and where it comes from."""
    import _preferences

    table, source = _preferences.quick_table(), "bench/results/runs/quick_backends.json"
    if table is None:
        path = record or _preferences.HERE / "results" / "quick_backends.json"
        if path.exists():
            payload = json.loads(path.read_text())
            table = _preferences.quick_table_of(payload, [{"benchmark": "quick_backends", "record": str(path)}])
            source = str(path)
    if table is None:
        return None, None, "no quick_backends record: dltp's shipped preferences (src/dltp/backend_preferences.json)"
    path = Path(tempfile.mkdtemp(prefix="suite-prefs-")) / "backend_preferences.json"
    path.write_text(json.dumps(_preferences.merged({"quick": table})))
    return path, table, f"ranked by bench/quick_backends.py ({source})"


def whole_table(mode: str, walls: dict[str, list[float]], command: str = "dltp run all") -> str:
    rows = []
    for side, rounds in walls.items():
        row = {"side": side, "wall": _rounds.cell(_rounds.summary(rounds))}
        for other in ("torch", "tensorflow"):
            if other in walls and other != side:
                r = _rounds.ratio(rounds, walls[other])
                row[f"vs_{other}"] = _rounds.cell(r)
                row[f"verdict_{other}"] = _rounds.compared(rounds, walls[other])
        rows.append(row)
    return markdown_table(rows, [("side", f"`{command} --backend` ({mode})"), ("wall", "wall s (min–max)"),
                                 ("vs_torch", "/ torch (min–max)"), ("verdict_torch", "against torch, every round"),
                                 ("vs_tensorflow", "/ tensorflow (min–max)"),
                                 ("verdict_tensorflow", "against tensorflow, every round")])


def per_experiment(auto: list[dict], torch: list[dict]) -> dict[str, dict]:
    """Alone, auto against torch per experiment: its backend(s) and the per-round ratio of seconds."""
    out = {}
    for unit in auto[0]["experiments"]:
        a = [run["experiments"][unit]["seconds"] for run in auto if unit in run["experiments"]]
        t = [run["experiments"][unit]["seconds"] for run in torch if unit in run["experiments"]]
        if len(a) != len(t) or not a:
            continue
        picks = sorted({run["experiments"][unit]["backend"] for run in auto if unit in run["experiments"]})
        out[unit] = {"backend": "/".join(picks), "auto_s": _rounds.summary(a), "torch_s": _rounds.summary(t),
                     "ratio": _rounds.ratio(a, t)}
    return out


def experiment_table(rows: dict[str, dict]) -> str:
    shown = [{"experiment": u, "backend": r["backend"], "auto": _rounds.cell(r["auto_s"]),
              "torch": _rounds.cell(r["torch_s"]), "ratio": _rounds.cell(r["ratio"]),
              "verdict": "same backend" if r["backend"] == "torch" else
              _rounds.verdict(r["ratio"], PER_EXPERIMENT_GOAL, higher_is_better=False)} for u, r in rows.items()]
    return markdown_table(shown, [("experiment", "experiment"), ("backend", "auto picks"),
                                  ("auto", "auto s (min–max)"), ("torch", "torch s (min–max)"),
                                  ("ratio", "auto / torch (min–max)"),
                                  ("verdict", f"auto / torch <= {PER_EXPERIMENT_GOAL}")])


def verdicts(walls: dict[tuple[str, str], list[float]], experiments: dict[str, dict] | None = None,
             quick: dict | None = None) -> list[str]:
    """The quick suite's goals, each read on every round (met / not met / inside the spread)."""
    lines = []
    for (mode, other), goal in GOALS.items():
        if (mode, "auto") in walls and (mode, other) in walls:
            r = _rounds.ratio(walls[(mode, "auto")], walls[(mode, other)])
            lines.append(f"whole suite, {mode}: auto / {other} = {_rounds.fmt(r, 2)} (goal <= {goal}: "
                         f"{_rounds.verdict(r, goal, higher_is_better=False)})")
    moved = {u: r for u, r in (experiments or {}).items() if r["backend"] != "torch"}
    if moved:
        decided = [_rounds.verdict(r["ratio"], PER_EXPERIMENT_GOAL, higher_is_better=False) for r in moved.values()]
        worst = max(moved, key=lambda u: moved[u]["ratio"]["median"])
        lines.append(f"per experiment, alone, where auto picks another backend than torch ({len(moved)}): "
                     f"{decided.count('met')} met, {decided.count('not met')} not met, "
                     f"{decided.count('inside the spread')} inside the spread of auto / "
                     f"torch <= {PER_EXPERIMENT_GOAL}; highest median {moved[worst]['ratio']['median']:.2f} ({worst})")
    if quick and quick.get("figures"):  # what a perfect choice per experiment could give (medians of (2))
        figures = {u: f for u, f in quick["figures"].items() if f.get("torch")}
        if figures:
            best = sum(min(f.values()) for f in figures.values()) / sum(f["torch"] for f in figures.values())
            lines.append(f"bound: the fastest backend for every experiment sums to {best:.2f} of torch's sum "
                         "(medians of bench/quick_backends.py, second run)")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="full budget instead of --quick")
    p.add_argument("--dataset", help="passed to every lab (default: each lab's own, with its offline fallback)")
    p.add_argument("--threads", type=int, help="threads per side (default: dltp's own default)")
    p.add_argument("--sides", nargs="+", choices=SIDES, default=list(SIDES))
    p.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    p.add_argument("--rounds", type=int, default=_rounds.MIN_ROUNDS, help="kept rounds after the warm-up (>= 5)")
    p.add_argument("--quick-record", type=Path, help="a bench/quick_backends.py payload to rank auto by")
    p.add_argument("--targets", nargs="+", default=["all"], help="what `dltp run` runs (default: all)")
    a = p.parse_args(argv)
    if a.rounds < _rounds.MIN_ROUNDS:
        p.error(f"a comparison takes at least {_rounds.MIN_ROUNDS} rounds")
    preferences, quick, source = (None, None, "the full budget: dltp's shipped preferences") if a.full \
        else quick_preferences(a.quick_record)
    cache = Path(tempfile.mkdtemp(prefix="suite-cache-"))
    works = {side: Path(tempfile.mkdtemp(prefix=f"suite-{side}-")) for side in a.sides}  # its MLflow store
    sides = {(mode, side): Side(side, mode, a, cache, preferences, works[side]) for mode in a.modes
             for side in a.sides}
    print("warm-up (side by side, not kept):", file=sys.stderr, flush=True)
    for side in a.sides:
        Side(side, "side-by-side", a, cache, preferences, works[side]).run()
    print(f"{a.rounds} rounds:", file=sys.stderr, flush=True)
    got = _rounds.interleaved({key: s.run for key, s in sides.items()}, rounds=a.rounds, warmup=False, rotate=True)
    budget = "full" if a.full else "quick"
    threads = a.threads or os.environ.get("DLTP_THREADS") or "dltp's default"
    command = f"dltp run {' '.join(a.targets)}{'' if a.full else ' --quick'}"
    text = [f"`{command}`, {budget} budget, {threads} thread(s), {os.cpu_count()} CPUs: median (min–max) of "
            f"{a.rounds} interleaved rounds after a warm-up round; auto's preferences: {source}."]
    for mode in a.modes:
        walls = {side: got[(mode, side)] for side in a.sides}
        title = TITLES[mode]
        text += [f"\n{title}:\n", whole_table(mode, walls, command)]
    experiments = None
    if ("alone", "auto") in sides and ("alone", "torch") in sides:
        experiments = per_experiment(sides[("alone", "auto")].runs, sides[("alone", "torch")].runs)
        text += ["\nAlone, each experiment: auto against torch in the same rounds:\n", experiment_table(experiments)]
    text += [""] + [f"- {line}" for line in verdicts(got, experiments, quick)]
    print("\n".join(text))
    save("suite_walltime", {"budget": budget, "threads": a.threads, "rounds": a.rounds, "preferences": source,
                            "quick_order": (quick or {}).get("order"),
                            "wall_s": {f"{mode} {side}": _rounds.summary(v) for (mode, side), v in got.items()},
                            "runs": {f"{mode} {side}": s.runs for (mode, side), s in sides.items()},
                            "per_experiment_alone": experiments}, "\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
