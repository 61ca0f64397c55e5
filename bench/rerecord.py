"""`make records`: re-take every lab record of bench/records.toml at the current commit, then regenerate
the docs from them.

    python bench/rerecord.py                 # all of them, in the manifest's order
    python bench/rerecord.py tp4_unet tp1_fashion_mnist
    python bench/rerecord.py --list          # what would run, with the expected minutes; runs nothing
    python bench/rerecord.py --prune         # delete lab records (and their figures) no manifest entry names

(bench/_preferences.py reads the quick-suite records of bench/results/labs/ for targets a backend missed:
prune once the backend order no longer depends on the records it would delete.)

Each record runs as ``python bench/record.py NAME [--figures ...] -- COMMAND`` with the manifest's
environment (the variables that choose what a command measures are cleared first, so the shell's own
KERAS_BACKEND cannot leak into a record), in dltp-results/records/ (ignored by git): the MLflow store
and the files the labs write land there, not in the tree, which must stay clean from one record to
the next (`cd dltp-results/records && dltp ui` shows the runs). The tree must be clean (committed, no untracked files):
every record then says ``dirty: false`` at the same commit. A failing command is reported and the
others still run; the exit code is 1 when one failed. Finally bench/render_results.py rewrites
README.md and docs/ from the records (it refuses when a quoted record is still missing or stale).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _provenance  # noqa: E402
import record  # noqa: E402
import render_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORKDIR = ROOT / "dltp-results" / "records"  # ignored by git


def argv_for(name: str, spec: dict) -> list[str]:
    figures = ["--figures", *spec["figures"]] if "figures" in spec else []
    return [sys.executable, str(ROOT / "bench" / "record.py"), name, *figures, "--", *shlex.split(spec["command"])]


def env_for(spec: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in record.ENV}
    return {**env, **spec.get("env", {})}


def unlisted(manifest: dict) -> list[Path]:
    return sorted(p for p in record.LABS.glob("*.json") if p.stem not in manifest)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="records to re-take (default: all of bench/records.toml)")
    parser.add_argument("--list", action="store_true", help="print the plan and the expected minutes; run nothing")
    parser.add_argument("--prune", action="store_true", help="delete the lab records bench/records.toml does not name")
    args = parser.parse_args(argv)
    manifest = render_results.manifest()
    unknown = [n for n in args.names if n not in manifest]
    if unknown:
        parser.error(f"not in bench/records.toml: {', '.join(unknown)}")
    names = args.names or list(manifest)
    if args.prune:
        for path in unlisted(manifest):
            path.unlink()
            shutil.rmtree(record.FIGURES / path.stem, ignore_errors=True)
            print(f"deleted {path.relative_to(ROOT)}")
        return 0
    if args.list:
        for name in names:
            env = " ".join(f"{k}={v}" for k, v in manifest[name].get("env", {}).items())
            command = shlex.join(["python", "bench/record.py", *argv_for(name, manifest[name])[2:]])
            print(f"{manifest[name].get('minutes', '?'):>4} min  {name}: {env} {command}")
        print(f"{sum(manifest[n].get('minutes', 0) for n in names):>4} min  in all")
        for path in unlisted(manifest):
            print(f"not in bench/records.toml (no doc quotes it; --prune deletes it): {path.relative_to(ROOT)}")
        return 0
    state = _provenance.state(ROOT)
    if state["dirty"]:
        print("rerecord: commit (or remove) these first, so that every record is clean at one commit: "
              + ", ".join(state.get("dirty_files", [])), file=sys.stderr)
        return 2
    failed = []
    WORKDIR.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names, 1):
        spec = manifest[name]
        print(f"== [{i}/{len(names)}] {name} (about {spec.get('minutes', '?')} min) ==", flush=True)
        start = time.perf_counter()
        code = subprocess.run(argv_for(name, spec), env=env_for(spec), cwd=WORKDIR).returncode
        print(f"== {name}: exit {code}, {time.perf_counter() - start:.0f} s ==", flush=True)
        if code:
            failed.append(name)
    try:
        for path in render_results.write():
            print(f"rendered: {path.relative_to(ROOT)}")
    except render_results.RecordError as error:
        print(f"rerecord: docs not rewritten: {error}", file=sys.stderr)
        failed.append("(docs)")
    if failed:
        print(f"rerecord: failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
