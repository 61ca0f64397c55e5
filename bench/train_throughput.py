"""TP1 training throughput per Keras backend, side by side in one run.

Prints samples/s, the GFLOP/s achieved next to the machine's measured float32 matmul rate, and
peak RSS; each backend trains the same recipe in a fresh process (so peak memory is its own).
Each backend is also measured with ``compile(steps_per_execution=32)`` and with
``jit_compile=True`` (torch.compile on torch, XLA on tensorflow; jax always compiles), so that TP1
keeps the setting that wins per backend. The rows without a variant are the defaults that
dltp's backend preferences are ranked from.
Goal: TP1 on its preferred backend >= 2x the same recipe on tensorflow.
"""

from __future__ import annotations

import argparse

from _common import BACKENDS, markdown_table, matmul_gflops, run_under, save


VARIANTS = {"steps_per_execution=32": ("--steps-per-execution", "32"), "jit_compile=True": ("--jit", "true")}
SKIP = {("jax", "jit_compile=True")}  # jax always runs jit-compiled: the default row is that


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--no-variants", action="store_true", help="only the default compile settings")
    args = parser.parse_args(argv)
    peak = matmul_gflops()
    rows = [run_under(b, "tp1_worker") for b in args.backends]
    if not args.no_variants:
        for b in args.backends:
            for variant, flags in VARIANTS.items():
                if (b, variant) in SKIP:
                    continue
                row = run_under(b, "tp1_worker", *flags)
                rows.append({**row, "backend": b, "variant": variant})
    tf = next((r for r in rows if r.get("backend") == "tensorflow" and "samples_per_s" in r
               and not r.get("variant")), None)
    for r in rows:
        if "samples_per_s" in r:
            r["matmul_gflops"] = peak
            r["pct_of_matmul"] = 100 * r["gflops"] / peak
            if tf:
                r["speedup_vs_tensorflow"] = r["samples_per_s"] / tf["samples_per_s"]
    table = markdown_table(rows, [("backend", "backend"), ("variant", "compile"), ("samples_per_s", "samples/s"),
                                  ("epoch_s", "s/epoch (54k)"), ("gflops", "GFLOP/s"),
                                  ("matmul_gflops", "matmul GFLOP/s"), ("pct_of_matmul", "% of matmul"),
                                  ("peak_rss_mb", "peak RSS MB"), ("speedup_vs_tensorflow", "× tensorflow"),
                                  ("error", "error")])
    print("TP1 recipe training throughput (dense 784-512-10, Adam, batch 128)")
    print(table)
    save("train_throughput", {"rows": rows, "matmul_gflops": peak}, table)
    return {"rows": rows}


if __name__ == "__main__":
    main()
