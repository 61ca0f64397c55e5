"""Run experiments in a child process bound to another Keras backend.

Keras binds its backend when it is first imported, so a `dltp run all` that already trained on
jax runs its torch experiments as ``python -m dltp run A B --backend torch --json``: one process
per backend, not per experiment. The child's output streams through as it comes; each
experiment's result comes back as soon as it ends (a ``dltp-result:`` line); its exit code comes
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

CHILD_VAR = "DLTP_CHILD"  # set in the child: the parent prints the summaries and the table
CPUS_VAR = "DLTP_CPUS"  # the CPUs a child side by side with others may use ("0,1"): jax is bound to them
RESULT_MARK = "dltp-result: "  # a child's line carrying one experiment's JSON result


class ChildExit(Exception):
    """The child failed with ``code`` after reporting the reason on its own stderr."""

    def __init__(self, unit: str, code: int):
        super().__init__(f"{unit} exited with code {code}")
        self.code = code


def is_child() -> bool:
    return os.environ.get(CHILD_VAR) == "1"


def given_cpus() -> list[int] | None:
    """The CPUs this child was given beside other lanes (CPUS_VAR), or None."""
    value = os.environ.get(CPUS_VAR, "")
    return [int(c) for c in value.split(",") if c.strip().isdigit()] or None


def header(unit: str, backend: str, reason: str | None = None) -> str:
    """The line that opens an experiment's output (the child's too: lanes read it)."""
    return f"== {unit} ({backend}{'; ' + reason if reason else ''}) =="


def header_unit(line: str) -> str | None:
    """The experiment a header line opens, or None."""
    line = line.strip()
    if line.startswith("== ") and line.endswith(" ==") and " (" in line:
        return line[3:line.index(" (")]
    return None


def result_line(result: dict) -> str:
    """How a child hands one experiment's result to its parent, as soon as it ends."""
    return RESULT_MARK + json.dumps(result, default=str)


def argv_for(units: list[str], args, backend: str, threads: int) -> list[str]:
    """The `dltp run` command line that repeats the user's request for ``units``."""
    argv = [sys.executable, "-m", "dltp", "run", *units, "--backend", backend, "--threads", str(threads),
            "--seed", str(args.seed), "--json"]
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--dataset", args.dataset), ("--resume", args.resume)):
        if value is not None:
            argv += [flag, str(value)]
    if args.quick:
        argv.append("--quick")
    for name in sorted(set().union(*(registry.options_for(unit) for unit in units))):
        value = getattr(args, name, None)
        if value is None:
            continue
        argv += [registry.OPTIONS[name].flag, *(map(str, value) if isinstance(value, list) else [str(value)])]
    return argv


def _parse(line: str) -> dict | None:
    if not line.startswith(RESULT_MARK):
        return None
    try:
        value = json.loads(line[len(RESULT_MARK):])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) and "experiment" in value else None


def _is_final_json(line: str) -> bool:
    """The child's own `--json` line: the parent prints its own."""
    return line.startswith("{") and line.rstrip().endswith("}")


def _write(line: str) -> None:
    sys.stdout.write(line)
    sys.stdout.flush()


def run_batch(units: list[str], args, backend: str, threads: int, *, output=None, on_result=None,
              started=None, cpus: list[int] | None = None) -> int:
    """Run ``units`` on ``backend`` in one child process; return its exit code.

    ``output(line)`` receives each line of its output as it comes (default: this stdout),
    ``on_result(unit, result)`` each experiment's result as it ends, ``started(proc)`` the process;
    ``cpus``: the CPUs the child may use beside other lanes, when it has to be bound to them (jax).
    Ctrl-C or a SIGTERM to this process stops the child (its runs end KILLED) and is raised again.
    """
    output = output or _write
    env = {**os.environ, **backends.thread_env(threads), "KERAS_BACKEND": backend, "PYTHONUNBUFFERED": "1",
           CHILD_VAR: "1"}
    if cpus:
        env[CPUS_VAR] = ",".join(map(str, cpus))
    else:
        env.pop(CPUS_VAR, None)
    proc = subprocess.Popen(argv_for(units, args, backend, threads), env=env, stdout=subprocess.PIPE, text=True,
                            bufsize=1)
    if started:
        started(proc)
    pending = list(units)
    try:
        for line in proc.stdout:
            parsed = _parse(line)
            if parsed is not None:
                unit = parsed.get("unit") or (pending[0] if pending else parsed["experiment"])
                if unit in pending:
                    pending.remove(unit)
                parsed.pop("unit", None)
                if on_result:
                    on_result(unit, parsed)
            elif not _is_final_json(line):
                output(line)
        return proc.wait()
    except KeyboardInterrupt as exc:
        stop(proc, forwarded=str(exc).startswith("signal"))
        raise


def stop(proc: subprocess.Popen, forwarded: bool, drain: bool = True) -> None:
    """Let the child end its runs KILLED. A terminal's Ctrl-C reached it already; a signal sent to
    the parent alone (``forwarded``), or a child still running after a grace period, is passed on.
    ``drain``: print what it still writes (when no other thread reads its output)."""
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
    if drain and proc.stdout:
        for line in proc.stdout:
            if _parse(line) is None and not _is_final_json(line):
                sys.stdout.write(line)
