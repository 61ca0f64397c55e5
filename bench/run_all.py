"""`make bench`: runs every benchmark in bench/ one after another and writes one summary
(bench/results/summary.md and .json), then regenerates docs/benchmarks.md's benchmark section from it.

A benchmark is any bench/*.py script other than the tools (this one, record.py, render_results.py,
compare_runs.py, rerecord.py), helpers (_*.py) and workers (*_worker.py). Each prints its own table;
its output, exit status, wall time, date and provenance are kept in bench/results/runs/NAME.json: the
commit when it *started* and whether the tree was clean then (untracked files count), and the files
of src/ and bench/ that its processes read (``measured``, which makes the record stale when one of
them changes; bench/_provenance.py). The summary is built from the latest run of every benchmark, so
`--only NAME ...` re-measures a subset and keeps the others' latest figures (each section says when
and at which commit it was measured); `--render` only rebuilds the summary and the docs from them.
docs/benchmarks.md is rewritten by bench/render_results.py, which refuses dirty or stale records.
`--threads N` pins every benchmark's compute threads (fair side-by-side ratios when other work shares
the machine); `--no-docs` leaves docs/benchmarks.md alone.
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
RESULTS = HERE / "results"
RUNS = RESULTS / "runs"


def scripts() -> list[Path]:
    tools = ("run_all.py", "record.py", "render_results.py", "compare_runs.py", "rerecord.py")
    return sorted(p for p in HERE.glob("*.py")
                  if p.name not in tools and not p.name.startswith("_") and not p.stem.endswith("_worker"))


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def run_one(script: Path, env: dict) -> dict:
    import _provenance

    print(f"== {script.stem} ==", flush=True)
    started_at = _provenance.state(HERE.parent)  # the code it measures is the code of this moment
    measured = _provenance.MeasuredFiles(HERE.parent)
    load = os.getloadavg()[0]  # other work on the machine when it started: context for the timings
    started = time.time()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=HERE.parent,
                          env=measured.env(env))
    seconds = time.perf_counter() - start
    print(proc.stdout, flush=True)
    if proc.returncode:
        print(proc.stderr[-3000:], file=sys.stderr)
    record = {"benchmark": script.stem, "returncode": proc.returncode, "seconds": round(seconds, 1),
              "date": time.strftime("%Y-%m-%d"), **started_at, "machine": machine(),
              "threads": env.get("OMP_NUM_THREADS"), "load_average_at_start": round(load, 2),
              "measured": measured.files(), "output": proc.stdout}
    payload = RESULTS / f"{script.stem}.json"  # the figures the benchmark saved, when it saved them now
    if payload.exists() and payload.stat().st_mtime >= started:
        record["payload"] = json.loads(payload.read_text())
    RUNS.mkdir(parents=True, exist_ok=True)
    (RUNS / f"{script.stem}.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def render_docs() -> None:
    """docs/benchmarks.md's generated section, from bench/results/runs/ (bench/render_results.py)."""
    import render_results

    if not render_results.BENCHMARKS.exists():
        return
    try:
        for path in render_results.write(paths=[render_results.BENCHMARKS]):
            print(f"rendered: {path}")
    except render_results.RecordError as error:
        print(f"docs/benchmarks.md not rewritten: {error}", file=sys.stderr)
    for problem in render_results.stale(paths=[render_results.BENCHMARKS]):  # shown as gaps in the page
        print(f"not measured at this commit: {problem}", file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", help="benchmark names (file stems) to run")
    parser.add_argument("--threads", type=int, help="compute threads for every benchmark")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument("--write-preferences", action="store_true",
                        help="run nothing: rewrite src/dltp/backend_preferences.json from the recorded runs")
    parser.add_argument("--render", action="store_true",
                        help="run nothing: rebuild the summary and docs/benchmarks.md from the recorded runs")
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
    import render_results

    summary = render_results.bench_section(RUNS, strict=False)  # what each benchmark last printed, stale or not
    results = [json.loads(path.read_text()) for path in (RUNS / f"{p.stem}.json" for p in scripts()) if path.exists()]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "summary.md").write_text(summary + "\n")
    (RESULTS / "summary.json").write_text(json.dumps(results, indent=2))
    if not args.no_docs:
        render_docs()
    print(f"summary: {RESULTS / 'summary.md'}")
    return 1 if any(r["returncode"] for r in ran) else 0


if __name__ == "__main__":
    sys.exit(main())
