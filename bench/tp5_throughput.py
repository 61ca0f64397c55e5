"""TP5 training throughput per Keras backend, in interleaved rounds (a benchmark, not a test).

Each backend is one worker process (KERAS_BACKEND is fixed at import) that builds both TP5 models
on the same random data of the labs' shapes — the attention classifier (20 tokens, batch 64) and
the seq2seq forecaster (50 → 10, batch 64), ``--steps`` batches each — trains each a first
(compiling) epoch and a timed one, and then trains on request: a round measures both models on
every backend in turn, as many epochs each as make ``--min-seconds`` (bench/_common.serve_models).
A warm-up round is thrown away, then ``--rounds`` (≥ 5) are kept: median and spread (min–max) per
side, the per-round ratio to torch, and a backend is called faster or slower only when every round
agrees (bench/_rounds.py).

    python bench/tp5_throughput.py [--backends torch jax tensorflow] [--steps 30] [--rounds 5]

"""

# Duration on the 2-core machine at one thread: about 2 minutes (3 workers of ~20 s start; rounds of
# ~10 s, six sides of ≥ 1.5 s).

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rounds  # noqa: E402
from _common import BACKENDS, backend_rounds, matmul_gflops, rounds_table, save, serve_models  # noqa: E402

MODELS = {"attention": "attention classifier (20 tokens)", "seq2seq": "seq2seq forecaster (50 → 10)"}
BATCH = 64


def builders(steps: int) -> dict:
    import numpy as np

    from dltp.models.attention import build_attention_classifier
    from dltp.models.seq2seq import build_seq2seq

    rng = np.random.default_rng(0)
    n = BATCH * steps

    def attention():
        model, _ = build_attention_classifier(30, 20)
        model.compile("adam", "binary_crossentropy")
        x = rng.integers(0, 30, (n, 20)).astype("int32")
        return model, x, rng.integers(0, 2, (n, 1)).astype("float32"), BATCH

    def seq2seq():
        model, _ = build_seq2seq(50, 10)
        model.compile("adam", "mse")
        xs = rng.standard_normal((n, 50, 1)).astype("float32")
        dec = rng.standard_normal((n, 10, 1)).astype("float32")
        return model, [xs, dec], rng.standard_normal((n, 10, 1)).astype("float32"), BATCH

    return {"attention": attention, "seq2seq": seq2seq}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--steps", type=int, default=30, help="batches of 64 in the training data (an epoch)")
    parser.add_argument("--rounds", type=int, default=_rounds.MIN_ROUNDS, help="kept rounds after the warm-up (>= 5)")
    parser.add_argument("--min-seconds", type=float, default=1.5, help="training seconds per side per round")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        serve_models(builders(args.steps), args.min_seconds)
        return 0
    peak = matmul_gflops()
    rows, ranking = backend_rounds(Path(__file__).name, args.backends, MODELS,
                                   ["--steps", str(args.steps), "--min-seconds", str(args.min_seconds)],
                                   args.rounds, peak)
    if not any("rounds" in r for r in rows):
        return 1
    note = (f"TP5 training throughput (batch 64, {args.steps} batches an epoch): median (min–max) of {args.rounds} "
            f"interleaved rounds after a warm-up round, ≥ {args.min_seconds} s of training per side per round; "
            f"{os.cpu_count()} CPUs")
    text = rounds_table(rows, ranking, gflops=False)  # attention and LSTM cells are not counted
    print(note)
    print(text)
    save("tp5_throughput", {"rounds": args.rounds, "rows": rows, "ranking": ranking}, f"{note}\n\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
