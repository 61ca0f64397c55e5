"""Trains the TP1 recipe (dense 784-512-10, Adam, batch 128) under the current KERAS_BACKEND and
prints samples/s, achieved GFLOP/s and peak memory as JSON. Run by train_throughput.py.

    python tp1_worker.py [--steps-per-execution N] [--jit auto|true|false] [--dltp-threads]

The first epoch compiles every shape the timed epochs meet (full batches, the last partial batch,
the remainder of steps per execution); it is timed on its own (``first_epoch_s``), and samples/s
is the steady state of the epochs after it, so that one backend's compile time is not read as
another's slower arithmetic.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import dltp  # noqa: F401  (sets the default backend)
from _common import TP1_BATCH, TP1_EPOCHS, peak_rss_mb, tp1_data, tp1_result

from dltp.models.dense import build_dense


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps-per-execution", type=int,
                        help="default: what dltp's TP1 uses on this backend (dltp.training.steps_per_execution)")
    parser.add_argument("--jit", choices=("auto", "true", "false"), default="auto")
    parser.add_argument("--dltp-threads", action="store_true",
                        help="hold the backend to dltp's default thread count, as `dltp run` does")
    args = parser.parse_args()
    if args.dltp_threads:
        from dltp.backends import default_threads, hold_to_threads

        hold_to_threads(os.environ["KERAS_BACKEND"], default_threads())  # before keras loads
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
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=TP1_BATCH, verbose=0)  # compiles every shape met below
    first_epoch_s = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(x, y, epochs=TP1_EPOCHS, batch_size=TP1_BATCH, verbose=0)
    print(json.dumps(tp1_result(time.perf_counter() - start, first_epoch_s, rss_before,
                                backend=keras.backend.backend(), steps_per_execution=args.steps_per_execution,
                                jit_compile=args.jit)))


if __name__ == "__main__":
    sys.exit(main())
