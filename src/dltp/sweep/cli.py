"""`dltp sweep`: a grid of TP2 models as one Optuna study, shared by every process and machine
that names the same ``--storage`` and ``--study``; each grid point is trained exactly once and
every trial is an MLflow run. Heavy imports happen inside ``main``.

    dltp sweep                                                  # the optimizer comparison
    dltp sweep --grid optimizer=sgd,rmsprop,adam dropout=0.2,0.5 l2=0,0.001 --workers 2
    dltp sweep --storage postgresql://user:pw@db-host/optuna    # on several machines at once
"""

from __future__ import annotations

from dltp.sweep.grid import DEFAULT_GRID
DEFAULT_STORAGE = "sqlite:///optuna.db"


def add_arguments(parser) -> None:
    parser.add_argument("--grid", nargs="*", metavar="KEY=V1,V2", default=None,
                        help="grid of hyper-parameters (keys: optimizer, dropout, l2, batch_norm, learning_rate); "
                             f"default: {' '.join(DEFAULT_GRID)}")
    parser.add_argument("--storage", default=DEFAULT_STORAGE,
                        help="Optuna storage URL (default: a local SQLite file, optuna.db); a PostgreSQL URL "
                             "(postgresql://user:password@host:5432/db) shares the study across machines")
    parser.add_argument("--study", default="tp2-sweep", help="study name (default tp2-sweep)")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    parser.add_argument("--epochs", type=int, help="epochs per trial (default 10, --quick 1)")
    parser.add_argument("--batch-size", type=int, help="mini-batch size (default 128)")
    parser.add_argument("--dataset", help="dataset name (default mnist, with offline fallback)")
    parser.add_argument("--quick", action="store_true", help="small budget: a subset, 1 epoch per trial")
    parser.add_argument("--seed", type=int, default=42, help="random seed of every trial (default 42)")
    parser.add_argument("--json", action="store_true", help="print the study's trials as JSON on the last line")
    parser.add_argument("--backend", metavar="{auto,torch,jax,tensorflow}",
                        help="Keras backend of every trial (default: KERAS_BACKEND if set, else TP2's measured-fastest)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="compute threads per worker (default: DLTP_THREADS, OMP_NUM_THREADS, or half the cores)")


def main(args) -> int:
    from dltp.sweep import engine

    return engine.main(args)
