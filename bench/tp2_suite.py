"""`dltp run tp2` against the four original TP2 recipes run one after another
(bench/tp2_original_worker.py, one process per recipe, as the course's scripts were run), like for
like: the same backend on both sides (tensorflow, the original scripts', unless ``--backend``), the
same data, the same threads (both sides pinned to ``--threads``, default every core, as the
original ran), the same epochs per model (``--epochs``, every recipe).

A round runs both sides, one after the other; a warm-up round is thrown away, then ``--rounds``
(≥ 5) are kept, the sides interleaved (bench/_rounds.py). Two figures per side and round:

- **training seconds per epoch**, like for like: the seconds the sides' fits took (validation
  included) over the epochs they trained; dltp's fits are its runs' ``train_seconds``, without
  the run its MLflow store tags as logged from another's first epochs (``tp2.first_epochs_of``);
- **wall seconds** of the whole side, which differ by design (see "what differs" in the output):
  dltp trains the Adam model of ex. 3 once, as the first epochs of ex. 1's baseline (the same
  training), and tracks every model in MLflow with its diagnosis and figures.

Per figure: median and spread of the rounds, and the per-round ratio dltp / original, called faster
or slower only when every round agrees. The original budgets (15/15/10×3/10 epochs, ``--epochs
0``) are too long to repeat in rounds: the default compares per-epoch seconds over rounds of a
shorter training, 2 epochs per model.

    python bench/tp2_suite.py                       # 2 epochs per model, tensorflow, 5 rounds
    python bench/tp2_suite.py --epochs 0            # the original budgets (hours with the rounds)
    python bench/tp2_suite.py --backend torch       # both sides on torch
    python bench/tp2_suite.py --threads 1           # both sides pinned to one compute thread
"""

# Duration on the 2-core machine: about 2.5 minutes a round at 2 epochs per model (12 + 10 epochs of
# Fashion-MNIST and five process starts), about 15 minutes with the warm-up and 5 rounds. The
# original budgets take ~16 minutes a round, ~100 minutes with the rounds.

from __future__ import annotations

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
import _rounds  # noqa: E402
from _common import bind_to_threads, markdown_table, pythonpath, save, thread_env  # noqa: E402

RECIPES = ("diagnose", "regularize", "optimizers", "batchnorm")
EVERY_ROUND = {"faster": "faster in every round", "slower": "slower in every round",
               "inside the spread": "inside the spread"}


def timed(cmd: list[str], env: dict, cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, preexec_fn=bind_to_threads)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    return seconds, out.stdout


class Original:
    """The four recipes, one process each, one after another."""

    def __init__(self, a, env: dict, work: Path):
        self.a, self.work, self.runs = a, work, []
        self.env = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{work}/original.db"}

    def run(self) -> None:
        budget = ["--epochs", str(self.a.epochs)] if self.a.epochs else []
        wall, train_s, epochs, accuracy = 0.0, 0.0, 0, {}
        for recipe in RECIPES:
            seconds, out = timed([sys.executable, str(ROOT / "bench" / "tp2_original_worker.py"), recipe,
                                  "--dataset", self.a.dataset, *budget], self.env, self.work)
            trained = json.loads(out.strip().splitlines()[-1])
            wall += seconds
            train_s += trained["train_s"]
            epochs += trained["epochs"]
            accuracy.update(trained["test_accuracy"])
        self.runs.append({"wall_s": wall, "train_s": train_s, "epochs": epochs, "test_accuracy": accuracy})
        print(f"  original recipes  {wall:7.1f} s, {train_s / epochs:5.2f} s/epoch", file=sys.stderr, flush=True)


class Dltp:
    """`dltp run tp2`, its models' fits read from its JSON and its MLflow store."""

    def __init__(self, a, env: dict, work: Path):
        self.a, self.work, self.runs = a, work, []
        self.uri = f"sqlite:///{work}/dltp.db"
        self.env = {**env, "MLFLOW_TRACKING_URI": self.uri}

    def run(self) -> None:
        budget = ["--epochs", str(self.a.epochs)] if self.a.epochs else []
        wall, out = timed([sys.executable, "-m", "dltp", "run", "tp2", "--dataset", self.a.dataset, *budget,
                           "--backend", self.a.backend, "--json"], self.env, self.work)
        result = json.loads(out.strip().splitlines()[-1])
        trained = [r for r in result["runs"] if not self.replayed(r["run_id"])]
        train_s = sum(r["train_seconds"] for r in trained)
        epochs = sum(r["epochs"] for r in trained)
        self.runs.append({"wall_s": wall, "train_s": train_s, "epochs": epochs, "models_trained": len(trained),
                          "models_logged": len(result["runs"]),
                          "test_accuracy": {r["variant"]: r["test_accuracy"] for r in result["runs"]}})
        print(f"  dltp run tp2      {wall:7.1f} s, {train_s / epochs:5.2f} s/epoch", file=sys.stderr, flush=True)

    def replayed(self, run_id: str) -> bool:
        import mlflow

        return "tp2.first_epochs_of" in mlflow.MlflowClient(self.uri).get_run(run_id).data.tags


def differences(a, original: dict, dltp: dict) -> str:
    budget = (f"{a.epochs} epoch{'s' if a.epochs > 1 else ''} per model" if a.epochs
              else "the original budgets (15/15/10×3/10)")
    return (f"Same on both sides: the {a.backend} backend, {a.dataset} (the first 90 % of its training split to "
            "train, the rest to validate, its test split to score), "
            f"{a.threads} compute thread(s) bound to as many CPUs, {budget}, batch 128, the models and optimizers. "
            f"What differs: dltp trains {dltp['models_trained']} models ({dltp['epochs']} epochs) and logs "
            f"{dltp['models_logged']}: ex. 3's Adam model is the same training as ex. 1's baseline, logged from its "
            f"first epochs; the original scripts train 6 models ({original['epochs']} epochs). dltp is one process "
            "that tracks every model in MLflow with its diagnosis, figures and a comparison; the original scripts "
            "are four processes that save four figures and log ex. 3's three models to MLflow. The per-epoch "
            "figure is like for like; the wall time is what each side takes to answer the four exercises.")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--epochs", type=int, default=2, help="every recipe this many epochs, both sides; 0: the original "
                   "budgets")
    p.add_argument("--backend", default="tensorflow", help="both sides' backend (the original scripts': tensorflow)")
    p.add_argument("--threads", type=int, help="compute threads of both sides (default: DLTP_THREADS, else every core)")
    p.add_argument("--rounds", type=int, default=_rounds.MIN_ROUNDS, help="kept rounds after the warm-up (>= 5)")
    a = p.parse_args(argv)
    a.threads = a.threads or int(os.environ.get("DLTP_THREADS") or os.cpu_count() or 1)
    work = Path(tempfile.mkdtemp(prefix="tp2-bench-"))
    env = {**os.environ, **thread_env(a.threads), "PYTHONPATH": pythonpath(), "KERAS_BACKEND": a.backend,
           "MLFLOW_DISABLE_TELEMETRY": "true", "TF_CPP_MIN_LOG_LEVEL": "2"}
    original, dltp = Original(a, env, work), Dltp(a, env, work)

    def side(runner):
        def measure() -> float:
            runner.run()
            last = runner.runs[-1]
            return last["train_s"] / last["epochs"]
        return measure

    print("warm-up round, then the kept rounds:", file=sys.stderr, flush=True)
    per_epoch = _rounds.interleaved({"original": side(original), "dltp": side(dltp)},
                                    rounds=a.rounds)
    kept = {"original": original.runs[1:], "dltp": dltp.runs[1:]}  # the warm-up round is not kept
    wall = {name: [r["wall_s"] for r in runs] for name, runs in kept.items()}
    rows = []
    for name, title in (("original", "four original recipes, one process each"), ("dltp", "`dltp run tp2`")):
        runs = kept[name]
        rows.append({"side": title, "epochs": runs[-1]["epochs"], "wall": _rounds.cell(_rounds.summary(wall[name])),
                     "per_epoch": _rounds.cell(_rounds.summary(per_epoch[name]))})
    epoch_ratio = _rounds.ratio(per_epoch["dltp"], per_epoch["original"])
    wall_ratio = _rounds.ratio(wall["dltp"], wall["original"])
    epoch_verdict = EVERY_ROUND[_rounds.compared(per_epoch["dltp"], per_epoch["original"])]
    wall_verdict = EVERY_ROUND[_rounds.compared(wall["dltp"], wall["original"])]
    rows.append({"side": "**dltp / original**", "per_epoch": f"{_rounds.cell(epoch_ratio)}: {epoch_verdict}",
                 "wall": f"{_rounds.cell(wall_ratio)}: {wall_verdict}"})
    table = markdown_table(rows, [("side", "side"), ("epochs", "epochs trained"),
                                  ("per_epoch", "training s per epoch (min–max)"), ("wall", "wall s (min–max)")])
    note = (f"TP2, both sides on {a.backend}: median (min–max) of {a.rounds} interleaved rounds after a warm-up "
            f"round; {os.cpu_count()} CPUs. Training seconds per epoch, dltp / original = {_rounds.fmt(epoch_ratio)} "
            f"(dltp {epoch_verdict}); wall time, dltp / original = {_rounds.fmt(wall_ratio)} (dltp {wall_verdict})")
    text = f"{note}\n\n{table}\n\n{differences(a, kept['original'][-1], kept['dltp'][-1])}"
    print(text)
    save("tp2_suite", {"backend": a.backend, "dataset": a.dataset, "epochs": a.epochs or "original",
                       "threads": a.threads, "rounds": a.rounds,
                       "per_epoch_s": {k: _rounds.summary(v) for k, v in per_epoch.items()},
                       "wall_s": {k: _rounds.summary(v) for k, v in wall.items()},
                       "per_epoch_ratio": epoch_ratio, "wall_ratio": wall_ratio, "runs": kept}, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
