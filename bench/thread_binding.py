"""How many cores a one-thread training really keeps busy, per backend, with only the thread
settings (OMP/TF/XLA flags, what `--threads 1` sets) and with the process also bound to one CPU
(dltp.backends.pin_cpus for jax; bench/_common.bind_to_threads for every benchmark side).

Each side is a fresh process training the TP1 recipe (784-512-10, Adam, batch 128) on random data
for 2 timed epochs after a warm-up epoch; cores busy = (user + system CPU time) / wall time.
XLA sizes its thread pool from the CPU affinity and ignores its thread flags, so jax unbound keeps
more than one core busy when a second core is free.

    python bench/thread_binding.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import TP1_BATCH, markdown_table, save, thread_env, tp1_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ONE_THREAD = {**thread_env(1), "TF_CPP_MIN_LOG_LEVEL": "3"}


def worker(bind: bool) -> dict:
    import resource
    import time

    if bind:
        from dltp.backends import pin_cpus

        pin_cpus(1)
    import keras
    import numpy as np

    from dltp.models.dense import build_dense

    x, y = tp1_data(np.random.default_rng(0))
    model = build_dense()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=TP1_BATCH, epochs=1, verbose=0)
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    model.fit(x, y, batch_size=TP1_BATCH, epochs=2, verbose=0)
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - start
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"backend": keras.backend.backend(), "bound": bind, "cores_busy": cpu / wall,
            "samples_per_s": 2 * len(x) / wall}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["torch", "jax", "tensorflow"])
    parser.add_argument("--worker", choices=["bound", "unbound"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker == "bound")))
        return 0
    if len(os.sched_getaffinity(0)) < 2:
        print("one CPU only: nothing to compare")
        return 0
    rows = []
    for backend in args.backends:
        for mode in ("unbound", "bound"):
            env = {**os.environ, **ONE_THREAD, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT / "src")}
            proc = subprocess.run([sys.executable, __file__, "--worker", mode], capture_output=True, text=True,
                                  env=env)
            if proc.returncode:
                rows.append({"backend": backend, "bound": mode == "bound", "error": proc.stderr.strip()[-200:]})
                continue
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    table = markdown_table(rows, [("backend", "backend"), ("bound", "bound to one CPU"),
                                  ("cores_busy", "cores busy"), ("samples_per_s", "samples/s")])
    note = (f"TP1 recipe, one-thread settings, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at "
            "the end; cores busy = CPU time / wall time over 2 epochs")
    print(table)
    print(note)
    save("thread_binding", {"rows": rows}, table + "\n" + note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
