"""How many cores a one-thread training really keeps busy, per backend, with only the thread
settings (OMP/TF/XLA flags, what `--threads 1` sets) and with the process also bound to one CPU
(dltp.backends.pin_cpus for jax; bench/_common.bind_to_threads for every benchmark side).

Each side is a worker process training the TP1 recipe (784-512-10, Adam, batch 128) on random
data: a compiling epoch, a timed one that sizes the rounds, then per round as many whole epochs as
make ``--min-seconds``; cores busy = (user + system CPU time) / wall time of the round. Per backend,
the unbound and the bound side run in interleaved rounds (a warm-up round, then ``--rounds`` ≥ 5
kept; bench/_rounds.py): median and spread of each, and the per-round ratio bound / unbound of
samples/s, called faster or slower only when every round agrees. XLA sizes its thread pool from
the CPU affinity and ignores its thread flags, so jax unbound keeps more than one core busy when a
second core is free.

    python bench/thread_binding.py [--backends torch jax tensorflow] [--rounds 5]

"""

# Duration on the 2-core machine: about 3 minutes (6 workers of ~15 s start; per backend 6 rounds of
# two sides at ≥ 1.5 s).

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rounds  # noqa: E402
from _common import TP1_BATCH, markdown_table, measure_sides, save, serve, thread_env, worker_env  # noqa: E402

ONE_THREAD = thread_env(1)


def worker(bind: bool, min_seconds: float) -> None:
    import math
    import resource
    import time

    if bind:
        from dltp.backends import pin_cpus

        pin_cpus(1)
    import keras
    import numpy as np

    from _common import tp1_data
    from dltp.models.dense import build_dense

    x, y = tp1_data(np.random.default_rng(0))
    model = build_dense()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=TP1_BATCH, epochs=1, verbose=0)  # compiles

    def measure(epochs: int) -> dict:
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        model.fit(x, y, batch_size=TP1_BATCH, epochs=epochs, verbose=0)
        after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - start
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"cores_busy": cpu / wall, "samples_per_s": epochs * len(x) / wall, "seconds": wall}

    epochs = max(1, math.ceil(min_seconds / measure(1)["seconds"]))
    serve({"measure": lambda: measure(epochs)},
          {"backend": keras.backend.backend(), "bound": bind, "epochs_per_round": epochs})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["torch", "jax", "tensorflow"])
    parser.add_argument("--rounds", type=int, default=_rounds.MIN_ROUNDS, help="kept rounds after the warm-up (>= 5)")
    parser.add_argument("--min-seconds", type=float, default=1.5, help="training seconds per side per round")
    parser.add_argument("--worker", choices=["bound", "unbound"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker == "bound", args.min_seconds)
        return 0
    if len(os.sched_getaffinity(0)) < 2:
        print("one CPU only: nothing to compare")
        return 0
    rows = []
    for backend in args.backends:
        env = worker_env(backend, **ONE_THREAD)
        workers = {mode: ([sys.executable, __file__, "--worker", mode, "--min-seconds", str(args.min_seconds)], env,
                          {"pinned": False}) for mode in ("unbound", "bound")}
        got = measure_sides(workers, rounds=args.rounds, primary="samples_per_s")
        for mode in ("unbound", "bound"):
            side = got[mode]
            if "error" in side:
                rows.append({"backend": backend, "bound": mode == "bound", "error": side["error"]})
                continue
            row = {"backend": backend, "bound": mode == "bound", "samples_per_s": side["summary"],
                   "rounds": side["rounds"],
                   "cores_busy": _rounds.summary([r["cores_busy"] for r in side["replies"]]),
                   "epochs_per_round": side["info"]["epochs_per_round"]}
            if mode == "bound" and "rounds" in got["unbound"]:
                row["vs_unbound"] = _rounds.ratio(side["rounds"], got["unbound"]["rounds"])
                row["verdict"] = _rounds.compared(side["rounds"], got["unbound"]["rounds"], lower_is_better=False)
            rows.append(row)
    shown = [{**r, "cores": _rounds.cell(r.get("cores_busy")), "rate": _rounds.cell(r.get("samples_per_s")),
              "ratio": _rounds.cell(r.get("vs_unbound"))} for r in rows]
    table = markdown_table(shown, [("backend", "backend"), ("bound", "bound to one CPU"),
                                   ("cores", "cores busy (min–max)"), ("rate", "samples/s (min–max)"),
                                   ("ratio", "bound / unbound samples/s (min–max)"),
                                   ("verdict", "bound, every round"),
                                   ("epochs_per_round", "epochs/round"),
                                   *([("error", "error")] if any("error" in r for r in rows) else [])])
    note = (f"TP1 recipe, one-thread settings, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at "
            f"the end; median (min–max) of {args.rounds} interleaved rounds after a warm-up round, ≥ "
            f"{args.min_seconds} s of training per side per round; cores busy = CPU time / wall time of a round")
    print(table)
    print(note)
    save("thread_binding", {"rounds": args.rounds, "rows": rows}, table + "\n" + note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
