"""Where a measurement comes from, and whether it still describes the code: shared by bench/record.py
(lab records), bench/run_all.py (benchmark records) and bench/render_results.py (which refuses records
that are dirty or stale).

A record holds:

- ``commit``: ``git rev-parse HEAD`` when the command *started*;
- ``dirty``: whether the tree differed from that commit when the command started: a changed, staged,
  deleted or untracked (not ignored) file counts, except the measurement outputs themselves
  (bench/results/, docs/figures/, src/dltp/backend_preferences.json), so that recording several records
  one after another at one commit keeps them all clean; ``dirty_files`` names what differed;
- ``measured``: the repository files under src/ and bench/ that the command's Python processes read
  (every module imported and every file opened for reading, the children's too): bench/_hook's
  sitecustomize writes them, at each process's exit, to the file named by DLTP_MEASURED_FILES.

A record is **stale** when one of its measured files differs between its commit and HEAD, or in the
working tree (``git diff --name-only COMMIT HEAD -- FILES`` and ``git status -- FILES``): then what it
measured is no longer the code it describes. A record without a commit or without a measured list
(taken before they were kept) is stale too, as is one whose commit is not in the history.

One exception: the registry (src/dltp/registry.py) holds every experiment's full defaults and, beside
them, its ``--quick`` ones (``quick=...``). A record of a full-budget run (a ``dltp run`` command without
``--quick``) never reads a quick value, so a change of the registry that only touches ``quick=...``
arguments (the same syntax tree once they are left out) does not make it stale; any other change does,
a docstring's included. Quick runs and benchmarks (whose commands do not say their budget) stay stale
on any change.

A record is stale as well when ``auto`` would now run one of its experiments on another backend: every
result in it that says ``"backend_choice": "auto: DEVICE/BUDGET measurement"`` is checked against that
table of the backend preferences in the working tree. (The preferences file is an output of
measuring, so it is never dirt and never a measured file; what a record took from it is its choice.)
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOOK = Path(__file__).resolve().parent / "_hook"
MEASURED_ROOTS = ("src", "bench")
# Written by measuring (records, their figures, and the backend order `make bench` ranks from its records):
# never dirt, never measured.
OUTPUTS = ("bench/results/", "docs/figures/", "src/dltp/backend_preferences.json")
PREFERENCES = "src/dltp/backend_preferences.json"
# A measured file whose ``quick=...`` arguments a full-budget run never reads (see the module docstring).
QUICK_DEFAULTS = "src/dltp/registry.py"
AUTO = re.compile(r"auto: (\w+)/(\w+) measurement")  # dltp.backends.resolve's reason


def git(root: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True, text=True, cwd=root, check=check)


def is_output(path: str) -> bool:
    return path.startswith(OUTPUTS)


def changed_files(root: Path = ROOT, paths: list[str] | None = None) -> list[str]:
    """Files of the working tree that differ from HEAD: modified, staged, deleted, untracked (not ignored)."""
    args = ["status", "--porcelain=v1", "-z", "--untracked-files=all"]
    if paths is not None:
        args += ["--", *paths]
    out = git(root, *args).stdout
    entries = out.split("\0")
    files, i = [], 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        status, path = entry[:2], entry[3:]
        if status[0] in "RC":  # a rename's source path follows
            i += 1
        files.append(path)
    return sorted(files)


def state(root: Path = ROOT) -> dict:
    """The commit now, and whether (and where) the tree differs from it."""
    head = git(root, "rev-parse", "HEAD").stdout.strip() or None
    dirt = [f for f in changed_files(root) if not is_output(f)]
    return {"commit": head, "dirty": bool(dirt) or head is None, **({"dirty_files": dirt[:50]} if dirt else {})}


class MeasuredFiles:
    """Collects the files a command's processes read: ``env(base)`` is the environment to run it with,
    ``files()`` the repository-relative paths once it has ended."""

    def __init__(self, root: Path = ROOT):
        self.root = root.resolve()
        handle, self.log = tempfile.mkstemp(prefix="dltp-measured-", suffix=".txt")
        os.close(handle)

    def env(self, base: dict | None = None) -> dict:
        env = dict(os.environ if base is None else base)
        # the hook, then this checkout's dltp before any other
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HOOK), str(self.root / "src"), env.get("PYTHONPATH", ""))
                                            if p)
        env["DLTP_MEASURED_FILES"] = self.log
        env["DLTP_MEASURED_ROOTS"] = os.pathsep.join(str(self.root / r) for r in MEASURED_ROOTS)
        return env

    def files(self) -> list[str]:
        try:
            lines = Path(self.log).read_text(encoding="utf-8").splitlines()
        finally:
            Path(self.log).unlink(missing_ok=True)
        relative = set()
        for line in lines:
            try:
                path = Path(line).resolve().relative_to(self.root).as_posix()
            except ValueError:
                continue
            if not is_output(path) and not path.startswith("bench/_hook/") and "__pycache__" not in path:
                relative.add(path)
        return sorted(relative)


def problems(record: dict, root: Path = ROOT) -> list[str]:
    """Why ``record`` cannot be quoted (empty when it can): dirty, or stale (see the module docstring)."""
    commit = record.get("commit")
    if not commit:
        return ["it has no commit"]
    found = []
    if record.get("dirty") is not False:
        dirt = record.get("dirty_files")
        found.append("it was taken with uncommitted changes" + (f" ({', '.join(dirt[:5])})" if dirt else "")
                     if record.get("dirty") else "it does not say whether the tree was clean")
    measured = record.get("measured")
    if not measured:
        return found + ["it does not list the files it measured (taken before they were kept)"]
    if git(root, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        return found + [f"its commit {commit[:7]} is not in this repository's history"]
    since = git(root, "diff", "--name-only", commit, "HEAD", "--", *measured).stdout.split()
    now = changed_files(root, measured)
    changed = sorted(set(since) | set(now))
    if QUICK_DEFAULTS in changed and full_budget(record) and same_but_quick(root, commit, QUICK_DEFAULTS):
        changed.remove(QUICK_DEFAULTS)
    if changed:
        more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        found.append(f"files it measured changed after its commit {commit[:7]}: {', '.join(changed[:5])}{more}")
    return found + moved_choices(record, root)


def full_budget(record: dict) -> bool:
    """Whether ``record`` is of a ``dltp run`` command at the full budget (no ``--quick``)."""
    words = str(record.get("command") or "").split()
    return words[:2] == ["dltp", "run"] and "--quick" not in words


def _without_quick(source: str) -> str | None:
    """The syntax tree of ``source`` with every ``quick=...`` keyword argument left out (None if it
    does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            node.keywords = [k for k in node.keywords if k.arg != "quick"]
    return ast.dump(tree)


@functools.lru_cache(maxsize=None)
def _without_quick_at(root: Path, commit: str, path: str) -> str | None:
    """``_without_quick`` of ``path`` as it was at ``commit`` (a commit never changes: records taken at
    the same commit share one ``git show`` and one parse)."""
    then = git(root, "show", f"{commit}:{path}")
    return _without_quick(then.stdout) if then.returncode == 0 else None


def same_but_quick(root: Path, commit: str, path: str) -> bool:
    """Whether ``path`` in the working tree differs from its version at ``commit`` only in ``quick=...``
    arguments."""
    now = root / path
    before = _without_quick_at(root, commit, path)
    return before is not None and now.exists() and before == _without_quick(now.read_text(encoding="utf-8"))


def auto_choices(value):
    """(experiment, backend, device, budget) for every result in ``value`` whose backend auto chose."""
    if isinstance(value, dict):
        match = AUTO.match(str(value.get("backend_choice", "")))
        # a choice that passed over a backend not installed there cannot be replayed here
        if match and "not installed" not in value["backend_choice"] and value.get("experiment") and value.get("backend"):
            yield value["experiment"], value["backend"], match[1], match[2]
        for item in value.values():
            yield from auto_choices(item)
    elif isinstance(value, list):
        for item in value:
            yield from auto_choices(item)


def moved_choices(record: dict, root: Path = ROOT) -> list[str]:
    """Why ``record`` no longer shows what ``auto`` does: an experiment it ran on auto's first choice,
    which the table its choice names (device/budget) now ranks otherwise. Unlike
    dltp.backends.preferred_order this does not fall back to the other budget's table: a unit that
    left the table it was chosen from counts as moved."""
    path = root / PREFERENCES
    prefs = json.loads(path.read_text()) if path.exists() else {}
    moved = set()
    for experiment, backend, device, budget in auto_choices([record.get("result"), record.get("payload")]):
        order = (((prefs.get(device) or {}).get(budget) or {}).get("order") or {}).get(experiment) or []
        if order[:1] != [backend]:
            now = f"on {order[0]}" if order else "on no measured backend"
            moved.add(f"auto now runs {experiment} {now}, not {backend} ({device}/{budget} preferences)")
    return sorted(moved)
