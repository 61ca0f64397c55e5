"""Trains the TP1 recipe (dense 784-512-10, Adam, batch 128) under the current KERAS_BACKEND: a
side of train_throughput.py, which asks it for one measurement per round (_common.serve).

    python tp1_worker.py [--steps-per-execution N] [--jit auto|true|false] [--dltp-threads] [--min-seconds S]

The first epoch compiles every shape the timed epochs meet (full batches, the last partial batch,
the remainder of steps per execution); it is timed on its own (``first_epoch_s``), and a round's
samples/s is the steady state of the epochs after it (as many whole epochs as make ``--min-seconds``),
so that one backend's compile time is not read as another's slower arithmetic.
"""

import argparse
import os
import sys

import numpy as np

import dltp  # noqa: F401  (sets the default backend)
from _common import TP1_BATCH, fit_rate, peak_rss_mb, serve, tp1_data

from dltp.models.dense import build_dense


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps-per-execution", type=int,
                        help="default: what dltp's TP1 uses on this backend (dltp.training.steps_per_execution)")
    parser.add_argument("--jit", choices=("auto", "true", "false"), default="auto")
    parser.add_argument("--dltp-threads", action="store_true",
                        help="hold the backend to dltp's default thread count, as `dltp run` does")
    parser.add_argument("--min-seconds", type=float, default=1.5, help="training seconds per round, at least")
    args = parser.parse_args()
    threads = os.environ.get("DLTP_THREADS") or "library default"
    if args.dltp_threads:
        from dltp.backends import default_threads, hold_to_threads

        threads = default_threads()
        hold_to_threads(os.environ["KERAS_BACKEND"], threads)  # before keras loads
    import keras

    jit = {"auto": "auto", "true": True, "false": False}[args.jit]
    from dltp.training import steps_per_execution

    args.steps_per_execution = args.steps_per_execution or steps_per_execution()
    rss_before = peak_rss_mb()
    x, y = tp1_data(np.random.default_rng(0))
    keras.utils.set_random_seed(0)
    model = build_dense()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=args.steps_per_execution, jit_compile=jit)
    measure, info = fit_rate(model, x, y, TP1_BATCH, args.min_seconds)
    serve({"measure": measure}, {**info, "backend": keras.backend.backend(), "rss_before_mb": rss_before,
                                 "steps_per_execution": args.steps_per_execution, "jit_compile": args.jit,
                                 "threads": threads})


if __name__ == "__main__":
    sys.exit(main())
