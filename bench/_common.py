"""Helpers shared by the benchmarks: run a snippet under a given Keras backend in a fresh
process, measure the machine's float32 matmul rate, and print/save tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BACKENDS = ("torch", "jax", "tensorflow")
RESULTS = Path(__file__).resolve().parent / "results"


def run_under(backend: str, module: str, *args: str, timeout: int = 1800, unpinned: bool = False) -> dict:
    """Run ``python -m module args`` with KERAS_BACKEND=backend; its last stdout line is JSON.
    ``unpinned``: without the thread settings of ``--threads`` (each library's own default)."""
    # this checkout's src and bench first; the caller's path after them (bench/_hook: the measured files)
    path = [str(Path(__file__).resolve().parents[1] / "src"), str(Path(__file__).resolve().parent),
            *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": os.pathsep.join(path)}
    if unpinned:
        for name in thread_env(1):
            env.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=Path(__file__).resolve().parent,
                          preexec_fn=None if unpinned else bind_to_threads)
    if proc.returncode != 0:
        return {"backend": backend, "error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bind_to_threads() -> None:
    """With a thread count set (``--threads N``), a side may use N cores and no more: XLA (jax)
    ignores its thread flags and sizes its pool from the CPU affinity, so every side is bound to the
    first N CPUs, the same for every backend."""
    threads = os.environ.get("DLTP_THREADS")
    if threads:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from dltp.backends import pin_cpus  # dltp's own binding (no keras import)

        pin_cpus(int(threads))


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def matmul_gflops(n: int = 1024, repeats: int = 20) -> float:
    """The machine's measured float32 matmul rate (numpy/BLAS, with the thread setting of the
    environment: all cores unless OMP_NUM_THREADS says otherwise), best of ``repeats``."""
    import time

    import numpy as np

    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def markdown_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
        return "—" if v is None else str(v)

    lines = ["| " + " | ".join(title for _, title in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(fmt(r.get(key)) for key, _ in columns) + " |" for r in rows]
    return "\n".join(lines)


def save(name: str, payload: dict, table: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2))
    (RESULTS / f"{name}.md").write_text(table + "\n")


def thread_env(threads: int | None) -> dict:
    """Environment that pins every backend to ``threads`` compute threads (nothing when None).

    torch reads OMP_NUM_THREADS, tensorflow its own TF_NUM_*OP_THREADS, jax/XLA the Eigen flag;
    pinning all of them keeps a side-by-side comparison fair when other work shares the cores."""
    if not threads:
        return {}
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "DLTP_THREADS": str(threads),
            "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1",
            "XLA_FLAGS": f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
                         f"intra_op_parallelism_threads={threads}"}


def _layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):  # a nested model
            yield from _layers(layer)
        else:
            yield layer


# The TP1 recipe as the TP1 benchmarks train it: 54,000 random images (MNIST's training split after
# validation), a first compiling epoch, then TP1_EPOCHS timed ones.
TP1_SAMPLES, TP1_EPOCHS, TP1_BATCH = 54_000, 2, 128


def tp1_data(rng):
    """Random float32 images and labels of the TP1 recipe's shapes, drawn from ``rng``."""
    return rng.random((TP1_SAMPLES, 784), dtype="float32"), rng.integers(0, 10, TP1_SAMPLES)


def tp1_result(seconds: float, first_epoch_s: float, rss_before_mb: float, **fields) -> dict:
    """A TP1 worker's JSON line: the steady-state rate of TP1_EPOCHS epochs that took ``seconds``."""
    samples_per_s = TP1_SAMPLES * TP1_EPOCHS / seconds
    return {**fields, "samples_per_s": samples_per_s, "epoch_s": seconds / TP1_EPOCHS, "first_epoch_s": first_epoch_s,
            "threads": os.environ.get("DLTP_THREADS") or "library default",
            "gflops": samples_per_s * TP1_TRAINING_FLOPS / 1e9, "peak_rss_mb": peak_rss_mb(),
            "rss_before_mb": rss_before_mb}


# The TP1 recipe's FLOPs per training sample (dense 784-512-10): forward and weight gradients of
# both layers, and the gradient w.r.t. the hidden activations; the first layer's gradient w.r.t.
# its input (the data) is never computed, by any backend, so it is not counted.
TP1_TRAINING_FLOPS = 2 * 784 * 512 * 2 + 2 * 512 * 10 * 3


def training_flops_per_sample(model) -> float:
    """Multiply-adds of the convolution and dense layers of ``model`` (built, functional), ×2 for
    FLOPs and ×3 for a training step (forward, gradient w.r.t. inputs, gradient w.r.t. weights).
    The first layer's gradient w.r.t. the data is counted although no backend computes it: small
    next to the rest for these convolutional nets (1 or 3 input channels), not for TP1's dense
    net, which the TP1 benchmarks count exactly (TP1_TRAINING_FLOPS).

    Other layers (normalisation, activations, pooling, recurrent cells, attention) are left out, so
    the GFLOP/s derived from it is a lower bound of the work done."""
    import math

    import keras

    total = 0.0
    for layer in _layers(model):
        try:
            out_shape = tuple(layer.output.shape[1:])
            in_shape = tuple(layer.input.shape[1:])
        except (AttributeError, ValueError):
            continue
        if isinstance(layer, keras.layers.Dense):
            total += 2 * math.prod(in_shape) * layer.units
        elif isinstance(layer, (keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)):
            total += 2 * math.prod(in_shape[:-1]) * math.prod(layer.kernel_size) * in_shape[-1] * layer.filters
        elif isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)):
            groups = getattr(layer, "groups", 1) or 1
            total += (2 * math.prod(out_shape[:-1]) * math.prod(layer.kernel_size) * in_shape[-1] // groups
                      * layer.filters)
    return 3 * total
