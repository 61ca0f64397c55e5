"""Run a dltp command and keep what it printed as a record: the figure's provenance.

    python bench/record.py NAME -- dltp run tp1 --dataset fashion_mnist --json
    python bench/record.py NAME --figures -- dltp run tp4.unet --json
    python bench/record.py NAME --figures training_curves.png -- dltp run tp1 --json

writes bench/results/labs/NAME.json with the command and the environment variables that choose what it
runs (backend, threads, offline), the commit and whether the tree was clean *when the command started*
(untracked files count), the files of src/ and bench/ that its processes read (``measured``: what makes
the record stale when one of them changes; bench/_provenance.py), the date, the machine, the load
average before and after, the wall time, and the command's last stdout line parsed as JSON
(``result``). ``--figures [GLOB ...]`` also copies the PNG artifacts (all of them, or those matching a
glob) of every MLflow run named in the result (its ``run_id``s) to docs/figures/NAME/ and lists them in
the record (``figures``), so that the docs can show them; a PNG over 300 KB is scaled down.

Every figure the README and docs publish comes from such a record (or from a benchmark record in
bench/results/runs/); bench/records.toml lists the records and their commands (``make records``). The
command's output streams through as it runs; a failing command writes no record and exits with its
code.
"""

from __future__ import annotations

import fnmatch
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _provenance  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LABS = ROOT / "bench" / "results" / "labs"
FIGURES = ROOT / "docs" / "figures"
# The variables that change what a command measures; kept with the command.
ENV = ("KERAS_BACKEND", "DLTP_THREADS", "OMP_NUM_THREADS", "DLTP_JOBS", "DLTP_OFFLINE")
MAX_FIGURE_BYTES = 300_000  # the docs' limit (bench/render_results.py checks it)


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


def resolve(argv: list[str]) -> list[str]:
    """`dltp` means this checkout's dltp, run by this interpreter (never another `dltp` on the PATH), and
    `python SCRIPT` this interpreter on the checkout's SCRIPT."""
    if argv and argv[0] == "dltp":
        return [sys.executable, "-m", "dltp", *argv[1:]]
    if argv and argv[0] == "python":
        rest = argv[1:]
        if rest and (ROOT / rest[0]).is_file():  # a script of this checkout, wherever the command runs
            rest = [str(ROOT / rest[0]), *rest[1:]]
        return [sys.executable, *rest]
    return argv


def run_ids(result, path: str = "") -> dict[str, str]:
    """Every MLflow run id in a result -> a short name for its place (``""`` for the top-level run)."""
    found: dict[str, str] = {}
    if isinstance(result, dict):
        for key, value in result.items():
            # a run id names its run by where it sits; a list of experiments by each one's id
            here = path if key in ("run_id", "run_ids", "results") else f"{path}-{key}".strip("-")
            if key == "run_id" and isinstance(value, str):
                found.setdefault(value, here)
            elif key == "run_ids" and isinstance(value, dict):
                for name, run in value.items():
                    if isinstance(run, str):
                        found.setdefault(run, f"{here}-{name}".strip("-"))
            else:
                for run, place in run_ids(value, here).items():
                    found.setdefault(run, place)
    elif isinstance(result, list):
        for i, item in enumerate(result):
            name = item.get("experiment", str(i)) if isinstance(item, dict) else str(i)
            for run, place in run_ids(item, f"{path}-{name}".strip("-")).items():
                found.setdefault(run, place)
    return found


def shrink(path: Path, limit: int = MAX_FIGURE_BYTES) -> None:
    """Scale a PNG down until it weighs at most ``limit`` bytes (the docs need a few hundred KB at most)."""
    from PIL import Image

    while path.stat().st_size > limit:
        with Image.open(path) as image:
            smaller = image.resize((max(1, image.width * 4 // 5), max(1, image.height * 4 // 5)), Image.LANCZOS)
        smaller.save(path, optimize=True)


def copy_figures(name: str, result, patterns: list[str], figures_dir: Path = FIGURES) -> list[dict]:
    """Copy the PNG artifacts of the result's MLflow runs to ``figures_dir/name/``; what was copied."""
    sys.path.insert(0, str(ROOT / "src"))
    from dltp import tracking

    client = tracking.client()
    target = figures_dir / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    ids = run_ids(result)
    copied = []
    with tempfile.TemporaryDirectory() as tmp:
        for run, place in ids.items():
            pending = [""]
            while pending:
                for artifact in client.list_artifacts(run, pending.pop() or None):
                    if artifact.is_dir:
                        pending.append(artifact.path)
                    elif artifact.path.endswith(".png") and (
                            not patterns or any(fnmatch.fnmatch(artifact.path, p) for p in patterns)):
                        local = Path(client.download_artifacts(run, artifact.path, tmp))
                        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", artifact.path)
                        file = target / (f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', place)}-{stem}" if place else stem)
                        shutil.copyfile(local, file)
                        shrink(file)
                        copied.append({"file": file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT)
                                       else str(file), "run_id": run, "artifact": artifact.path,
                                       "bytes": file.stat().st_size})
    if not copied:
        raise RuntimeError(f"no PNG artifact{' matching ' + ' '.join(patterns) if patterns else ''} in the "
                           f"runs {', '.join(ids) or '(none: the result names no run_id)'}")
    return sorted(copied, key=lambda f: f["file"])


def parse(argv: list[str]) -> tuple[str, list[str] | None, list[str]] | None:
    """NAME [--figures [GLOB ...]] -- COMMAND ...  ->  (name, figure globs or None, command)."""
    if "--" not in argv:
        return None
    split = argv.index("--")
    head, command = argv[:split], argv[split + 1:]
    if not head or head[0].startswith("-") or not command:
        return None
    figures = None
    if len(head) > 1:
        if head[1] != "--figures":
            return None
        figures = head[2:]
    return head[0], figures, command


def main(argv: list[str]) -> int:
    parsed = parse(argv)
    if parsed is None:
        print("usage: python bench/record.py NAME [--figures [GLOB ...]] -- COMMAND ...", file=sys.stderr)
        return 2
    name, figures, command = parsed
    started = _provenance.state(ROOT)  # the code the command runs is the code of this moment
    date = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    measured = _provenance.MeasuredFiles(ROOT)
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.Popen(resolve(command), stdout=subprocess.PIPE, text=True, cwd=Path.cwd(),
                            env=measured.env())
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    code = proc.wait()
    seconds = time.perf_counter() - start
    files = measured.files()
    left = sorted(set(_provenance.state(ROOT).get("dirty_files", [])) - set(started.get("dirty_files", [])))
    if left:  # the next record would count them as dirt
        print(f"record: the command left files in the tree: {', '.join(left[:5])} (run it from another "
              "directory, as bench/rerecord.py does)", file=sys.stderr)
    if code != 0:
        print(f"record: the command exited with {code}; no record written", file=sys.stderr)
        return code
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        print("record: the command's last line is not JSON (did you pass --json?)", file=sys.stderr)
        return 2
    record = {"name": name, "command": shlex.join(command),
              "env": {k: os.environ[k] for k in ENV if k in os.environ}, **started, "date": date,
              "machine": machine(), "backend": result.get("backend") if isinstance(result, dict) else None,
              "threads": os.environ.get("DLTP_THREADS") or os.environ.get("OMP_NUM_THREADS"),
              "load_average_before": [round(x, 2) for x in load_before],
              "load_average_after": [round(x, 2) for x in os.getloadavg()],
              "seconds": round(seconds, 1), "measured": files, "result": result}
    if figures is not None:
        try:
            record["figures"] = copy_figures(name, result, figures)
        except Exception as error:  # the record would promise figures it does not have
            print(f"record: figures not copied ({error}); no record written", file=sys.stderr)
            return 1
    LABS.mkdir(parents=True, exist_ok=True)
    path = LABS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    state = "DIRTY (" + ", ".join(started.get("dirty_files", [])[:5]) + ")" if started["dirty"] else "clean"
    print(f"record: {path.relative_to(ROOT)} at {str(started['commit'])[:7]}, tree {state}, "
          f"{len(files)} measured files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
