"""TP1 training throughput per Keras backend, side by side in one run.

Prints samples/s, the GFLOP/s achieved next to the machine's measured float32 matmul rate, and
peak RSS; each backend trains the same recipe in a fresh process (so peak memory is its own).
The first rows train it as dltp's TP1 does (``compile(steps_per_execution=...)`` from
dltp.training: 32 on jax, 1 on tensorflow and on torch, which accepts nothing else); jax is also
measured at one step per execution (Keras' default), tensorflow at 32, and both torch and
tensorflow with ``jit_compile=True`` (torch.compile, XLA; jax always compiles), so that the
choice stays measured. dltp's backend preferences are ranked from the first rows.

With ``--threads N`` (``make bench`` passes it through) every row above runs at N threads; two more
rows then run at default threads, side by side in the same rounds: each backend as `dltp run`
trains TP1 (dltp's default thread count, ``--dltp-threads``), and tensorflow with Keras' defaults
and its own thread default (all cores), as the original course ran it. Two rows train the recipe
in plain jax, without Keras (bench/tp1_jax_step_worker.py): one jitted step per batch as Keras'
fit does (the cost of Keras' trainer), and a whole epoch per XLA program with the data on the
device (what leaving `fit` could gain).
samples/s is the steady state after a first, compiling epoch (timed apart: ``first epoch s``).
Goal: TP1 on its preferred backend >= 2x the same recipe on tensorflow.
"""

from __future__ import annotations

import argparse
import os

from _common import BACKENDS, markdown_table, matmul_gflops, run_under, save


VARIANTS = {"steps_per_execution=1": ("--steps-per-execution", "1"),
            "steps_per_execution=32": ("--steps-per-execution", "32"), "jit_compile=True": ("--jit", "true")}
# at default threads: dltp's own default for each backend, and the original course's tensorflow
DLTP_THREADS_ROW = "as dltp's TP1, dltp's default threads"
TF_DEFAULTS_ROW = "steps_per_execution=1, tensorflow's default threads"
PLAIN_JAX_ROW = "plain jax, no Keras, a step per batch (bench/tp1_jax_step_worker.py)"
PLAIN_JAX_SCAN_ROW = "plain jax, no Keras, data on the device, an epoch per program (--scan)"
# the rows that would repeat dltp's own (jax always runs jit-compiled)
SKIP = {("jax", "jit_compile=True"), ("jax", "steps_per_execution=32"),  # dltp's jax row: 32
        ("torch", "steps_per_execution=1"), ("torch", "steps_per_execution=32"),  # torch takes only 1
        ("tensorflow", "steps_per_execution=1")}  # dltp's tensorflow row is Keras' default: 1


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--no-variants", action="store_true", help="only the default compile settings")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best of each is kept")
    args = parser.parse_args(argv)
    peak = matmul_gflops()
    # (backend, variant, worker, its flags, unpinned: at each library's default threads)
    configs = [(b, None, "tp1_worker", (), False) for b in args.backends]
    if not args.no_variants:
        configs += [(b, v, "tp1_worker", flags, False) for b in args.backends for v, flags in VARIANTS.items()
                    if (b, v) not in SKIP]
        if "jax" in args.backends:  # the same recipe without Keras: what the trainer itself costs
            configs += [("jax", PLAIN_JAX_ROW, "tp1_jax_step_worker", (), False),
                        ("jax", PLAIN_JAX_SCAN_ROW, "tp1_jax_step_worker", ("--scan",), False)]
    if os.environ.get("DLTP_THREADS"):  # the rows above are pinned: add the default-thread ones
        configs += [(b, DLTP_THREADS_ROW, "tp1_worker", ("--dltp-threads",), True) for b in args.backends]
        if "tensorflow" in args.backends:
            configs.append(("tensorflow", TF_DEFAULTS_ROW, "tp1_worker", VARIANTS["steps_per_execution=1"], True))
    # Every configuration once per round, interleaved, best round kept: on a shared machine the
    # load drifts, and sequential runs would compare one moment with another.
    best: dict[tuple, dict] = {}
    for _ in range(args.rounds):
        for backend, variant, worker, flags, unpinned in sorted(configs, key=lambda c: args.backends.index(c[0])):
            row = {**run_under(backend, worker, *flags, unpinned=unpinned), "backend": backend, "variant": variant}
            kept = best.get((backend, variant))
            if kept is None or row.get("samples_per_s", 0) > kept.get("samples_per_s", 0):
                best[(backend, variant)] = row
    rows = [best[(b, v)] for b, v, *_ in configs]
    # the baseline: the same recipe on tensorflow with Keras' defaults, as the original course ran it
    # (dltp's own tensorflow row: one step per execution)
    tf = next((r for r in rows if r.get("backend") == "tensorflow" and not r.get("variant")
               and r.get("steps_per_execution") == 1 and "samples_per_s" in r), None)
    tf_defaults = next((r for r in rows if r.get("variant") == TF_DEFAULTS_ROW and "samples_per_s" in r), None)
    for r in rows:
        r["compile"] = r.get("variant") or "as dltp's TP1"
        if "samples_per_s" in r:
            r["matmul_gflops"] = peak
            r["pct_of_matmul"] = 100 * r["gflops"] / peak
            if tf:
                r["speedup_vs_tensorflow"] = r["samples_per_s"] / tf["samples_per_s"]
            if tf_defaults and r.get("variant") == DLTP_THREADS_ROW:
                r["speedup_vs_tensorflow_default_threads"] = r["samples_per_s"] / tf_defaults["samples_per_s"]
    table = markdown_table(rows, [("backend", "backend"), ("compile", "compile"),
                                  ("steps_per_execution", "steps/execution"), ("samples_per_s", "samples/s"),
                                  ("epoch_s", "s/epoch (54k)"), ("first_epoch_s", "first epoch s"),
                                  ("threads", "threads"), ("gflops", "GFLOP/s"),
                                  ("matmul_gflops", "matmul GFLOP/s"), ("pct_of_matmul", "% of matmul"),
                                  ("peak_rss_mb", "peak RSS MB"),
                                  ("speedup_vs_tensorflow", "× tensorflow (Keras defaults)"),
                                  ("speedup_vs_tensorflow_default_threads", "× tensorflow (its default threads)"),
                                  ("error", "error")])
    print(f"TP1 recipe training throughput (dense 784-512-10, Adam, batch 128; best of {args.rounds} "
          "interleaved rounds)")
    print(table)
    save("train_throughput", {"rows": rows, "matmul_gflops": peak}, table)
    return {"rows": rows}


if __name__ == "__main__":
    main()
