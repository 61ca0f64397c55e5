"""TP1 training throughput per Keras backend, side by side in interleaved rounds.

Each configuration is one worker process (bench/tp1_worker.py) that builds the recipe, compiles it
in a first epoch (timed apart: ``first epoch s``) and then trains on request; the parent measures
the configurations of a group in turn, a warm-up round and then ``--rounds`` (≥ 5) kept rounds, each
round at least ``--min-seconds`` of training per side (bench/_rounds.py). A figure is the median of
the rounds with its spread (min–max); a ratio is the median of the per-round ratios, and a side is
called faster or slower than the reference only when every round agrees.

Groups (each compared with the TP1 recipe on tensorflow as dltp trains it, measured in the same rounds):

1. as dltp's TP1 trains it (``compile(steps_per_execution=...)`` from dltp.training: 32 on jax, 1 on
   tensorflow and on torch, which accepts nothing else): dltp's backend preferences rank from it;
2.–4. per backend, the compile settings dltp does not use (jax at one step per execution, tensorflow
   at 32, torch and tensorflow with ``jit_compile=True``), so that the choice stays measured; beside
   jax, the recipe in plain jax without Keras (bench/tp1_jax_step_worker.py): one jitted step per
   batch as Keras' fit does (the cost of Keras' trainer), and a whole epoch per XLA program;
5. with ``--threads N`` (``make bench`` passes it through) every group above runs at N threads, and
   one more at default threads: each backend as `dltp run` trains TP1 (dltp's default thread count)
   against tensorflow with Keras' defaults and its own thread default, as the original course ran it.

Goal: TP1 on its preferred backend >= 2x the same recipe on tensorflow, met only when every round's
ratio is.

    python bench/train_throughput.py [--backends torch jax tensorflow] [--no-variants] [--rounds 5]

"""

# Duration on the 2-core machine at one thread: about 10 minutes (18 workers of ~15 s start each;
# rounds of ~65 s, most of it tensorflow with jit_compile=True, 2.6k samples/s). --no-variants: ~2 min.

from __future__ import annotations

import argparse
import os
import sys

import _rounds
from _common import (BACKENDS, TP1_TRAINING_FLOPS, markdown_table, matmul_gflops, measure_sides, save, thread_env,
                     worker_env)

VARIANTS = {"steps_per_execution=1": ("--steps-per-execution", "1"),
            "steps_per_execution=32": ("--steps-per-execution", "32"), "jit_compile=True": ("--jit", "true")}
DLTP_THREADS_ROW = "as dltp's TP1, dltp's default threads"
TF_DEFAULTS_ROW = "steps_per_execution=1, tensorflow's default threads"
PLAIN_JAX_ROW = "plain jax, no Keras, a step per batch (bench/tp1_jax_step_worker.py)"
PLAIN_JAX_SCAN_ROW = "plain jax, no Keras, data on the device, an epoch per program (--scan)"
DLTP_ROW = "as dltp's TP1"
GOAL = 2.0


def row(backend: str, variant: str = DLTP_ROW, worker: str = "tp1_worker", flags=(), unpinned: bool = False) -> dict:
    return {"backend": backend, "compile": variant, "worker": worker, "flags": list(flags), "unpinned": unpinned}


def groups(backends: list[str], variants: bool, pinned: bool) -> list[tuple[str, list[dict], dict]]:
    """(title, rows, reference row) of every group measured."""
    tf = row("tensorflow")
    out = [("As dltp's TP1 trains it (the backend preferences rank from these rows)", [row(b) for b in backends], tf)]
    if variants:
        if "torch" in backends:
            out.append(("torch: compile settings", [row("torch"), row("torch", "jit_compile=True", flags=VARIANTS[
                "jit_compile=True"]), tf], tf))
        if "jax" in backends:
            out.append(("jax: compile settings, and the recipe without Keras",
                        [row("jax"), row("jax", "steps_per_execution=1", flags=VARIANTS["steps_per_execution=1"]),
                         row("jax", PLAIN_JAX_ROW, "tp1_jax_step_worker"),
                         row("jax", PLAIN_JAX_SCAN_ROW, "tp1_jax_step_worker", ("--scan",)), tf], tf))
        out.append(("tensorflow: compile settings", [tf] + [row("tensorflow", v, flags=VARIANTS[v])
                                                            for v in ("steps_per_execution=32", "jit_compile=True")],
                    tf))
    if pinned:
        original = row("tensorflow", TF_DEFAULTS_ROW, flags=VARIANTS["steps_per_execution=1"], unpinned=True)
        out.append(("Default threads: dltp's own against the original course's tensorflow",
                    [row(b, DLTP_THREADS_ROW, flags=("--dltp-threads",), unpinned=True) for b in backends] + [original],
                    original))
    if "tensorflow" not in backends:  # no reference: compare with the first row
        out = [(title, [r for r in rows if r["backend"] in backends], next(r for r in rows if r["backend"] in backends))
               for title, rows, _ in out if any(r["backend"] in backends for r in rows)]
    return out


def key(r: dict) -> str:
    return f"{r['backend']} | {r['compile']}"


def measure_group(rows: list[dict], reference: dict, rounds: int, min_seconds: float, peak: float) -> list[dict]:
    workers = {}
    for r in rows:
        env = worker_env(r["backend"])
        if r["unpinned"]:  # each library's own thread default
            for name in thread_env(1):
                env.pop(name, None)
        workers[key(r)] = ([sys.executable, "-m", r["worker"], *r["flags"], "--min-seconds", str(min_seconds)], env,
                           {"pinned": not r["unpinned"]})
    got = measure_sides(workers, rounds=rounds)
    ref = got.get(key(reference), {})
    out = []
    for r in rows:
        side = got[key(r)]
        shown = {"backend": r["backend"], "compile": r["compile"]}
        if "error" in side:
            out.append({**shown, "error": side["error"]})
            continue
        s = side["summary"]
        info = side["info"]
        shown.update({"samples_per_s": s, "rounds": side["rounds"], "steps_per_execution": info["steps_per_execution"],
                      "epoch_s": info["epoch_s"], "first_epoch_s": info["first_epoch_s"],
                      "epochs_per_round": info["epochs_per_round"], "threads": info["threads"],
                      "gflops": s["median"] * TP1_TRAINING_FLOPS / 1e9, "peak_rss_mb": side["peak_rss_mb"]})
        shown["pct_of_matmul"] = 100 * shown["gflops"] / peak
        if "rounds" in ref and key(r) != key(reference):
            shown["vs_reference"] = _rounds.ratio(side["rounds"], ref["rounds"])
            shown["verdict"] = _rounds.compared(side["rounds"], ref["rounds"], lower_is_better=False)
        out.append(shown)
    return out


def table(rows: list[dict], reference: dict) -> str:
    shown = [{**r, "samples": _rounds.cell(r.get("samples_per_s")), "ratio": _rounds.cell(r.get("vs_reference")),
              "verdict": r.get("verdict") or ("reference" if r["compile"] == reference["compile"]
                                              and r["backend"] == reference["backend"] else None)}
             for r in rows]
    return markdown_table(shown, [("backend", "backend"), ("compile", "compile"),
                                  ("steps_per_execution", "steps/execution"), ("samples", "samples/s (min–max)"),
                                  ("first_epoch_s", "first epoch s"), ("epochs_per_round", "epochs/round"),
                                  ("threads", "threads"), ("gflops", "GFLOP/s"), ("pct_of_matmul", "% of matmul"),
                                  ("peak_rss_mb", "peak RSS MB"),
                                  ("ratio", f"× {reference['backend']} (min–max)"), ("verdict", "every round"),
                                  *([("error", "error")] if any("error" in r for r in rows) else [])])


def goal_line(rows: list[dict], reference: dict, default_order: list[str]) -> str | None:
    """The goal, read on the backend the rounds rank first among the rows as dltp trains TP1."""
    dltp = {r["backend"]: r["rounds"] for r in rows if "rounds" in r and r["compile"] in (DLTP_ROW, DLTP_THREADS_ROW)}
    ref = next((r for r in rows if (r["backend"], r["compile"]) == (reference["backend"], reference["compile"])
                and "rounds" in r), None)
    if not ref or not dltp:
        return None
    best = _rounds.rank(dltp, default_order, lower_is_better=False)[0]
    r = _rounds.ratio(dltp[best], ref["rounds"])
    against = ref["backend"] + ("" if ref["compile"] == DLTP_ROW else f" ({ref['compile']})")
    return (f"preferred backend (ranked by the rounds): {best}; {best} / {against} = {_rounds.fmt(r)} "
            f"(goal >= {GOAL}x: {_rounds.verdict(r, GOAL)})")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--no-variants", action="store_true", help="only the rows as dltp's TP1 trains it")
    parser.add_argument("--rounds", type=int, default=_rounds.MIN_ROUNDS, help="kept rounds after the warm-up (>= 5)")
    parser.add_argument("--min-seconds", type=float, default=1.5, help="training seconds per side per round")
    args = parser.parse_args(argv)
    peak = matmul_gflops()
    measured = []
    text = [f"TP1 recipe training throughput (dense 784-512-10, Adam, batch 128, 54,000 samples an epoch): median "
            f"(min–max) of {args.rounds} interleaved rounds after a warm-up round, ≥ {args.min_seconds} s of "
            f"training per side per round; matmul {peak:.1f} GFLOP/s; {os.cpu_count()} CPUs"]
    goals = []
    for title, rows, reference in groups(args.backends, not args.no_variants, bool(os.environ.get("DLTP_THREADS"))):
        print(f"== {title}", file=sys.stderr, flush=True)
        got = measure_group(rows, reference, args.rounds, args.min_seconds, peak)
        measured.append({"title": title, "reference": reference, "rows": got})
        text += [f"\n{title}:\n", table(got, reference)]
        if title.startswith(("As dltp's", "Default threads")):
            line = goal_line(got, reference, [b for b in BACKENDS if b in args.backends])
            if line:
                goals.append(f"{title.split(':')[0].split(' (')[0]}: {line}")
    text += ["", *[f"- {g}" for g in goals]]
    print("\n".join(text))
    first = measured[0]["rows"] if measured else []
    ranking = {"dense": {r["backend"]: r["rounds"] for r in first if "rounds" in r}}
    save("train_throughput", {"rounds": args.rounds, "min_seconds": args.min_seconds, "matmul_gflops": peak,
                              "groups": measured, "ranking": ranking, "goals": goals}, "\n".join(text))
    return {"groups": measured}


if __name__ == "__main__":
    main()
