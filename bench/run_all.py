"""`make bench`: runs every benchmark in bench/ one after another and writes one summary
(bench/results/summary.md and .json), then refreshes the README's results section with it.

A benchmark is any bench/*.py script other than this one, helpers (_*.py) and workers
(*_worker.py). Each prints its own table; the summary keeps each script's output verbatim, its
exit status and wall time. `--only NAME ...` runs a subset; `--no-readme` leaves the README alone.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def scripts() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py")
                  if p.name != "run_all.py" and not p.name.startswith("_") and not p.stem.endswith("_worker"))


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="+", help="benchmark names (file stems) to run")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    chosen = [p for p in scripts() if not args.only or p.stem in args.only]
    results, sections = [], []
    for script in chosen:
        print(f"== {script.stem} ==", flush=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=HERE.parent)
        seconds = time.perf_counter() - start
        print(proc.stdout, flush=True)
        if proc.returncode:
            print(proc.stderr[-3000:], file=sys.stderr)
        results.append({"benchmark": script.stem, "returncode": proc.returncode, "seconds": round(seconds, 1),
                        "output": proc.stdout})
        status = "" if proc.returncode == 0 else f" — **failed (exit {proc.returncode})**"
        sections.append(f"### {script.stem}{status}\n\n{proc.stdout.strip()}\n")
    stamp = time.strftime("%Y-%m-%d")
    summary = (f"Measured by `make bench` on {stamp} ({machine()}); every figure below was printed by "
               f"the benchmark named above it.\n\n" + "\n".join(sections))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "summary.md").write_text(summary)
    (out / "summary.json").write_text(json.dumps({"date": stamp, "machine": machine(), "results": results}, indent=2))
    if not args.no_readme and not args.only and README.exists():
        text = README.read_text()
        if START in text and END in text:
            head, _, rest = text.partition(START)
            _, _, tail = rest.partition(END)
            README.write_text(f"{head}{START}\n{summary}\n{END}{tail}")
    print(f"summary: {out / 'summary.md'}")
    return 1 if any(r["returncode"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
