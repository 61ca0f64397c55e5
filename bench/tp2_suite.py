"""Whole `dltp run tp2` against the four original TP2 recipes run one after another on the
tensorflow backend (bench/tp2_original_worker.py, one process per recipe, as the scripts were run),
side by side in one invocation on the same machine and data.

    python bench/tp2_suite.py                       # the original budgets (15/15/10×3/10 epochs)
    python bench/tp2_suite.py --epochs 2            # reduced: every recipe 2 epochs, both sides
    python bench/tp2_suite.py --backend tensorflow  # dltp on another backend (default: torch)
    python bench/tp2_suite.py --threads 1           # both sides pinned to one compute thread
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import thread_env  # noqa: E402


def timed(cmd, env):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=env["BENCH_CWD"])
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    return seconds, out.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--epochs", type=int, help="reduced budget: every recipe this many epochs, both sides")
    p.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "torch"), help="dltp's backend")
    p.add_argument("--threads", type=int, help="compute threads for both sides (default: the libraries')")
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="tp2-bench-")
    base = {**os.environ, **thread_env(a.threads), "PYTHONPATH": str(ROOT / "src"), "BENCH_CWD": work, "MLFLOW_DISABLE_TELEMETRY": "true",
            "MLFLOW_TRACKING_URI": f"sqlite:///{work}/mlflow.db"}
    budget = ["--epochs", str(a.epochs)] if a.epochs else []

    original = {}
    env = {**base, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    for recipe in ("diagnose", "regularize", "optimizers", "batchnorm"):
        original[recipe], _ = timed([sys.executable, str(ROOT / "bench" / "tp2_original_worker.py"), recipe,
                                     "--dataset", a.dataset, *budget], env)
        print(f"original {recipe:<11} tensorflow {original[recipe]:8.1f} s", flush=True)
    total_original = sum(original.values())

    env = {**base, "KERAS_BACKEND": a.backend}
    dltp_seconds, out = timed([sys.executable, "-m", "dltp", "run", "tp2", "--dataset", a.dataset, *budget, "--json"],
                              env)
    result = json.loads(out.strip().splitlines()[-1])
    Path(work, "dltp_tp2.json").write_text(json.dumps(result, indent=1))
    print(f"dltp run tp2 {a.backend:<10} {dltp_seconds:8.1f} s", flush=True)

    print()
    print(f"| side | backend | epochs | wall s |")
    print(f"|---|---|---|---|")
    label = f"{a.epochs} per recipe" if a.epochs else "15/15/10×3/10 (original)"
    print(f"| four original recipes, one after another | tensorflow | {label} | {total_original:.1f} |")
    print(f"| `dltp run tp2` (6 tracked runs, 5 trained, + comparison) | {a.backend} | {label} | {dltp_seconds:.1f} |")
    print(f"\nratio dltp / original = {dltp_seconds / total_original:.3f}  (dataset {a.dataset}, "
          f"{os.cpu_count()} CPUs, {a.threads or os.environ.get('OMP_NUM_THREADS') or 'default'} thread(s); dltp JSON and MLflow store in {work}; dltp test accuracies: "
          + ", ".join(f"{r['variant']} {r['test_accuracy']:.4f}" for r in result["runs"]) + ")")


if __name__ == "__main__":
    main()
