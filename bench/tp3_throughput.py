"""Training throughput (images/s) of TP3's models on each Keras backend, in interleaved rounds.

Each backend is one worker process (Keras picks its backend at import) that builds every model,
compiles it with the original recipe, trains a first (compiling) epoch and a timed one on random
data of the dataset's shape (``--steps`` batches), and then trains on request: a round measures
every model on every backend in turn, as many epochs each as make ``--min-seconds`` (bench/_common
.serve_models). A warm-up round is thrown away, then ``--rounds`` (≥ 5) are kept: median and spread
(min–max) per side, the per-round ratio to torch, and a backend is called faster or slower only
when every round agrees (bench/_rounds.py). GFLOP/s counts the convolution and dense layers' work
(a lower bound) against the machine's float32 matmul rate measured in the same run; peak RSS is
the backend process'.

    python bench/tp3_throughput.py                       # CIFAR-sized 32×32×3, batch 64
    python bench/tp3_throughput.py --shape 28 28 1 --steps 5 --backends torch jax

"""

# Duration on the 2-core machine at one thread: about 4 minutes (3 workers of ~40 s start; rounds of
# ~25 s, three models × three backends at ≥ 1.5 s each, the slowest backend's ResNet ~5 s).

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rounds  # noqa: E402
from _common import BACKENDS, backend_rounds, matmul_gflops, rounds_table, save, serve_models  # noqa: E402

MODELS = {"cnn": "cnn", "resnet": "resnet", "detector": "detector"}


def builders(shape, batch: int, steps: int) -> dict:
    import numpy as np

    from dltp.models import recipes
    from dltp.models.cnn import build_cnn
    from dltp.models.detection import build_detector, compile_detector
    from dltp.models.resnet import build_resnet

    rng = np.random.default_rng(0)
    n = batch * steps

    def classifier(build):
        def make():
            model = build(tuple(shape), 10)
            recipes.compile_for(model, recipes.settings("original"), steps, 10)
            return model, rng.random((n, *shape), dtype=np.float32), rng.integers(0, 10, n), batch
        return make

    def detector():
        model = build_detector((64, 64, 3), 3)
        compile_detector(model)
        y = {"class": rng.integers(0, 3, n), "box": rng.random((n, 4), dtype=np.float32)}
        return model, rng.random((n, 64, 64, 3), dtype=np.float32), y, batch

    return {"cnn": classifier(build_cnn), "resnet": classifier(build_resnet), "detector": detector}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=3, default=[32, 32, 3])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="batches of the training data (an epoch)")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--rounds", type=int, default=_rounds.MIN_ROUNDS, help="kept rounds after the warm-up (>= 5)")
    parser.add_argument("--min-seconds", type=float, default=1.5, help="training seconds per side per round")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        serve_models(builders(args.shape, args.batch, args.steps), args.min_seconds)
        return 0
    peak = matmul_gflops()
    rows, ranking = backend_rounds(Path(__file__).name, args.backends, MODELS,
                                   ["--shape", *map(str, args.shape), "--batch", str(args.batch), "--steps",
                                    str(args.steps), "--min-seconds", str(args.min_seconds)], args.rounds, peak)
    if not any("rounds" in r for r in rows):
        return 1
    note = (f"TP3 training throughput, input {tuple(args.shape)} (detector 64×64×3), batch {args.batch}: median "
            f"(min–max) of {args.rounds} interleaved rounds after a warm-up round, ≥ {args.min_seconds} s of "
            f"training per side per round; matmul {peak:.1f} GFLOP/s; {os.cpu_count()} CPUs")
    text = rounds_table(rows, ranking, "images/s")
    print(note)
    print(text)
    save("tp3_throughput", {"rounds": args.rounds, "rows": rows, "ranking": ranking, "matmul_gflops": peak},
         f"{note}\n\n{text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
