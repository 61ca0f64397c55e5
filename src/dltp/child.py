"""Run one experiment in a child process bound to another Keras backend.

Keras binds its backend when it is first imported, so a `dltp run all` that already trained on
jax runs a torch experiment as ``python -m dltp run ID --backend torch --json``. The child's
output streams through as it comes; its JSON line comes back as the result; its exit code comes
back too, and so does an interrupt: Ctrl-C from a terminal reaches both processes, a SIGTERM sent
to the parent is passed on, and either way the child ends its MLflow run KILLED (resumable with
``--resume RUN_ID`` as usual) before the parent exits 130.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from dltp import backends, registry

CHILD_VAR = "DLTP_CHILD"  # set in the child: the parent prints the headers and the summary


class ChildExit(Exception):
    """The child failed with ``code`` after reporting the reason on its own stderr."""

    def __init__(self, unit: str, code: int):
        super().__init__(f"{unit} exited with code {code}")
        self.code = code


def is_child() -> bool:
    return os.environ.get(CHILD_VAR) == "1"


def argv_for(unit: str, args, backend: str, threads: int) -> list[str]:
    """The `dltp run` command line that repeats the user's request for one unit."""
    argv = [sys.executable, "-m", "dltp", "run", unit, "--backend", backend, "--threads", str(threads),
            "--seed", str(args.seed), "--json"]
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--dataset", args.dataset), ("--resume", args.resume)):
        if value is not None:
            argv += [flag, str(value)]
    if args.quick:
        argv.append("--quick")
    for name in registry.options_for(unit):
        value = getattr(args, name, None)
        if value is None:
            continue
        argv += [registry.OPTIONS[name].flag, *(map(str, value) if isinstance(value, list) else [str(value)])]
    return argv


def _result_line(line: str) -> dict | None:
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) and "experiment" in value else None


def run(unit: str, args, backend: str, threads: int) -> dict:
    """Run ``unit`` on ``backend`` in a child process; return its JSON result."""
    env = {**os.environ, **backends.thread_env(threads), "KERAS_BACKEND": backend, "PYTHONUNBUFFERED": "1",
           CHILD_VAR: "1"}
    proc = subprocess.Popen(argv_for(unit, args, backend, threads), env=env, stdout=subprocess.PIPE, text=True,
                            bufsize=1)
    result = None
    try:
        for line in proc.stdout:
            parsed = _result_line(line)
            if parsed is not None:
                result = parsed
            else:
                sys.stdout.write(line)
                sys.stdout.flush()
        code = proc.wait()
    except KeyboardInterrupt as exc:
        _stop(proc, forwarded=str(exc).startswith("signal"))
        raise
    if code == 130:
        raise KeyboardInterrupt("child interrupted")
    if code != 0 or result is None:
        raise ChildExit(unit, code or 1)
    return result


def _stop(proc: subprocess.Popen, forwarded: bool) -> None:
    """Let the child end its run KILLED. A terminal's Ctrl-C reached it already; a signal sent to
    the parent alone (``forwarded``), or a child still running after a grace period, is passed on."""
    if forwarded and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        for line in proc.stdout:
            if _result_line(line) is None:
                sys.stdout.write(line)
