"""Training throughput (images/s) of TP3's models on each Keras backend, side by side in one run.

Each backend runs in its own subprocess (Keras picks its backend at import). For every model:
build, compile with the original recipe, one warm-up fit, then time ``--steps`` training steps on
random data of the dataset's shape. GFLOP/s counts the convolution and dense layers' work (a lower
bound), against the machine's float32 matmul rate measured in the same run; peak RSS is the
backend process'. Ratios are only meaningful within one run (same machine, same load).

    python bench/tp3_throughput.py                       # CIFAR-sized 32×32×3, batch 64
    python bench/tp3_throughput.py --shape 28 28 1 --steps 5 --backends torch jax
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

MODELS = ("cnn", "resnet", "detector")


def measure(shape, batch: int, steps: int) -> dict:
    import keras
    import numpy as np

    from dltp.models import recipes
    from dltp.models.cnn import build_cnn
    from dltp.models.detection import build_detector, compile_detector
    from dltp.models.resnet import build_resnet

    rng = np.random.default_rng(0)
    out = {}
    for name in MODELS:
        keras.utils.set_random_seed(0)
        n = batch * steps
        if name == "detector":
            x = rng.random((n, 64, 64, 3), dtype=np.float32)
            y = {"class": rng.integers(0, 3, n), "box": rng.random((n, 4), dtype=np.float32)}
            model = build_detector((64, 64, 3), 3)
            compile_detector(model)
        else:
            x = rng.random((n, *shape), dtype=np.float32)
            y = rng.integers(0, 10, n)
            model = (build_cnn if name == "cnn" else build_resnet)(tuple(shape), 10)
            recipes.compile_for(model, recipes.settings("original"), steps, 10)
        warm = {k: v[:batch] for k, v in y.items()} if isinstance(y, dict) else y[:batch]
        model.fit(x[:batch], warm, batch_size=batch, epochs=1, verbose=0)
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        rate = n / (time.perf_counter() - start)
        out[name] = {"images_per_s": rate, "gflops": rate * training_flops_per_sample(model) / 1e9}
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=3, default=[32, 32, 3])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--backends", nargs="+", default=["torch", "jax", "tensorflow"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.shape, args.batch, args.steps)))
        return 0
    rows = {}
    for backend in args.backends:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
               "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        cmd = [sys.executable, __file__, "--child", "--shape", *map(str, args.shape), "--batch", str(args.batch),
               "--steps", str(args.steps)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, preexec_fn=bind_to_threads)
        if proc.returncode != 0:
            print(f"{backend}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        rows[backend] = json.loads(proc.stdout.strip().splitlines()[-1])
    peak = matmul_gflops()
    base = rows.get("torch") or next(iter(rows.values()))
    table = [{"model": name, "backend": b, "images_per_s": r[name]["images_per_s"], "gflops": r[name]["gflops"],
              "pct": 100 * r[name]["gflops"] / peak, "ratio": r[name]["images_per_s"] / base[name]["images_per_s"],
              "rss": r["peak_rss_mb"]}
             for name in MODELS for b, r in rows.items()]
    text = markdown_table(table, [("model", "model"), ("backend", "backend"), ("images_per_s", "images/s"),
                                  ("gflops", "GFLOP/s"), ("pct", "% of matmul"), ("ratio", "× torch"),
                                  ("rss", "process peak RSS MB")])
    note = (f"TP3 training throughput, input {tuple(args.shape)} (detector 64×64×3), batch {args.batch}, "
            f"{args.steps} timed steps; matmul {peak:.1f} GFLOP/s; {os.cpu_count()} CPUs")
    print(note)
    print(text)
    save("tp3_throughput", {"rows": table, "matmul_gflops": peak}, f"{note}\n\n{text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
