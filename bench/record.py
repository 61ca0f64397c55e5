"""Run a dltp command and keep what it printed as a record: the figure's provenance.

    python bench/record.py NAME -- dltp run tp1 --dataset fashion_mnist --json

writes bench/results/labs/NAME.json with the command, the commit (and whether the tree had
uncommitted changes), the date, the machine, the backend and threads, the load average before and
after, the wall time, and the command's last stdout line parsed as JSON (``result``). Every figure
the README and docs publish comes from such a record (or from a benchmark run in
bench/results/runs/). The command's output streams through as it runs; a failing command writes
no record and exits with its code.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABS = ROOT / "bench" / "results" / "labs"


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


def commit() -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def resolve(argv: list[str]) -> list[str]:
    """`dltp` means this checkout's dltp, run by this interpreter."""
    if argv and argv[0] == "dltp" and not shutil.which("dltp"):
        return [sys.executable, "-m", "dltp", *argv[1:]]
    return argv


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") != 1:
        print("usage: python bench/record.py NAME -- COMMAND ...", file=sys.stderr)
        return 2
    name, command = argv[0], argv[2:]
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.Popen(resolve(command), stdout=subprocess.PIPE, text=True, cwd=Path.cwd())
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    code = proc.wait()
    seconds = time.perf_counter() - start
    if code != 0:
        print(f"record: the command exited with {code}; no record written", file=sys.stderr)
        return code
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        print("record: the command's last line is not JSON (did you pass --json?)", file=sys.stderr)
        return 2
    record = {"name": name, "command": " ".join(command), **commit(),
              "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
              "backend": result.get("backend") if isinstance(result, dict) else None,
              "threads": os.environ.get("DLTP_THREADS") or os.environ.get("OMP_NUM_THREADS"),
              "load_average_before": [round(x, 2) for x in load_before],
              "load_average_after": [round(x, 2) for x in os.getloadavg()],
              "seconds": round(seconds, 1), "result": result}
    LABS.mkdir(parents=True, exist_ok=True)
    path = LABS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"record: {path.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
