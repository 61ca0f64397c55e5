"""TP4 training throughput per Keras backend, side by side in one run.

Each backend runs in its own fresh process (KERAS_BACKEND is fixed at import time) on the same
seeded data: the original U-Net (128×128, batch 4) and the original Conv3D network (32³, batch 16).
One warm-up epoch (graph tracing / compilation) is excluded; the next epoch is timed.

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
    return {"backend": keras.backend.backend(),
            "unet_images_per_s": timed(unet, seg.x_train, seg.y_train, 4),
            "conv3d_volumes_per_s": timed(c3d, vol.x_train, vol.y_train.astype(np.float32), 16)}


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
                              "--volumes", str(args.volumes)], capture_output=True, text=True, env=env)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if out.returncode or not lines:
            print(f"{backend}: failed: {out.stderr.strip()[-400:]}", file=sys.stderr)
            continue
        rows.append(json.loads(lines[-1]))
    if not rows:
        return 1
    base = rows[0]
    print(f"{'backend':<11} {'U-Net img/s':>12} {'vs ' + base['backend']:>10} {'Conv3D vol/s':>13} {'vs ' + base['backend']:>10}")
    for r in rows:
        print(f"{r['backend']:<11} {r['unet_images_per_s']:>12.2f} {r['unet_images_per_s'] / base['unet_images_per_s']:>10.2f} "
              f"{r['conv3d_volumes_per_s']:>13.2f} {r['conv3d_volumes_per_s'] / base['conv3d_volumes_per_s']:>10.2f}")
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tp4_throughput.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
