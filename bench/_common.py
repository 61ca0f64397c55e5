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
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": pythonpath()}
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


def tp1_result(seconds: float, first_epoch_s: float, rss_before_mb: float, epochs: int = TP1_EPOCHS,
               **fields) -> dict:
    """A TP1 worker's JSON line: the steady-state rate of ``epochs`` epochs that took ``seconds``."""
    samples_per_s = TP1_SAMPLES * epochs / seconds
    return {**fields, "samples_per_s": samples_per_s, "epoch_s": seconds / epochs, "first_epoch_s": first_epoch_s,
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


# --- persistent workers: every side in its own process, measured in interleaved rounds ---------
#
# A side (a backend, a setting) is one process that builds and compiles its models once, then
# measures on request; the parent asks each side in turn (bench/_rounds.interleaved), so the sides
# of a round run back to back and only one measures at a time. A waiting worker blocks on its
# stdin, idle. Replies are lines that start with REPLY (the libraries may print their own lines).

REPLY = "@bench "


def reply(payload: dict) -> None:
    print(REPLY + json.dumps(payload), flush=True)


def serve(measures: dict, info: dict | None = None) -> None:
    """The worker's side: announce it is ready (with ``info``), then answer one request per line of
    stdin: a name of ``measures`` -> ``{"value": measures[name]()}`` (a number, or a dict of
    them); ``done`` (or the end of stdin) -> its peak RSS, and return."""
    reply({"ready": True, **(info or {})})
    for line in sys.stdin:
        name = line.strip()
        if name == "done":
            break
        value = measures[name]()
        reply({"value": value if isinstance(value, dict) else float(value)})
    reply({"done": True, "peak_rss_mb": peak_rss_mb()})


class WorkerError(RuntimeError):
    pass


class Worker:
    """The parent's handle on one worker process (``cmd``, run with ``env``): ``info`` is what it
    announced when ready, ``measure(name)`` one figure, ``close()`` its peak RSS. ``pinned``: bound
    to the first DLTP_THREADS CPUs like every other side (bind_to_threads)."""

    def __init__(self, name: str, cmd: list[str], env: dict, *, cwd: str | Path | None = None, pinned: bool = True):
        import tempfile

        self.name = name
        self.log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty worker never blocks
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=env, cwd=cwd or Path(__file__).resolve().parent,
                                     preexec_fn=bind_to_threads if pinned else None)
        self.info = self._read()

    def _read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith(REPLY):
                return json.loads(line[len(REPLY):])
        code = self.proc.wait()
        self.log.seek(0)
        tail = [line for line in self.log.read().splitlines() if line.strip()][-15:]
        raise WorkerError(f"{self.name} exited with {code}: " + "\n".join(tail))

    def measure(self, what: str = "measure"):
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        return self._read()["value"]

    def close(self) -> dict:
        try:
            self.proc.stdin.write("done\n")
            self.proc.stdin.close()
            return self._read()
        finally:
            self.proc.wait()
            self.log.close()


def pythonpath() -> str:
    """A child's PYTHONPATH: this checkout's src and bench first, the caller's path after them (it
    holds bench/_hook, which lists the files a record measured)."""
    here = Path(__file__).resolve().parent
    return os.pathsep.join([str(here.parent / "src"), str(here),
                            *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])


def worker_env(backend: str, **extra: str) -> dict:
    """The environment of a worker on ``backend``: this checkout's dltp and bench/ first."""
    return {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": pythonpath(), **extra}


def start_workers(specs: dict) -> tuple[dict, dict]:
    """Start every worker of ``specs`` (name -> Worker arguments), one after another so that each
    one's build and compilation has the machine to itself. Returns the started workers and, for
    those that failed, their error."""
    started, failed = {}, {}
    for name, (cmd, env, kwargs) in specs.items():
        try:
            started[name] = Worker(name, cmd, env, **kwargs)
        except WorkerError as error:
            print(f"{name}: failed to start\n{error}", file=sys.stderr)
            failed[name] = str(error).splitlines()[-1][-300:]
    return started, failed


def fit_rate(model, x, y, batch: int, min_seconds: float):
    """A measure of ``model``'s training rate (samples/s) on ``(x, y)``, for ``serve``.

    One fit traces and compiles every shape the later ones meet (a last partial batch included), a
    second, timed, sizes the rounds: each measure then trains as many epochs as make ``min_seconds`` of
    work, so that a round is long enough to read against the timer and the load. Returns the
    measure and what was learnt (first and timed epoch seconds, epochs per round)."""
    import math
    import time

    n = len(next(iter(y.values())) if isinstance(y, dict) else y)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    first = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    once = time.perf_counter() - start
    epochs = max(1, math.ceil(min_seconds / once))

    def measure() -> float:
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
        return n * epochs / (time.perf_counter() - start)

    return measure, {"first_epoch_s": first, "epoch_s": once, "epochs_per_round": epochs, "samples": n}


def measure_sides(workers: dict, sides: dict | None = None, rounds: int = 5, primary: str | None = None) -> dict:
    """Start ``workers`` (name -> (cmd, env, Worker keyword arguments)) one after another, measure
    ``sides`` (side -> (worker, measure name); default: each worker's ``measure``) in interleaved
    rounds after a warm-up round (bench/_rounds.interleaved), then close the workers.

    Returns side -> {"rounds": [...], "summary": median and spread, "info": what its worker
    announced, "peak_rss_mb": the worker's}, or {"error": ...} for a side whose worker did not start.
    A measure that returns a dict is read at ``primary``; every reply is kept under "replies"."""
    import _rounds

    sides = sides or {name: (name, "measure") for name in workers}
    started, failed = start_workers(workers)
    replies: dict[str, list] = {side: [] for side in sides}

    def side_measure(side: str):
        worker, what = sides[side]

        def measure() -> float:
            value = started[worker].measure(what)
            replies[side].append(value)
            return value[primary] if isinstance(value, dict) else value
        return measure

    live = {side: side_measure(side) for side, (worker, _) in sides.items() if worker in started}
    closed = {}
    try:
        got = _rounds.interleaved(live, rounds=rounds) if live else {}
    finally:
        for name, worker in started.items():
            try:
                closed[name] = worker.close()
            except (WorkerError, OSError):
                worker.proc.kill()
                worker.proc.wait()
    out = {}
    for side, (worker, _) in sides.items():
        if worker in failed:
            out[side] = {"error": failed[worker]}
            continue
        out[side] = {"rounds": got[side], "summary": _rounds.summary(got[side]), "info": started[worker].info,
                     "peak_rss_mb": closed.get(worker, {}).get("peak_rss_mb"),
                     "replies": replies[side][1:]}  # the warm-up round's reply is not kept
    return out


# --- per-backend training throughput of a lab's models (tp3_, tp4_, tp5_throughput) -------------

def serve_models(models: dict, min_seconds: float) -> None:
    """The worker's side for one backend: ``models`` maps a name to a function returning
    ``(model, x, y, batch)``, compiled; each is built, compiled and sized (fit_rate) in turn, then
    every round measures one of them by name. Announces, per model, its first-epoch seconds, epochs
    per round and training FLOPs per sample (training_flops_per_sample)."""
    import keras

    measures, info = {}, {}
    for name, build in models.items():
        keras.utils.set_random_seed(0)
        model, x, y, batch = build()
        measures[name], info[name] = fit_rate(model, x, y, batch, min_seconds)
        info[name]["flops_per_sample"] = training_flops_per_sample(model)
    serve(measures, {"backend": keras.backend.backend(), "models": info})


def backend_rounds(script: str, backends: list[str], models: dict[str, str], args: list[str], rounds: int,
                   peak_gflops: float, reference: str = "torch") -> tuple[list[dict], dict]:
    """Every model of ``script``'s worker (``script --worker ARGS`` under each backend, a
    serve_models) measured per backend in interleaved rounds: rows for a table (``models``: name ->
    title), and the ranking data (model -> backend -> samples/s of each round)."""
    import _rounds

    workers = {b: ([sys.executable, str(Path(__file__).resolve().parent / script), "--worker", *args],
                   worker_env(b), {}) for b in backends}
    sides = {(m, b): (b, m) for m in models for b in backends}
    got = measure_sides(workers, sides, rounds=rounds)
    rows, ranking = [], {}
    for m, title in models.items():
        ok = {b: got[(m, b)] for b in backends if "rounds" in got[(m, b)]}
        ref = ok.get(reference) or next(iter(ok.values()), None)
        ref_name = reference if reference in ok else next(iter(ok), None)
        ranking[m] = {b: side["rounds"] for b, side in ok.items()}
        for b in backends:
            side = got[(m, b)]
            if "error" in side:
                rows.append({"model": title, "backend": b, "error": side["error"]})
                continue
            model_info = side["info"]["models"][m]
            s = side["summary"]
            gflops = s["median"] * model_info["flops_per_sample"] / 1e9
            r = {"model": title, "backend": b, "rate": s, "rounds": side["rounds"], "gflops": gflops,
                 "pct": 100 * gflops / peak_gflops, "first_epoch_s": model_info["first_epoch_s"],
                 "samples": model_info["samples"], "epochs_per_round": model_info["epochs_per_round"],
                 "rss": side["peak_rss_mb"], "reference": ref_name}
            if b != ref_name:
                r["ratio"] = _rounds.ratio(side["rounds"], ref["rounds"])
                r["verdict"] = _rounds.compared(side["rounds"], ref["rounds"], lower_is_better=False)
            else:
                r["verdict"] = "reference"
            rows.append(r)
    return rows, ranking


def rounds_table(rows: list[dict], ranking: dict, unit: str = "samples/s", gflops: bool = True) -> str:
    """The table of backend_rounds' rows, and the order the rounds give each model. ``gflops``:
    with the GFLOP/s columns (convolution and dense work only, so leave them out where other
    layers carry the work)."""
    import _rounds

    shown = [{**r, "rate_cell": _rounds.cell(r.get("rate")), "ratio_cell": _rounds.cell(r.get("ratio"))} for r in rows]
    ref = next((r["reference"] for r in rows if r.get("reference")), "the reference")
    columns = [("model", "model"), ("backend", "backend"), ("rate_cell", f"{unit} (min–max)"),
               *([("gflops", "GFLOP/s"), ("pct", "% of matmul")] if gflops else []),
               ("ratio_cell", f"× {ref} (min–max)"), ("verdict", f"against {ref}, every round"),
               ("first_epoch_s", "first epoch s"), ("epochs_per_round", "epochs/round"),
               ("rss", "process peak RSS MB"), *([("error", "error")] if any("error" in r for r in rows) else [])]
    text = markdown_table(shown, columns)
    order = [f"{m}: " + " > ".join(_rounds.rank(by_backend, BACKENDS, lower_is_better=False))
             for m, by_backend in ranking.items() if len(by_backend) > 1]
    if order:
        text += ("\n\nOrder (faster first; a backend moves ahead of the default order torch, jax, tensorflow only "
                 "when it is faster in every round): " + "; ".join(order))
    return text
