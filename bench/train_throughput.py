"""TP1 training throughput per Keras backend, side by side in one run.

Prints samples/s, the GFLOP/s achieved next to the machine's measured float32 matmul rate, and
peak RSS; each backend trains the same recipe in a fresh process (so peak memory is its own).
Goal: the default backend (torch) trains the TP1 recipe >= 1.5x faster than tensorflow, with no
higher peak memory.
"""

from __future__ import annotations

import argparse

from _common import BACKENDS, markdown_table, matmul_gflops, run_under, save


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    args = parser.parse_args(argv)
    peak = matmul_gflops()
    rows = [run_under(b, "tp1_worker") for b in args.backends]
    tf = next((r for r in rows if r.get("backend") == "tensorflow" and "samples_per_s" in r), None)
    for r in rows:
        if "samples_per_s" in r:
            r["matmul_gflops"] = peak
            r["pct_of_matmul"] = 100 * r["gflops"] / peak
            if tf:
                r["speedup_vs_tensorflow"] = r["samples_per_s"] / tf["samples_per_s"]
    table = markdown_table(rows, [("backend", "backend"), ("samples_per_s", "samples/s"),
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
