"""TP4 training throughput per Keras backend, side by side in one run.

Each backend runs in its own fresh process (KERAS_BACKEND is fixed at import time) on the same
seeded data: the original U-Net (128×128, batch 4) and the original Conv3D network (32³, batch 16).
One warm-up epoch (graph tracing / compilation) is excluded; the next epoch is timed. GFLOP/s
counts the convolution layers' work (a lower bound) against the machine's float32 matmul rate
measured in the same run; peak RSS is the backend process'.

    python bench/tp4_throughput.py [--unet-images 32] [--volumes 64] [--backends torch jax tensorflow]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (bind_to_threads, markdown_table, matmul_gflops, peak_rss_mb, save,  # noqa: E402
                     training_flops_per_sample)


def child(unet_images: int, volumes: int) -> dict:
    import keras
    import numpy as np

    from dltp.data.circles import load_circles
    from dltp.data.volumes import load_volumes
    from dltp.losses import dice_loss
    from dltp.metrics import dice_coefficient
    from dltp.models.conv3d import build_conv3d
    from dltp.models.unet import build_unet

    def timed(model, x, y, batch):
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # warm-up: tracing, compilation
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        return len(x) / (time.perf_counter() - start)

    keras.utils.set_random_seed(0)
    seg = load_circles(n_train=unet_images, n_val=1)
    unet = build_unet()
    unet.compile(optimizer="adam", loss=dice_loss, metrics=[dice_coefficient])
    vol = load_volumes(n_train=volumes, n_val=2)
    c3d = build_conv3d()
    c3d.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    unet_rate = timed(unet, seg.x_train, seg.y_train, 4)
    c3d_rate = timed(c3d, vol.x_train, vol.y_train.astype(np.float32), 16)
    return {"backend": keras.backend.backend(),
            "unet_images_per_s": unet_rate, "unet_gflops": unet_rate * training_flops_per_sample(unet) / 1e9,
            "conv3d_volumes_per_s": c3d_rate, "conv3d_gflops": c3d_rate * training_flops_per_sample(c3d) / 1e9,
            "peak_rss_mb": peak_rss_mb()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["torch", "jax", "tensorflow"])
    parser.add_argument("--unet-images", type=int, default=32)
    parser.add_argument("--volumes", type=int, default=64)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.unet_images, args.volumes)), flush=True)
        return 0
    rows = []
    for backend in args.backends:
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT / "src")}
        out = subprocess.run([sys.executable, __file__, "--child", "--unet-images", str(args.unet_images),
                              "--volumes", str(args.volumes)], capture_output=True, text=True, env=env,
                             preexec_fn=bind_to_threads)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if out.returncode or not lines:
            print(f"{backend}: failed: {out.stderr.strip()[-400:]}", file=sys.stderr)
            continue
        rows.append(json.loads(lines[-1]))
    if not rows:
        return 1
    base = rows[0]
    peak = matmul_gflops()
    models = (("U-Net 128² (images/s, batch 4)", "unet_images_per_s", "unet_gflops"),
              ("Conv3D 32³ (volumes/s, batch 16)", "conv3d_volumes_per_s", "conv3d_gflops"))
    table = [{"model": title, "backend": r["backend"], "rate": r[rate], "gflops": r[gflops],
              "pct": 100 * r[gflops] / peak, "ratio": r[rate] / base[rate], "rss": r["peak_rss_mb"]}
             for title, rate, gflops in models for r in rows]
    text = markdown_table(table, [("model", "model"), ("backend", "backend"), ("rate", "samples/s"),
                                  ("gflops", "GFLOP/s"), ("pct", "% of matmul"), ("ratio", f"× {base['backend']}"),
                                  ("rss", "process peak RSS MB")])
    note = f"TP4 training throughput; matmul {peak:.1f} GFLOP/s; {os.cpu_count()} CPUs"
    print(note)
    print(text)
    save("tp4_throughput", {"args": vars(args), "rows": table, "matmul_gflops": peak}, f"{note}\n\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
