"""TP5 training throughput per Keras backend, side by side (a benchmark, not a test).

Each backend runs in its own subprocess (KERAS_BACKEND is fixed at import), trains both TP5 models
on the same random data of the labs' shapes — the attention classifier (20 tokens, batch 64) and the
seq2seq forecaster (50 → 10, batch 64) — and reports training samples per second after a warm-up
epoch. Run it on a quiet machine: ratios are only meaningful within one run.

    python bench/tp5_throughput.py [--backends torch jax tensorflow] [--steps 30] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bind_to_threads, markdown_table, peak_rss_mb, save  # noqa: E402


def measure(steps: int) -> dict:
    import keras
    import numpy as np

    from dltp.models.attention import build_attention_classifier
    from dltp.models.seq2seq import build_seq2seq

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    batch = 64
    n = batch * steps
    out = {}
    model, _ = build_attention_classifier(30, 20)
    model.compile("adam", "binary_crossentropy")
    x = rng.integers(0, 30, (n, 20)).astype("int32")
    y = rng.integers(0, 2, (n, 1)).astype("float32")
    out["attention"] = _time(model, x, y, batch)
    model, _ = build_seq2seq(50, 10)
    model.compile("adam", "mse")
    xs = rng.standard_normal((n, 50, 1)).astype("float32")
    dec = rng.standard_normal((n, 10, 1)).astype("float32")
    ys = rng.standard_normal((n, 10, 1)).astype("float32")
    out["seq2seq"] = _time(model, [xs, dec], ys, batch)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def _time(model, x, y, batch: int) -> float:
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # warm-up: tracing / compilation
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    n = len(y)
    return n / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["torch", "jax", "tensorflow"])
    parser.add_argument("--steps", type=int, default=30, help="timed training steps per model (batch 64)")
    parser.add_argument("--threads", type=int, default=None, help="OMP/intra-op threads (default: all)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.steps)))
        return 0
    rows = {}
    for backend in args.backends:
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "TF_CPP_MIN_LOG_LEVEL": "3"}
        if args.threads:
            env["OMP_NUM_THREADS"] = str(args.threads)
        proc = subprocess.run([sys.executable, __file__, "--worker", backend, "--steps", str(args.steps)],
                              capture_output=True, text=True, env=env, preexec_fn=bind_to_threads)
        if proc.returncode != 0:
            print(f"{backend}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        rows[backend] = json.loads(proc.stdout.strip().splitlines()[-1])
    if not rows:
        return 1
    base = rows.get("torch") or next(iter(rows.values()))
    table = [{"backend": b, "attention": r["attention"], "attention_ratio": r["attention"] / base["attention"],
              "seq2seq": r["seq2seq"], "seq2seq_ratio": r["seq2seq"] / base["seq2seq"], "rss": r["peak_rss_mb"]}
             for b, r in rows.items()]
    text = markdown_table(table, [("backend", "backend"), ("attention", "attention samples/s"),
                                  ("attention_ratio", "× torch"), ("seq2seq", "seq2seq samples/s"),
                                  ("seq2seq_ratio", "× torch"), ("rss", "process peak RSS MB")])
    note = f"TP5 training throughput (batch 64, {args.steps} timed steps after a warm-up epoch)"
    print(note)
    print(text)
    save("tp5_throughput", {"rows": table}, f"{note}\n\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
