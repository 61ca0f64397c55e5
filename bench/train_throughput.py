"""TP1 training throughput per Keras backend, side by side in one run.

Prints samples/s, the GFLOP/s achieved next to the machine's measured float32 matmul rate, and
peak RSS; each backend trains the same recipe in a fresh process (so peak memory is its own).
The first rows train it as dltp's TP1 does (``compile(steps_per_execution=...)`` from
dltp.training: 32 on jax and tensorflow, 1 on torch, which accepts nothing else); each backend is
also measured with Keras' defaults (one step per execution) and with ``jit_compile=True``
(torch.compile on torch, XLA on tensorflow; jax always compiles), so that the choice stays
measured. dltp's backend preferences are ranked from the first rows.
Goal: TP1 on its preferred backend >= 2x the same recipe on tensorflow.
"""

from __future__ import annotations

import argparse

from _common import BACKENDS, markdown_table, matmul_gflops, run_under, save


VARIANTS = {"steps_per_execution=1": ("--steps-per-execution", "1"), "jit_compile=True": ("--jit", "true")}
# jax always runs jit-compiled; torch's dltp row already runs one step per execution
SKIP = {("jax", "jit_compile=True"), ("torch", "steps_per_execution=1")}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--no-variants", action="store_true", help="only the default compile settings")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best of each is kept")
    args = parser.parse_args(argv)
    peak = matmul_gflops()
    configs = [(b, None, ()) for b in args.backends]
    if not args.no_variants:
        configs += [(b, v, flags) for b in args.backends for v, flags in VARIANTS.items() if (b, v) not in SKIP]
    # Every configuration once per round, interleaved, best round kept: on a shared machine the
    # load drifts, and sequential runs would compare one moment with another.
    best: dict[tuple, dict] = {}
    for _ in range(args.rounds):
        for backend, variant, flags in sorted(configs, key=lambda c: args.backends.index(c[0])):
            row = {**run_under(backend, "tp1_worker", *flags), "backend": backend, "variant": variant}
            kept = best.get((backend, variant))
            if kept is None or row.get("samples_per_s", 0) > kept.get("samples_per_s", 0):
                best[(backend, variant)] = row
    rows = [best[(b, v)] for b, v, _ in configs]
    # the baseline: the same recipe on tensorflow with Keras' defaults, as the original course ran it
    tf = next((r for r in rows if r.get("backend") == "tensorflow" and r.get("variant") == "steps_per_execution=1"
               and "samples_per_s" in r), None)
    tf = tf or next((r for r in rows if r.get("backend") == "tensorflow" and "samples_per_s" in r), None)
    for r in rows:
        r["compile"] = r.get("variant") or "as dltp's TP1"
        if "samples_per_s" in r:
            r["matmul_gflops"] = peak
            r["pct_of_matmul"] = 100 * r["gflops"] / peak
            if tf:
                r["speedup_vs_tensorflow"] = r["samples_per_s"] / tf["samples_per_s"]
    table = markdown_table(rows, [("backend", "backend"), ("compile", "compile"),
                                  ("steps_per_execution", "steps/execution"), ("samples_per_s", "samples/s"),
                                  ("epoch_s", "s/epoch (54k)"), ("gflops", "GFLOP/s"),
                                  ("matmul_gflops", "matmul GFLOP/s"), ("pct_of_matmul", "% of matmul"),
                                  ("peak_rss_mb", "peak RSS MB"),
                                  ("speedup_vs_tensorflow", "× tensorflow (Keras defaults)"), ("error", "error")])
    print(f"TP1 recipe training throughput (dense 784-512-10, Adam, batch 128; best of {args.rounds} "
          "interleaved rounds)")
    print(table)
    save("train_throughput", {"rows": rows, "matmul_gflops": peak}, table)
    return {"rows": rows}


if __name__ == "__main__":
    main()
