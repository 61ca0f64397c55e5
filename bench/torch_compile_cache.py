"""Whether torch.compile, with inductor's on-disk caches warm, would pay on torch: TP1's quick recipe
(12,000 images of 784 pixels, 3 epochs, batch 128, 10 % validation) trained eagerly, as Keras runs
torch by default (``jit_compile="auto"`` is eager on torch), against ``jit_compile=True``
(torch.compile) with an empty inductor cache (a fresh TORCHINDUCTOR_CACHE_DIR) and with the cache
that run left. Each side is a fresh process at one thread; figures are model.fit's seconds and CPU
seconds. Interleaved rounds after a warm-up (bench/_rounds.py).

    python bench/torch_compile_cache.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rounds  # noqa: E402
from _common import pythonpath, save, thread_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORKER = """
import json, sys, time
import keras, numpy as np
from dltp.models.dense import build_dense
x = np.random.default_rng(0).random((12000, 784), dtype="float32"); y = np.arange(12000) % 10
keras.utils.set_random_seed(0)
model = build_dense()
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=sys.argv[1] == "compile")
wall, cpu = time.perf_counter(), time.process_time()
model.fit(x, y, epochs=3, batch_size=128, validation_split=0.1, verbose=0)
print(json.dumps({"fit_s": time.perf_counter() - wall, "fit_cpu_s": time.process_time() - cpu}))
"""


def fit(mode: str, cache: str, cpu: list[float]) -> float:
    env = {**os.environ, **thread_env(1), "KERAS_BACKEND": "torch", "TORCHINDUCTOR_CACHE_DIR": cache,
           "PYTHONPATH": pythonpath()}
    proc = subprocess.run([sys.executable, "-c", WORKER, mode], capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    cpu.append(out["fit_cpu_s"])
    return out["fit_s"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=_rounds.MIN_ROUNDS)
    args = parser.parse_args(argv)
    state = {"cache": ""}
    names = ("eager", "torch.compile, empty cache", "torch.compile, warm cache")
    cpu: dict[str, list[float]] = {name: [] for name in names}

    def cold() -> float:
        state["cache"] = tempfile.mkdtemp(prefix="inductor-")
        return fit("compile", state["cache"], cpu[names[1]])

    load = os.getloadavg()[0]
    rounds = _rounds.interleaved({names[0]: lambda: fit("eager", tempfile.mkdtemp(prefix="inductor-"), cpu[names[0]]),
                                  names[1]: cold,
                                  names[2]: lambda: fit("compile", state["cache"], cpu[names[2]])},
                                 rounds=args.rounds)
    sides = {name: _rounds.summary(values) for name, values in rounds.items()}
    warm = _rounds.ratio(rounds["torch.compile, warm cache"], rounds["eager"])
    lines = [f"TP1 quick recipe on torch, one thread, {args.rounds} rounds, load average {load:.1f} at start", "",
             "| side | model.fit s |", "|---|---|", *[f"| {n} | {_rounds.fmt(s)} |" for n, s in sides.items()], "",
             f"torch.compile with a warm cache / eager: {_rounds.fmt(warm)} "
             f"(it pays only below 1: {_rounds.verdict(warm, 1.0, higher_is_better=False)})"]
    text = "\n".join(lines)
    print(text)
    save("torch_compile_cache", {"load_average_at_start": load, "fit_s": sides, "warm_over_eager": warm,
                                 "fit_cpu_s_with_warm_up": {k: _rounds.summary(v) for k, v in cpu.items()}}, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
