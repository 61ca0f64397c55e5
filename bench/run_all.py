"""`make bench`: runs every benchmark in bench/ one after another and writes one summary
(bench/results/summary.md and .json), then refreshes the README's results section with it.

A benchmark is any bench/*.py script other than this one, helpers (_*.py) and workers
(*_worker.py). Each prints its own table; its output, exit status, wall time and date are kept in
bench/results/runs/NAME.json. The summary is built from the latest run of every benchmark, so
`--only NAME ...` re-measures a subset and keeps the others' latest figures (each section says when
it was measured); `--render` only rebuilds the summary from them. The README's lab results table
is regenerated too, from the records in bench/results/labs/ (bench/render_results.py).
`--threads N` pins every benchmark's compute threads (fair side-by-side ratios when other work shares the machine);
`--no-readme` leaves the README alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
RESULTS = HERE / "results"
RUNS = RESULTS / "runs"


def scripts() -> list[Path]:
    tools = ("run_all.py", "record.py", "render_results.py", "compare_runs.py")
    return sorted(p for p in HERE.glob("*.py")
                  if p.name not in tools and not p.name.startswith("_") and not p.stem.endswith("_worker"))


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def commit() -> dict:
    """The commit the benchmark ran at, and whether the tree had changes beside it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=HERE.parent).stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", "src", "bench/*.py"))}


def run_one(script: Path, env: dict) -> dict:
    print(f"== {script.stem} ==", flush=True)
    load = os.getloadavg()[0]  # other work on the machine when it started: context for the timings
    started = time.time()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=HERE.parent, env=env)
    seconds = time.perf_counter() - start
    print(proc.stdout, flush=True)
    if proc.returncode:
        print(proc.stderr[-3000:], file=sys.stderr)
    record = {"benchmark": script.stem, "returncode": proc.returncode, "seconds": round(seconds, 1),
              "date": time.strftime("%Y-%m-%d"), **commit(), "machine": machine(),
              "threads": env.get("OMP_NUM_THREADS"),
              "load_average_at_start": round(load, 2), "output": proc.stdout}
    payload = RESULTS / f"{script.stem}.json"  # the figures the benchmark saved, when it saved them now
    if payload.exists() and payload.stat().st_mtime >= started:
        record["payload"] = json.loads(payload.read_text())
    RUNS.mkdir(parents=True, exist_ok=True)
    (RUNS / f"{script.stem}.json").write_text(json.dumps(record, indent=2))
    return record


def section(script: Path) -> tuple[str, dict | None]:
    path = RUNS / f"{script.stem}.json"
    if not path.exists():
        return (f"### {script.stem} — not measured yet\n\n`python bench/run_all.py --only {script.stem}`\n",
                None)
    r = json.loads(path.read_text())
    status = "" if r["returncode"] == 0 else f" — **failed (exit {r['returncode']})**"
    threads = f", {r['threads']} thread(s)" if r.get("threads") else ""
    if r.get("load_average_at_start") is not None:
        threads += f", load average {r['load_average_at_start']:.1f} at start"
    # progress bars (terminal escapes, MLflow's downloads) are not figures
    output = "\n".join(line for line in r["output"].splitlines()
                       if "\x1b[" not in line and "it/s]" not in line).strip()
    if not any(line.startswith("|") for line in output.splitlines()):
        output = f"```text\n{output}\n```"  # plain-text output keeps its columns
    return (f"### {r['benchmark']}{status}\n\n_measured {r['date']} ({r['machine']}{threads}), "
            f"{r['seconds']:.0f} s_\n\n{output}\n", r)


def render_lab_results() -> None:
    """The README's other generated section: the labs' results table, from bench/results/labs/."""
    if "<!-- results:start -->" not in README.read_text():
        return
    import render_results

    try:
        render_results.write(README, labs=RESULTS / "labs")
    except render_results.RecordError as error:
        print(f"results table not rewritten: {error}", file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", help="benchmark names (file stems) to run")
    parser.add_argument("--threads", type=int, help="compute threads for every benchmark")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--write-preferences", action="store_true",
                        help="run nothing: rewrite src/dltp/backend_preferences.json from the recorded runs")
    parser.add_argument("--render", action="store_true",
                        help="run nothing: rebuild the summary and the README section from the recorded runs")
    args = parser.parse_args(argv)
    known = {p.stem for p in scripts()}
    unknown = sorted(set(args.only or ()) - known)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
    sys.path.insert(0, str(HERE))
    from _common import thread_env

    env = {**os.environ, **thread_env(args.threads)}
    only_record = args.render or args.write_preferences
    ran = [] if only_record else [run_one(p, env) for p in scripts() if not args.only or p.stem in args.only]
    if not args.render:  # the backend preferences follow the latest measurements
        import _preferences

        if _preferences.write():
            print(f"backend preferences: {_preferences.TARGET}")
    sections, results = zip(*(section(p) for p in scripts()))
    summary = ("Measured by `make bench` (`python bench/run_all.py`); every figure below was printed by the "
               "benchmark named above it.\n\n" + "\n".join(sections))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "summary.md").write_text(summary)
    (RESULTS / "summary.json").write_text(json.dumps([r for r in results if r], indent=2))
    if not args.no_readme and README.exists():
        text = README.read_text()
        if START in text and END in text:
            head, _, rest = text.partition(START)
            _, _, tail = rest.partition(END)
            README.write_text(f"{head}{START}\n{summary}\n{END}{tail}")
        render_lab_results()
    print(f"summary: {RESULTS / 'summary.md'}")
    return 1 if any(r["returncode"] for r in ran) else 0


if __name__ == "__main__":
    sys.exit(main())
