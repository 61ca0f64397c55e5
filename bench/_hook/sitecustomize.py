"""Which repository files a measured command read: Python imports this module at start-up in every
process whose PYTHONPATH holds bench/_hook (bench/record.py and bench/run_all.py put it there; child
processes inherit it).

When DLTP_MEASURED_FILES names a file, each process appends to it, at exit, the paths of the modules it
imported and of the files it opened for reading that lie under one of the directories of
DLTP_MEASURED_ROOTS (``os.pathsep``-separated). Anything else is left alone, and the
sitecustomize this one shadows (a distribution's) still runs.
"""

import os
import sys


def _chain() -> None:
    """Run the next sitecustomize on sys.path, the one Python would have loaded without this one."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.realpath(__file__))
    path = [p for p in sys.path if os.path.realpath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


def _watch(log: str, roots: list[str]) -> None:
    import atexit

    prefixes = tuple(os.path.join(os.path.realpath(root), "") for root in roots if root)
    opened: set[str] = set()
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT

    def on_event(event: str, args: tuple) -> None:
        if event != "open" or not isinstance(args[0], str):
            return
        mode, flags = args[1], args[2]
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & write_flags)
        if not writes:
            opened.add(os.path.abspath(args[0]))

    def at_exit() -> None:
        files = {getattr(module, "__file__", None) for module in list(sys.modules.values())} | opened
        # an open that failed (a probe for a file that is not there) raised its event too
        found = sorted({real for real in (os.path.realpath(f) for f in files if isinstance(f, str))
                        if real.startswith(prefixes) and not real.endswith(".pyc") and os.path.isfile(real)})
        if found:
            with open(log, "a", encoding="utf-8") as out:  # one append per process
                out.write("".join(f"{f}\n" for f in found))

    sys.addaudithook(on_event)
    atexit.register(at_exit)


if os.environ.get("DLTP_MEASURED_FILES"):
    _watch(os.environ["DLTP_MEASURED_FILES"], os.environ.get("DLTP_MEASURED_ROOTS", "").split(os.pathsep))
_chain()
