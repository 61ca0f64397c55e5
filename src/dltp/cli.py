"""The `dltp` command: list, run, ui, and the commands the labs add (serve, sweep, report, paper).

Exit codes: 0 success, 1 an experiment failed, 2 bad usage or input (a clear message, never a
stack trace), 130 interrupted (Ctrl-C or SIGTERM; the MLflow run is marked KILLED).
"""

# `dltp run` is here whole (its checks, its plan from dltp.lanes, the run in this process or in
# children, the table it ends with), so that it reads in one place.

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from dltp import registry
from dltp.child import ChildExit
from dltp.errors import DltpError

# Commands implemented in their own modules: each exposes add_arguments(parser) and main(args)
# and keeps its heavy imports inside main, so that building the parser stays instant.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("dltp.serve.cli", "serve a model over HTTP (gunicorn; drawing page, metrics)"),
    "sweep": ("dltp.sweep.cli", "a grid of TP2 models as an Optuna study, every trial an MLflow run"),
    "report": ("dltp.report", "results page (HTML + Markdown) from the MLflow store"),
    "paper": ("dltp.research.paper", "the TP5 research paper (PDF, or .tex without LaTeX) from results.json"),
}


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _public(result: dict) -> dict:
    """Drop bulky arrays from a result before printing; keep every scalar figure."""
    import numpy as np

    out = {}
    for key, value in result.items():
        if isinstance(value, np.ndarray) and value.size > 64:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        out[key] = _public(value) if isinstance(value, dict) else value
    return out


def _summary(result: dict) -> str:
    from dltp.labs import targets

    skip = {"experiment", "run_id", "dataset", "backend", "dataset_fallback", "device", "threads", "seconds",
            "backend_choice", "target_met", "compilation_cache"}
    figures = [f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
               for k, v in result.items() if k not in skip and isinstance(v, (int, float, str))][:8]
    where = f"{result.get('dataset', '?')}{' (fallback)' if result.get('dataset_fallback') else ''}"
    run = f" run {result['run_id']}" if result.get("run_id") else ""
    device = result.get("device", "cpu")
    verdict = f"; {targets.summary(result)}" if "target_met" in result else ""
    return (f"{result.get('experiment')}: {', '.join(figures)} "
            f"[{where}, {result.get('backend', '?')} on {device}]{run}{verdict}")


def cmd_list(args) -> int:
    width = max(len(e.id) for e in registry.EXPERIMENTS)
    for exp in registry.in_order():
        print(f"{exp.id:<{width}}  {exp.lab.upper():<4}  {exp.description}")
    print(f"{'all':<{width}}  ---   every experiment above; a lab id (e.g. tp2) runs that lab")
    return 0


def _backend_for(unit: str, args, preferences: dict):
    """The backend that runs ``unit`` (dltp.backends: flag, then the user's KERAS_BACKEND, then auto).
    A resumed run keeps the backend it was started on unless the flag says otherwise."""
    from dltp import backends

    if args.resume and not args.backend and not backends.user_backend():
        logged = _logged_backend(args.resume)
        if logged:
            return backends.resolve(unit, flag=logged, env=None)
    return backends.resolve(unit, flag=args.backend, env=backends.user_backend(), quick=args.quick,
                            preferences=preferences)


def _logged_backend(run_id: str) -> str | None:
    from mlflow.exceptions import MlflowException

    from dltp import tracking

    try:
        return tracking.client().get_run(run_id).data.params.get("backend")
    except MlflowException:
        return None  # the lab reports the missing run with its own message


def _loaded_backend() -> str | None:
    """The backend keras is bound to in this process, or None before keras is imported."""
    if "keras" not in sys.modules:
        return None
    return sys.modules["keras"].backend.backend()


def _run_here(unit: str, cfg, backend: str, threads: int) -> dict:
    """Run ``unit`` in this process, binding keras to ``backend`` first if it is not bound yet."""
    from dltp import backends, child, compile_cache

    if _loaded_backend() is None:
        os.environ["KERAS_BACKEND"] = backend
        backends.hold_to_threads(backend, threads, cpus=child.given_cpus())
        backends.import_keras(backend)
    compile_cache.enable(_loaded_backend())
    backends.keep_tensorflow_unloaded()
    _settle()
    before = compile_cache.counts()
    result = _public(registry.runner(unit)(cfg.for_experiment(unit)))
    result.setdefault("device", backends.device())
    result.setdefault("threads", backends.threads())
    programs = compile_cache.since(before)
    if programs is not None:
        result["compilation_cache"] = programs
    return result


# Set by main() in a process started from the command line (not main() called by other Python code):
# the process may then let the garbage collector skip what stays alive until its exit.
_command_line = False


def _settle() -> None:
    """Before an experiment, in a command-line process: collect what earlier work left, then let the
    collector skip every object alive now (modules, Keras, the backend: close to a million), which
    it would otherwise walk at every full collection and once more at exit."""
    if _command_line:
        gc.collect()
        gc.freeze()


def cmd_run(args) -> int:
    from dltp import backends, child, lanes
    from dltp.config import RunConfig, require_at_least_one

    units = list(dict.fromkeys(unit for target in args.targets for unit in registry.plan(target)))
    name = " ".join(args.targets)
    if args.resume and len(units) != 1:
        raise DltpError("--resume continues one run: name one experiment")
    given = {option: getattr(args, option) for option in registry.OPTIONS if getattr(args, option) is not None}
    allowed = set().union(*(registry.options_for(u) for u in units))
    unknown = sorted(set(given) - allowed)
    if unknown:
        flags = ", ".join(registry.OPTIONS[n].flag for n in unknown)
        raise DltpError(f"{flags} does not apply to {name}")
    require_at_least_one(epochs=args.epochs, batch_size=args.batch_size)
    threads = backends.requested_threads(args.threads)  # None: each experiment gets its share of the cores
    preferences = backends.load_preferences()
    # every bad name fails before any training
    choices = {unit: _backend_for(unit, args, preferences) for unit in units}
    jobs = 1 if child.is_child() else lanes.resolve_jobs(args.jobs, threads, len(units))
    plan = lanes.plan(units, {unit: choice.backend for unit, choice in choices.items()}, jobs,
                      lambda unit, backend: lanes.estimate(unit, backend, args.quick, preferences))
    cfg = RunConfig(epochs=args.epochs, batch_size=args.batch_size, dataset=args.dataset, quick=args.quick,
                    seed=args.seed, resume=args.resume, options=given)
    started = time.perf_counter()
    progress = _Progress(choices)
    if len(plan) > 1:
        _run_side_by_side(plan, args, threads, progress)
    else:  # alone: every core
        _run_one_lane(plan[0], args, cfg, threads or backends.share(1), progress)
    results = [progress.results[unit] for unit in units if unit in progress.results]
    failed = [unit for unit in units if unit not in progress.results]
    if len(units) > 1 and not child.is_child():
        _print_table(units, choices, progress, wall_s=time.perf_counter() - started, lanes=len(plan))
        judged = [r for r in results if r.get("target_met") is not None]
        met = [r["experiment"] for r in judged if r["target_met"]]
        missed = [r["experiment"] for r in judged if not r["target_met"]]
        print(f"ran {len(results)} of {len(units)} experiments" + (f"; failed: {', '.join(failed)}" if failed else "")
              + f"; targets met: {len(met)} of {len(judged)}" + (f" (NOT met: {', '.join(missed)})" if missed else ""))
    if "all" in args.targets:
        from dltp import report as results_page

        page = results_page.build(Path(results_page.DEFAULT_OUTPUT))
        print(f"report: {page}  (Markdown: {page.with_name('report.md')}; open the runs with `dltp ui`)", flush=True)
    if args.json:
        payload = results[0] if len(units) == 1 and results else {"experiment": name, "results": results,
                                                                  "failed": failed}
        print(json.dumps(payload, default=_json_default))
    return 1 if failed else 0


class _Progress:
    """Results as experiments end: the summary line, or the child's result line in a child."""

    def __init__(self, choices: dict):
        self.choices = choices
        self.results: dict[str, dict] = {}

    def done(self, unit: str, result: dict) -> None:
        from dltp import child

        result["backend_choice"] = self.choices[unit].reason  # a child's "--backend" becomes the parent's reason
        self.results[unit] = result
        if child.is_child():
            print(child.result_line({**result, "unit": unit}), flush=True)
        else:
            print(_summary(result), flush=True)


def _run_one_lane(batches, args, cfg, threads: int, progress: _Progress) -> None:
    """Batches one after another: the first whose backend this process can take runs here, the
    others each in one child process."""
    from dltp import child

    single = sum(len(batch.units) for batch in batches) == 1
    for batch in batches:
        if _loaded_backend() in (None, batch.backend):
            for unit in batch.units:
                choice = progress.choices[unit]
                print(child.header(unit, choice.backend, None if child.is_child() else choice.reason), flush=True)
                start = time.perf_counter()
                try:
                    result = _run_here(unit, cfg, choice.backend, threads)
                except (DltpError, KeyboardInterrupt):
                    raise
                except Exception as exc:  # one broken experiment must not hide the others' results
                    if single:
                        raise
                    traceback.print_exc()
                    print(f"{unit} FAILED: {exc}", file=sys.stderr)
                    continue
                result["seconds"] = round(time.perf_counter() - start, 2)
                progress.done(unit, result)
            continue
        reasons = sorted({progress.choices[unit].reason for unit in batch.units})
        print(f"== {', '.join(batch.units)}: one {batch.backend} process ({'; '.join(reasons)}) ==", flush=True)
        code = child.run_batch(batch.units, args, batch.backend, threads, on_result=progress.done)
        if code == 130:
            raise KeyboardInterrupt("child interrupted")
        missing = [unit for unit in batch.units if unit not in progress.results]
        if single and missing:
            raise ChildExit(missing[0], code or 1)
        for unit in missing:
            print(f"{unit} FAILED (exit code {code})", file=sys.stderr)


def _run_side_by_side(plan, args, threads: int | None, progress: _Progress) -> None:
    from dltp import lanes, tracking

    tracking.client().search_experiments(max_results=1)  # the store exists before two processes write to it
    described = ["; then ".join(f"{', '.join(b.units)} on {b.backend}" for b in lane) for lane in plan]
    print(f"{len(plan)} lanes side by side (a lane runs its processes one after another):\n  "
          + "\n  ".join(described), flush=True)
    outcome = lanes.run(plan, args, threads, on_result=progress.done)
    if outcome.interrupted:
        raise KeyboardInterrupt("child interrupted")
    for unit, code in outcome.codes.items():
        print(f"{unit} FAILED (exit code {code})", file=sys.stderr)


def _print_table(units: list[str], choices: dict, progress: _Progress, wall_s: float, lanes: int) -> None:
    width = max(len(unit) for unit in units)
    print(f"\n{'experiment':<{width}}  {'backend':<10}  {'seconds':>8}  status")
    for unit in units:
        result = progress.results.get(unit)
        seconds = f"{result['seconds']:8.1f}" if result and result.get("seconds") is not None else f"{'-':>8}"
        backend = result.get("backend", choices[unit].backend) if result else choices[unit].backend
        print(f"{unit:<{width}}  {backend:<10}  {seconds}  {'ok' if result else 'FAILED'}")
    total = sum((progress.results[u].get("seconds") or 0) for u in units if u in progress.results)
    print(f"{'total':<{width}}  {'':<10}  {total:8.1f}")
    print(f"{'wall time':<{width}}  {'':<10}  {wall_s:8.1f}" + (f"  ({lanes} lanes side by side)" if lanes > 1 else ""),
          flush=True)


def cmd_ui(args) -> int:
    from dltp.tracking import tracking_uri

    argv = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", tracking_uri(),
            "--host", args.host, "--port", str(args.port)]
    print(f"MLflow UI on http://{args.host}:{args.port} (store: {tracking_uri()})", flush=True)
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv`` (default: the command line). Of the COMMANDS, only the one ``argv`` names is
    imported: `dltp run` never loads the server's, the sweep's or the paper's code, so a change there
    leaves what a lab run measured (bench/_provenance.py) untouched."""
    parser = argparse.ArgumentParser(prog="dltp", description="Deep Learning Engineering labs TP1-TP5.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="every experiment id").set_defaults(func=cmd_list)

    run = sub.add_parser("run", help="run an experiment, a lab or all")
    run.add_argument("targets", nargs="+", metavar="target",
                     help="experiment id (tp1, tp2.optimizers, ...), lab id (tp2) or all; several may be given")
    run.add_argument("--epochs", type=int, help="training epochs (default: the original recipe)")
    run.add_argument("--batch-size", type=int, help="mini-batch size (default: the original recipe)")
    run.add_argument("--dataset", help="dataset name; when given, a missing dataset is an error")
    run.add_argument("--quick", action="store_true", help="small budget: smoke runs and CI")
    run.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    run.add_argument("--resume", metavar="RUN_ID", help="continue an interrupted run")
    run.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    run.add_argument("--backend", metavar="{auto,torch,jax,tensorflow}",
                     help="Keras backend for every experiment (default: KERAS_BACKEND if set, else auto: "
                          "each experiment on its measured-fastest installed backend)")
    run.add_argument("--threads", type=int, metavar="N",
                     help="compute threads per experiment (default: DLTP_THREADS, OMP_NUM_THREADS, else every core "
                          "for an experiment alone, the cores split among experiments side by side)")
    run.add_argument("--jobs", type=int, metavar="N",
                     help="experiments run side by side, each in its own process (default: DLTP_JOBS, else "
                          "cores / --threads, two without it; 1 on a GPU)")
    for name, opt in registry.OPTIONS.items():
        run.add_argument(opt.flag, dest=name, type=opt.type, nargs=opt.nargs, help=registry.help_text(name))
    run.set_defaults(func=cmd_run)

    ui = sub.add_parser("ui", help="MLflow UI on the same tracking store")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=5000)
    ui.set_defaults(func=cmd_ui)

    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text)
        if words and words[0] == name:
            mod = importlib.import_module(module)
            mod.add_arguments(cmd)
            cmd.set_defaults(func=mod.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    global _command_line
    _command_line = argv is None
    args = build_parser(argv).parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return args.func(args) or 0
    except DltpError as exc:
        print(f"dltp: error: {exc}", file=sys.stderr)
        return 2
    except ChildExit as exc:  # the child printed its own error
        return exc.code
    except KeyboardInterrupt:
        from dltp import child

        if not child.is_child():  # once, from the parent
            print("dltp: interrupted; the run was marked KILLED with what it had logged "
                  "(experiments that checkpoint, such as tp1, continue with --resume RUN_ID)", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if _command_line:
            gc.freeze()  # the process ends: no full collection of what it leaves
