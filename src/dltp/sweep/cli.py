"""`dltp sweep`: a grid of TP2 models as one Optuna study, shared by every process and machine
that names the same ``--storage`` and ``--study``; each grid point is trained exactly once and
every trial is an MLflow run. Heavy imports happen inside ``main``.

    dltp sweep                                                  # the optimizer comparison
    dltp sweep --grid optimizer=sgd,rmsprop,adam dropout=0.2,0.5 l2=0,0.001 --workers 2
    dltp sweep --storage postgresql://user:pw@db-host/optuna    # on several machines at once

This module is the command: its flags, their checks, what it prints and its exit code.
``dltp.sweep.engine`` runs the study.
"""

from __future__ import annotations

import json
import os
import sys

from dltp.errors import DltpError
from dltp.sweep import engine
from dltp.sweep.claims import redact
from dltp.sweep.grid import DEFAULT_GRID, grid_points, parse_grid, point_key

DEFAULT_STORAGE = "sqlite:///optuna.db"
DEFAULT_STUDY = "tp2-sweep"


def add_arguments(parser) -> None:
    parser.add_argument("--grid", nargs="*", metavar="KEY=V1,V2", default=None,
                        help="grid of hyper-parameters (keys: optimizer, dropout, l2, batch_norm, learning_rate); "
                             f"default: {' '.join(DEFAULT_GRID)}")
    parser.add_argument("--storage", default=DEFAULT_STORAGE,
                        help="Optuna storage URL (default: a local SQLite file, optuna.db); a PostgreSQL URL "
                             "(postgresql://user:password@host:5432/db) shares the study across machines")
    parser.add_argument("--study", default=DEFAULT_STUDY, help="study name (default %(default)s)")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes (default %(default)s)")
    parser.add_argument("--epochs", type=int, help=f"epochs per trial (default {engine.TRIAL_EPOCHS}, "
                                                   f"--quick {engine.QUICK_TRIAL_EPOCHS})")
    parser.add_argument("--batch-size", type=int, help="mini-batch size (default 128)")
    parser.add_argument("--dataset", help="dataset name (default mnist, with offline fallback)")
    parser.add_argument("--quick", action="store_true",
                        help=f"small budget: a subset, {engine.QUICK_TRIAL_EPOCHS} epoch per trial")
    parser.add_argument("--seed", type=int, default=42, help="random seed of every trial (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the study's trials as JSON on the last line")
    parser.add_argument("--backend", metavar="{auto,torch,jax,tensorflow}",
                        help="Keras backend of every trial (default: KERAS_BACKEND if set, else TP2's "
                             "measured-fastest)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="compute threads per worker (default: DLTP_THREADS, OMP_NUM_THREADS, else the cores "
                             "split among the workers)")


class ConsoleProgress(engine.Progress):
    """Each trial as it starts on stdout, each failure on stderr, prefixed by the worker that ran it."""

    def trial_started(self, owner: str, number: int, point: dict) -> None:
        label = " ".join(f"{key}={value}" for key, value in point.items())
        print(f"[{owner}] trial {number}: {label}", flush=True)

    def trial_failed(self, owner: str, number: int, error: Exception) -> None:
        print(f"[{owner}] trial {number} FAILED: {error}", file=sys.stderr, flush=True)


def bind_backend(flag: str | None, threads: int | None, *, quick: bool, workers: int = 1) -> str:
    """Bind keras to TP2's backend (dltp.backends' rule) before anything imports it, with the user's
    threads or the cores split among ``workers``; returns its name."""
    from dltp import backends

    threads = backends.resolve_threads(threads, running=workers)
    choice = backends.resolve("tp2", flag=flag, env=backends.user_backend(), quick=quick)
    loaded = sys.modules["keras"].backend.backend() if "keras" in sys.modules else None
    if loaded and loaded != choice.backend:
        raise DltpError(f"keras is already bound to {loaded} in this process; the sweep needs {choice.backend}")
    if not loaded:
        os.environ["KERAS_BACKEND"] = choice.backend
        os.environ.update(backends.thread_env(threads))
    return choice.backend


def main(args) -> int:
    from dltp import tracking
    from dltp.config import require_at_least_one

    require_at_least_one(workers=args.workers, epochs=args.epochs, batch_size=args.batch_size)
    grid = parse_grid(args.grid)
    backend = bind_backend(args.backend, args.threads, quick=args.quick, workers=args.workers)
    if args.dataset:  # a named dataset that is missing is an error before anything is written
        from dltp.data import load_images

        load_images(args.dataset)
    settings = engine.Settings(storage=args.storage, study=args.study, grid=grid, epochs=args.epochs,
                               batch_size=args.batch_size, dataset=args.dataset, quick=args.quick, seed=args.seed,
                               tracking_uri=tracking.tracking_uri(), env=engine.inherited_env())
    storage = engine.setup(settings)
    engine.ensure_mlflow_experiment()
    print(f"study {settings.study!r} in {redact(settings.storage)}: {len(grid_points(grid))} grid points, "
          f"{args.workers} worker(s) here on {backend}; "
          f"MLflow {redact(settings.tracking_uri)} experiment {engine.MLFLOW_EXPERIMENT!r}", flush=True)
    outcome = engine.run_workers(settings, args.workers, ConsoleProgress())
    summary = engine.summarize(storage, settings, outcome)
    print_summary(summary)
    for error in outcome.errors:
        print(f"dltp sweep: a worker stopped: {error}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_dict(), default=str))
    return 1 if outcome.failed or outcome.errors else 0


def print_summary(summary: engine.StudySummary) -> None:
    """One line per trial, the best point, and what this process did."""
    for trial in summary.trials:
        scores = (f" val {trial.val_accuracy:.4f} test {trial.test_accuracy:.4f}"
                  if trial.val_accuracy is not None else "")
        print(f"  trial {trial.number:>3} {trial.state:<8} {point_key(trial.params)}" + scores)
    if summary.best:
        print(f"best: {point_key(summary.best.params)} val accuracy {summary.best.val_accuracy:.4f}")
    print(f"this process ran {len(summary.ran_here)} trial(s); the study holds {summary.complete} complete of "
          f"{summary.points} points")
