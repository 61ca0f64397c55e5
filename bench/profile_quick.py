"""Where a quick run's seconds go: every quick experiment's wall and CPU time split into start-up
(imports), data, compile/first step, training, evaluation, figures, tracking and the lab's other
code, for a first run (empty compilation cache) and a second run (the same cache and MLflow store).

The experiments run as `dltp run all --quick --jobs 1` runs them: one process per backend (each
experiment on auto's choice), one after another; then the results page is built, as `dltp run all`
does at its end. Each process is this script's worker, which wraps, without changing them, the
functions where each kind of work happens (dltp.data loaders, Keras fit/evaluate/predict, dltp.plots
and savefig, MLflow and dltp.tracking, every import) and charges each moment to the innermost
one: a figure drawn inside fit counts as figures, an import inside tracking as imports. In fit, the
time to the end of the first training batch (and of the first validation batch) is "compile/first
step". The process's start (Python, before the worker's first line) and its exit are rows of their
own. On jax, XLA's compile seconds and the compilation cache's hits and writes come from
jax.monitoring.

    python bench/profile_quick.py                   # every quick experiment, first and second run
    python bench/profile_quick.py --only tp1 tp3    # some experiments (lab ids allowed)
    python bench/profile_quick.py --backend jax     # every experiment on jax (profile_quick_jax)
    python bench/profile_quick.py --no-save         # print, do not write bench/results/runs/

CPU seconds (user + system, every thread) are the figures to compare on a shared machine, with
DLTP_THREADS=1 (threads that wait for a busy core spin and inflate them); wall seconds are
meaningful only on a quiet one.
"""

from __future__ import annotations

import argparse
import builtins
import functools
import importlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CATEGORIES = ("imports", "data", "compile/first step", "training", "evaluation", "figures", "tracking", "lab code")
LAB_OWN = ("training", "evaluation")  # the lab's own work; "lab code" is its other Python (model building, loops)
PROCESS = "(process)"  # work of a process outside any experiment


# --- the worker: categories by wrapping --------------------------------------------------------

class Profile:
    """Wall and CPU seconds per (experiment, category); the innermost category gets each moment."""

    def __init__(self):
        self.unit = PROCESS
        self.stack = ["lab code"]
        self.totals: dict[str, dict[str, list[float]]] = {}
        self.jax: dict[str, dict[str, float]] = {}
        self.packages: dict[str, dict[str, float]] = {}  # CPU seconds of outermost imports, by package
        self._mark = (time.perf_counter(), time.process_time())
        self._children = 0.0  # CPU seconds of finished child processes so far

    def _charge(self) -> None:
        now = (time.perf_counter(), time.process_time())
        cell = self.totals.setdefault(self.unit, {}).setdefault(self.stack[-1], [0.0, 0.0])
        cell[0] += now[0] - self._mark[0]
        cell[1] += now[1] - self._mark[1]
        self._mark = now

    def push(self, category: str) -> None:
        self._charge()
        self.stack.append(category)

    def pop(self) -> None:
        self._charge()
        self.stack.pop()

    def replace(self, category: str) -> None:
        self._charge()
        self.stack[-1] = category

    def enter_unit(self, unit: str) -> None:
        """From now on, charge ``unit``; the CPU of the child processes the previous one ran (tp4.memory
        measures in children) is its "lab code"."""
        self._charge()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = children.ru_utime + children.ru_stime
        if self.unit != PROCESS and cpu > self._children:
            self.totals.setdefault(self.unit, {}).setdefault("lab code", [0.0, 0.0])[1] += cpu - self._children
        self._children = cpu
        self.unit = unit

    def imported(self, name: str, cpu_s: float) -> None:
        cell = self.packages.setdefault(self.unit, {})
        root = name.split(".")[0]
        cell[root] = cell.get(root, 0.0) + cpu_s

    def count_jax(self, key: str, value: float = 1.0) -> None:
        cell = self.jax.setdefault(self.unit, {})
        cell[key] = cell.get(key, 0.0) + value

    def wrap(self, func, category: str, *, unless=()):
        """``func`` charging its time to ``category`` (not when called inside one of ``unless``)."""
        if getattr(func, "_profiled", False):
            return func

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if self.stack[-1] in unless:
                return func(*args, **kwargs)
            self.push(category)
            try:
                return func(*args, **kwargs)
            finally:
                self.pop()

        wrapper._profiled = True
        return wrapper


P = Profile()
INSIDE_RECORDING = ("tracking", "figures")  # a predict inside signature inference is tracking's work


def _patch_module_functions(module, category: str) -> None:
    for name, value in list(vars(module).items()):
        if callable(value) and not name.startswith("_") and getattr(value, "__module__", None) == module.__name__ \
                and not isinstance(value, type):
            setattr(module, name, P.wrap(value, category))


def _patch_imports() -> None:
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def counted(load, name, *args):
        outermost = P.stack[-1] != "imports"
        cpu = time.process_time()
        P.push("imports")
        try:
            return load(name, *args)
        finally:
            P.pop()
            if outermost:
                P.imported(name if not name.startswith(".") else "dltp", time.process_time() - cpu)
            _after_import()

    def counted_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and not fromlist and name in sys.modules:
            return real_import(name, globals, locals, fromlist, level)
        return counted(real_import, name, globals, locals, fromlist, level)

    def counted_import_module(name, package=None):
        if name in sys.modules:
            return real_import_module(name, package)
        return counted(real_import_module, name, package)

    builtins.__import__ = counted_import
    importlib.import_module = counted_import_module


_patched: set[str] = set()


def _after_import() -> None:
    """Wrap each library once it is imported (keras, mlflow, matplotlib, jax)."""
    keras = sys.modules.get("keras")
    if "keras" not in _patched and hasattr(getattr(keras, "callbacks", None), "Callback") \
            and hasattr(getattr(keras, "Model", None), "fit"):
        _patched.add("keras")
        _patch_keras(keras)
    if "training" not in _patched and hasattr(sys.modules.get("dltp.training"), "EpochCheckpoint"):
        _patched.add("training")
        training = sys.modules["dltp.training"]
        training.EpochCheckpoint.on_epoch_end = P.wrap(training.EpochCheckpoint.on_epoch_end, "tracking")
        training.load_checkpoint = P.wrap(training.load_checkpoint, "tracking")
    if "mlflow" not in _patched and hasattr(sys.modules.get("mlflow.tracking"), "MlflowClient") \
            and hasattr(sys.modules.get("mlflow"), "register_model"):
        _patched.add("mlflow")
        _patch_mlflow(sys.modules["mlflow"])
    if "matplotlib" not in _patched and hasattr(sys.modules.get("matplotlib.figure"), "Figure"):
        _patched.add("matplotlib")
        figure = sys.modules["matplotlib.figure"].Figure
        figure.savefig = P.wrap(figure.savefig, "figures")
    if "jax" not in _patched and hasattr(sys.modules.get("jax.monitoring"), "register_event_duration_secs_listener"):
        _patched.add("jax")
        monitoring = sys.modules["jax.monitoring"]
        monitoring.register_event_listener(lambda event, **_: P.count_jax(event.rsplit("/", 1)[-1]))
        monitoring.register_event_duration_secs_listener(
            lambda event, seconds, **_: P.count_jax(event.rsplit("/", 1)[-1] + "_s", seconds))


def _patch_keras(keras) -> None:
    model = keras.Model

    class FirstSteps(keras.callbacks.Callback):
        """Moves the clock from "compile/first step" on at the end of each kind's first batch."""

        def __init__(self, first: str):
            super().__init__()
            self.train_seen = self.test_seen = False
            self.first = first  # "training" inside fit; "evaluation" for evaluate/predict
            self.in_test = False

        def on_train_batch_end(self, batch, logs=None):
            if not self.train_seen:
                self.train_seen = True
                P.replace("training")

        def on_test_begin(self, logs=None):
            if self.first == "training" and not self.test_seen:  # fit's first validation
                P.push("compile/first step")
                self.in_test = True

        def _first_eval_batch(self):
            if self.first == "training":
                if self.in_test and not self.test_seen:
                    self.test_seen, self.in_test = True, False
                    P.pop()
            elif not self.test_seen:
                self.test_seen = True
                P.replace("evaluation")

        def on_test_batch_end(self, batch, logs=None):
            self._first_eval_batch()

        def on_predict_batch_end(self, batch, logs=None):
            self._first_eval_batch()

        def on_test_end(self, logs=None):
            if self.in_test:  # no batch: leave the first-step category
                self.in_test = False
                P.pop()

    seen: set[tuple[int, str]] = set()  # (model, method) already called once

    def with_probe(func, category: str):
        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            if P.stack[-1] in INSIDE_RECORDING or P.stack[-1] in ("training", "compile/first step"):
                return func(self, *args, **kwargs)  # fit's validation, or a predict for a signature
            key = (id(self), func.__name__)
            if category == "evaluation" and key in seen:  # compiled by an earlier call: all of it counts
                P.push("evaluation")
            else:
                seen.add(key)
                callbacks = kwargs.get("callbacks")
                if callbacks is None or isinstance(callbacks, (list, tuple)):
                    kwargs["callbacks"] = [*(callbacks or []), FirstSteps(category)]
                P.push("compile/first step")
            try:
                return func(self, *args, **kwargs)
            finally:
                P.pop()

        wrapper._profiled = True
        return wrapper

    model.fit = with_probe(model.fit, "training")
    model.evaluate = with_probe(model.evaluate, "evaluation")
    model.predict = with_probe(model.predict, "evaluation")


def _patch_mlflow(mlflow) -> None:
    for name in ("set_tracking_uri", "set_experiment", "start_run", "end_run", "log_metric", "log_metrics",
                 "log_param", "log_params", "set_tag", "set_tags", "log_artifact", "log_artifacts", "log_dict",
                 "log_text", "log_figure", "log_image", "log_table", "log_input", "search_runs",
                 "search_experiments", "get_run", "register_model"):
        if hasattr(mlflow, name):
            setattr(mlflow, name, P.wrap(getattr(mlflow, name), "tracking"))
    client = sys.modules["mlflow.tracking"].MlflowClient
    for name, value in list(vars(client).items()):
        if callable(value) and not name.startswith("_"):
            setattr(client, name, P.wrap(value, "tracking"))
    models = importlib.import_module("mlflow.models")
    models.Model.log = classmethod(P.wrap(models.Model.log.__func__, "tracking"))
    artifacts = importlib.import_module("mlflow.artifacts")
    artifacts.download_artifacts = P.wrap(artifacts.download_artifacts, "tracking")


def _patch_dltp() -> None:
    """dltp's own modules, before any lab imports names from them (dltp.training, which imports keras,
    once the backend is chosen: _after_import)."""
    import pkgutil

    import dltp.data
    from dltp import plots, tracking

    for info in pkgutil.iter_modules(dltp.data.__path__):
        module = importlib.import_module(f"dltp.data.{info.name}")
        _patch_module_functions(module, "data")
    _patch_module_functions(dltp.data, "data")
    _patch_module_functions(plots, "figures")
    for name in ("git_commit", "log_metrics", "log_figure", "log_json", "log_text", "log_keras_model",
                 "log_mlflow_keras_model", "metric_history", "register_model", "client"):
        setattr(tracking, name, P.wrap(getattr(tracking, name), "tracking"))


def process_age() -> float:
    """Seconds since this process started (the kernel's start time), to count Python's own start."""
    with open("/proc/self/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


def worker(out: Path, backend: str | None, units: list[str]) -> int:
    """Run ``units`` on ``backend`` as `dltp run` does (or build the results page when ``units`` is
    empty), and write the profile to ``out``."""
    started = {"wall": process_age(), "cpu": time.process_time()}  # Python's start, before this line
    P._mark = (time.perf_counter(), time.process_time())
    _patch_imports()
    _patch_dltp()
    from dltp import cli

    real_run_here = cli._run_here

    def run_here(unit, *args, **kwargs):
        P.enter_unit(unit)
        try:
            return real_run_here(unit, *args, **kwargs)
        finally:
            P.enter_unit(PROCESS)

    cli._run_here = run_here
    if units:
        sys.argv = ["dltp", "run", *units, "--quick", "--backend", backend, "--jobs", "1", "--json"]
        code = cli.main()  # as from the command line
    else:
        from dltp import report

        P.enter_unit("results page")
        report.build(Path(report.DEFAULT_OUTPUT))
        P.enter_unit(PROCESS)
        code = 0
    P.enter_unit(PROCESS)
    out.write_text(json.dumps({"code": code, "start": started, "totals": P.totals, "jax": P.jax,
                               "imports_by_package": P.packages,
                               "end_wall": process_age(), "end_cpu": time.process_time(),
                               "children_cpu": P._children}))
    sys.stdout.flush()
    return code


# --- the driver --------------------------------------------------------------------------------

def quick_plan(units: list[str], backend: str | None = None) -> tuple[list[tuple[str, list[str]]], list[dict]]:
    """(backend, experiments) per process, as `dltp run all --quick --jobs 1 [--backend NAME]` runs them,
    and each experiment's choice (kept in the record: bench/_provenance.py checks it against auto's)."""
    sys.path.insert(0, str(ROOT / "src"))
    from dltp import backends, lanes

    preferences = backends.load_preferences()
    choice = {u: backends.resolve(u, flag=backend, env=None, quick=True, preferences=preferences) for u in units}
    backend_of = {u: c.backend for u, c in choice.items()}
    (lane,) = lanes.plan(units, backend_of, 1, lambda u, b: lanes.estimate(u, b, True, preferences))
    choices = [{"experiment": u, "backend": c.backend, "backend_choice": c.reason} for u, c in choice.items()]
    return [(batch.backend, batch.units) for batch in lane], choices


def run_process(backend: str | None, units: list[str], work: Path, env: dict, log) -> dict:
    out = work / "profile.json"
    out.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--worker", str(out), backend or "-", *units],
                          cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode or not out.exists():
        sys.exit(f"{backend} {' '.join(units)} failed (exit {proc.returncode}); see {log.name}")
    profile = json.loads(out.read_text())
    profile.update(process_wall=wall, process_cpu=cpu, backend=backend, units=units)
    return profile


def rows_of(profile: dict) -> dict[str, dict]:
    """Per experiment (and per process: its start, its own work, its exit): categories in seconds."""
    rows = {}
    for unit, cells in profile["totals"].items():
        if unit == PROCESS:
            continue
        rows[unit] = {"backend": profile["backend"], "categories": {c: {"wall": w, "cpu": u}
                                                                    for c, (w, u) in cells.items()},
                      "jax": profile["jax"].get(unit, {}),
                      "imports_by_package": _rounded(profile["imports_by_package"].get(unit, {}))}
    own = profile["totals"].get(PROCESS, {})
    label = f"process {profile['backend'] or 'report'} ({', '.join(profile['units']) or 'results page'})"
    exit_wall = max(0.0, profile["process_wall"] - profile["end_wall"])
    exit_cpu = max(0.0, profile["process_cpu"] - profile["end_cpu"] - profile["children_cpu"])
    categories = {"start-up (Python)": {"wall": profile["start"]["wall"], "cpu": profile["start"]["cpu"]},
                  **{c: {"wall": w, "cpu": u} for c, (w, u) in own.items()},
                  "exit": {"wall": exit_wall, "cpu": exit_cpu}}
    rows[label] = {"backend": profile["backend"], "categories": categories, "jax": profile["jax"].get(PROCESS, {}),
                   "imports_by_package": _rounded(profile["imports_by_package"].get(PROCESS, {}))}
    return rows


def _rounded(cpu_by_package: dict[str, float], least: float = 0.05) -> dict[str, float]:
    """The packages whose import took at least ``least`` CPU seconds, costliest first."""
    kept = sorted(((p, round(s, 2)) for p, s in cpu_by_package.items() if s >= least), key=lambda x: -x[1])
    return dict(kept)


def summarise(rows: dict[str, dict]) -> dict:
    for row in rows.values():
        cats = row["categories"]
        row["wall"] = sum(c["wall"] for c in cats.values())
        row["cpu"] = sum(c["cpu"] for c in cats.values())
        own = sum(cats.get(c, {}).get("cpu", 0.0) for c in LAB_OWN)
        row["lab_own_cpu_share"] = own / row["cpu"] if row["cpu"] else None
    totals: dict[str, dict[str, float]] = {}
    for row in rows.values():
        for cat, cell in row["categories"].items():
            t = totals.setdefault(cat, {"wall": 0.0, "cpu": 0.0})
            t["wall"] += cell["wall"]
            t["cpu"] += cell["cpu"]
    return totals


def table(runs: dict[str, dict]) -> str:
    lines = []
    for name, run in runs.items():
        cats = list(dict.fromkeys(c for row in run["rows"].values() for c in row["categories"]))
        order = [c for c in ("start-up (Python)", *CATEGORIES) if c in cats] + \
                [c for c in cats if c not in CATEGORIES and c != "start-up (Python)"]
        lines.append(f"\n{name} run: CPU seconds (wall seconds in the last columns)\n")
        lines.append("| experiment | backend | " + " | ".join(order) + " | CPU | wall | lab's own share |")
        lines.append("|" + "---|" * (len(order) + 5))
        for unit, row in run["rows"].items():
            cells = [f"{row['categories'].get(c, {}).get('cpu', 0.0):.2f}" for c in order]
            share = f"{row['lab_own_cpu_share']:.0%}" if row["lab_own_cpu_share"] is not None else "—"
            lines.append(f"| {unit} | {row['backend'] or '—'} | " + " | ".join(cells)
                         + f" | {row['cpu']:.1f} | {row['wall']:.1f} | {share} |")
        total_cpu = sum(t["cpu"] for t in run["totals"].values())
        total_wall = sum(t["wall"] for t in run["totals"].values())
        lines.append("| **total** | | " + " | ".join(f"{run['totals'].get(c, {}).get('cpu', 0.0):.2f}" for c in order)
                     + f" | {total_cpu:.1f} | {total_wall:.1f} | |")
        lines.append("\nimports by package (CPU s): " + "; ".join(
            f"{unit}: " + ", ".join(f"{p} {v:.1f}" for p, v in list(row["imports_by_package"].items())[:5])
            for unit, row in run["rows"].items() if row["imports_by_package"]))
        lines.append(f"\nlargest costs that are not the lab's own training and evaluation (CPU s): "
                     + ", ".join(f"{c} {s:.1f}" for c, s in largest_not_lab(run["totals"])))
    return "\n".join(lines)


def largest_not_lab(totals: dict, count: int = 3) -> list[tuple[str, float]]:
    others = {c: t["cpu"] for c, t in totals.items() if c not in LAB_OWN and c != "lab code"}
    return sorted(others.items(), key=lambda item: -item[1])[:count]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="ID", help="experiments or labs (default: all)")
    parser.add_argument("--backend", help="every experiment on this backend (default: auto's choice for each)")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        out, backend, *units = args.worker
        return worker(Path(out), None if backend == "-" else backend, units)
    sys.path.insert(0, str(ROOT / "src"))
    from dltp import registry

    units = list(dict.fromkeys(u for target in (args.only or ["all"]) for u in registry.plan(target)))
    plan, choices = quick_plan(units, args.backend)
    work = Path(tempfile.mkdtemp(prefix="profile-quick-"))
    cache = work / "cache"
    sys.path.insert(0, str(HERE))
    from _common import pythonpath  # keeps bench/_hook on the path: a record lists what the runs read

    env = {**os.environ, "PYTHONPATH": pythonpath(), "DLTP_CACHE_DIR": str(cache),
           "MLFLOW_TRACKING_URI": f"sqlite:///{work}/mlflow.db", "DLTP_JOBS": "1", "PYTHONUNBUFFERED": "1"}
    env.setdefault("DLTP_OFFLINE", "1")
    env.pop("KERAS_BACKEND", None)
    runs = {}
    described = "; ".join(f"{backend}: {', '.join(batch)}" for backend, batch in plan)
    print(f"plan: {described}\nwork directory: {work}", flush=True)
    for name in ("first", "second"):  # the second reuses the first's cache and MLflow store
        rows: dict[str, dict] = {}
        with open(work / f"{name}.log", "w") as log:
            for backend, batch in plan:
                print(f"{name} run: {backend} {' '.join(batch)}", flush=True)
                rows.update(rows_of(run_process(backend, batch, work, env, log)))
            if args.only is None:
                rows.update(rows_of(run_process(None, [], work, env, log)))
        runs[name] = {"rows": rows, "totals": summarise(rows)}
    text = table(runs)
    print(text)
    payload = {"experiments": units, "plan": plan, "choices": choices, "threads": os.environ.get("DLTP_THREADS") or "dltp's default",
               "cpus": len(os.sched_getaffinity(0)), "load_average_end": os.getloadavg(), "runs": runs,
               "largest_not_lab_cpu_s": {name: largest_not_lab(run["totals"]) for name, run in runs.items()}}
    if not args.no_save:
        from _common import save

        save("profile_quick" + (f"_{args.backend}" if args.backend else ""), payload, text)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
