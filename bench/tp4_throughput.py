"""TP4 training throughput per Keras backend, in interleaved rounds.

Each backend is one worker process (KERAS_BACKEND is fixed at import) that builds, on the same
seeded data, the original U-Net (128×128, batch 4, ``--unet-images``) and the original Conv3D
network (32³, batch 16, ``--volumes``), trains each a first (compiling) epoch and a timed one, and
then trains on request: a round measures both models on every backend in turn, as many epochs each
as make ``--min-seconds`` (bench/_common.serve_models). A warm-up round is thrown away, then
``--rounds`` (≥ 5) are kept: median and spread (min–max) per side, the per-round ratio to torch, and
a backend is called faster or slower only when every round agrees (bench/_rounds.py). GFLOP/s counts
the convolution layers' work (a lower bound) against the machine's float32 matmul rate measured in
the same run; peak RSS is the backend process'.

    python bench/tp4_throughput.py [--unet-images 32] [--volumes 64] [--backends torch jax tensorflow]

"""

# Duration on the 2-core machine at one thread: about 4 minutes (3 workers of ~40 s start; rounds of
# ~20 s: the U-Net ~1.5 s a side, Conv3D on jax ~5 s).

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rounds  # noqa: E402
from _common import BACKENDS, backend_rounds, matmul_gflops, rounds_table, save, serve_models  # noqa: E402

MODELS = {"unet": "U-Net 128² (images/s, batch 4)", "conv3d": "Conv3D 32³ (volumes/s, batch 16)"}


def builders(unet_images: int, volumes: int) -> dict:
    import numpy as np

    from dltp.data.circles import load_circles
    from dltp.data.volumes import load_volumes
    from dltp.losses import dice_loss
    from dltp.metrics import dice_coefficient
    from dltp.models.conv3d import build_conv3d
    from dltp.models.unet import build_unet

    def unet():
        seg = load_circles(n_train=unet_images, n_val=1)
        model = build_unet()
        model.compile(optimizer="adam", loss=dice_loss, metrics=[dice_coefficient])
        return model, seg.x_train, seg.y_train, 4

    def conv3d():
        vol = load_volumes(n_train=volumes, n_val=2)
        model = build_conv3d()
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model, vol.x_train, vol.y_train.astype(np.float32), 16

    return {"unet": unet, "conv3d": conv3d}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--unet-images", type=int, default=32)
    parser.add_argument("--volumes", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=_rounds.MIN_ROUNDS, help="kept rounds after the warm-up (>= 5)")
    parser.add_argument("--min-seconds", type=float, default=1.5, help="training seconds per side per round")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        serve_models(builders(args.unet_images, args.volumes), args.min_seconds)
        return 0
    peak = matmul_gflops()
    rows, ranking = backend_rounds(Path(__file__).name, args.backends, MODELS,
                                   ["--unet-images", str(args.unet_images), "--volumes", str(args.volumes),
                                    "--min-seconds", str(args.min_seconds)], args.rounds, peak)
    if not any("rounds" in r for r in rows):
        return 1
    note = (f"TP4 training throughput: median (min–max) of {args.rounds} interleaved rounds after a warm-up round, "
            f"≥ {args.min_seconds} s of training per side per round; matmul {peak:.1f} GFLOP/s; "
            f"{os.cpu_count()} CPUs")
    text = rounds_table(rows, ranking)
    print(note)
    print(text)
    save("tp4_throughput", {"args": vars(args), "rows": rows, "ranking": ranking, "matmul_gflops": peak},
         f"{note}\n\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
