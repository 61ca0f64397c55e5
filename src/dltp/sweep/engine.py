"""The sweep engine: an Optuna study over a grid of TP2 models, each point trained exactly once.

Each worker claims grid points (``dltp.sweep.claims``) until none is left. A claimed point becomes
an Optuna trial (RUNNING, then COMPLETE with the validation accuracy, or FAIL) and an MLflow run
in the experiment ``tp2-sweep``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import sys
import time
from dataclasses import asdict, dataclass, field

from dltp.errors import DltpError
from dltp.sweep.claims import SPEC_KEY, Claims, open_storage, redact
from dltp.sweep.grid import grid_points, parse_grid, point_key

MLFLOW_EXPERIMENT = "tp2-sweep"


@dataclass
class Settings:
    storage: str
    study: str
    grid: dict
    epochs: int | None = None
    batch_size: int | None = None
    dataset: str | None = None
    quick: bool = False
    seed: int = 42
    tracking_uri: str | None = None
    env: dict = field(default_factory=dict)

    def spec(self) -> dict:
        """What must match for two processes to share the study."""
        return {"grid": {k: list(v) for k, v in sorted(self.grid.items())},
                "budget": {"epochs": self.epochs, "batch_size": self.batch_size, "dataset": self.dataset,
                           "quick": self.quick, "seed": self.seed}}


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def setup(s: Settings):
    """Open (or create) the study and fix or check its grid. Returns (storage, study)."""
    import optuna

    storage = open_storage(s.storage)
    study = optuna.create_study(study_name=s.study, storage=storage, direction="maximize", load_if_exists=True)
    claims = Claims(s.storage)
    try:
        spec = json.dumps(s.spec(), sort_keys=True)
        if claims.claim(s.study, SPEC_KEY, owner(), spec):
            study.set_user_attr("dltp.grid", s.spec()["grid"])
            study.set_user_attr("dltp.budget", s.spec()["budget"])
        else:
            existing = json.loads(claims.get(s.study, SPEC_KEY).detail)
            if existing != json.loads(spec):
                part = "grid" if existing["grid"] != s.spec()["grid"] else "budget"
                raise DltpError(
                    f"study {s.study!r} in {redact(s.storage)} was created with another "
                    f"{'grid' if part == 'grid' else 'training budget'}: {json.dumps(existing[part])}; "
                    f"this run asks for {json.dumps(s.spec()[part])}. "
                    f"Use another --study name, or the same grid and budget to join it.")
    finally:
        claims.dispose()
    return storage, study


def ensure_mlflow_experiment() -> None:
    """Create the sweep's MLflow experiment once, even when several processes race to do it."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from dltp import tracking

    c = tracking.client()
    for attempt in range(5):
        if c.get_experiment_by_name(MLFLOW_EXPERIMENT) is not None:
            return
        try:
            c.create_experiment(MLFLOW_EXPERIMENT)
            return
        except MlflowException:
            time.sleep(0.2 * (attempt + 1))
    mlflow.set_experiment(MLFLOW_EXPERIMENT)


def work(s: Settings) -> dict:
    """Claim grid points until none is left; train each claimed one as a trial and an MLflow run."""
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import FrozenTrial, TrialState

    from dltp.config import RunConfig
    from dltp.labs import tp2

    for k, v in s.env.items():
        os.environ.setdefault(k, v)
    if s.tracking_uri:
        os.environ["MLFLOW_TRACKING_URI"] = s.tracking_uri
    storage = open_storage(s.storage)
    study = optuna.load_study(study_name=s.study, storage=storage)
    study_id = storage.get_study_id_from_name(s.study)
    claims = Claims(s.storage)
    cfg = RunConfig(epochs=s.epochs, batch_size=s.batch_size, dataset=s.dataset, quick=s.quick, seed=s.seed)
    thresholds = tp2.Thresholds()
    prepared = None
    ran, failed = [], []
    me = owner()
    try:
        for point in grid_points(s.grid):
            key = point_key(point)
            if not claims.claim(s.study, key, me):
                continue
            if prepared is None:
                prepared = tp2.prepare(cfg)
            distributions = {k: CategoricalDistribution(s.grid[k]) for k in point}
            template = FrozenTrial(number=-1, state=TrialState.RUNNING, value=None, values=None,
                                   datetime_start=None, datetime_complete=None, params=point,
                                   distributions=distributions, user_attrs={}, system_attrs={"dltp.owner": me},
                                   intermediate_values={}, trial_id=-1)
            trial_id = storage.create_new_trial(study_id, template_trial=template)
            trial = optuna.Trial(study, trial_id)
            label = " ".join(f"{k}={v}" for k, v in point.items())
            print(f"[{me}] trial {trial.number}: {label}", flush=True)
            variant = tp2.Variant(f"trial_{trial.number}", "sweep", 10, optimizer=point.get("optimizer", "adam"),
                                  dropout=point.get("dropout", 0.2), l2=point.get("l2", 0.0),
                                  batch_norm=point.get("batch_norm", False), learning_rate=point.get("learning_rate"))
            try:
                row = tp2.train_variant(variant, prepared, cfg, thresholds, dltp_id="sweep",
                                        epochs=s.epochs or (1 if s.quick else 10), experiment=MLFLOW_EXPERIMENT,
                                        run_name=f"{s.study}-trial{trial.number}",
                                        tags={"optuna.study": s.study, "optuna.trial": trial.number,
                                              "sweep.point": key, **{f"sweep.{k}": v for k, v in point.items()}})
            except KeyboardInterrupt:
                study.tell(trial, state=TrialState.FAIL)
                raise
            except Exception as exc:  # one broken point must not stop the others
                study.tell(trial, state=TrialState.FAIL)
                print(f"[{me}] trial {trial.number} FAILED: {exc}", file=sys.stderr, flush=True)
                failed.append(trial.number)
                continue
            for name in ("test_accuracy", "train_accuracy", "gap", "epoch_time_s"):
                trial.set_user_attr(name, row[name])
            trial.set_user_attr("mlflow_run_id", row["run_id"])
            study.tell(trial, row["val_accuracy"])
            ran.append(trial.number)
    finally:
        claims.dispose()
    return {"ran": ran, "failed": failed}


def _worker_process(settings: dict, queue) -> None:
    s = Settings(**settings)
    try:
        queue.put(work(s))
    except KeyboardInterrupt:
        queue.put({"ran": [], "failed": [], "error": "interrupted"})
    except Exception as exc:
        queue.put({"ran": [], "failed": [], "error": f"{type(exc).__name__}: {exc}"})
        raise


def summary(storage, s: Settings) -> dict:
    import optuna

    study = optuna.load_study(study_name=s.study, storage=storage)
    trials = [{"number": t.number, "state": t.state.name, "params": t.params, "val_accuracy": t.value,
               "test_accuracy": t.user_attrs.get("test_accuracy"), "mlflow_run_id": t.user_attrs.get("mlflow_run_id"),
               "owner": t.system_attrs.get("dltp.owner")} for t in study.get_trials(deepcopy=False)]
    complete = [t for t in trials if t["state"] == "COMPLETE"]
    best = max(complete, key=lambda t: t["val_accuracy"]) if complete else None
    return {"experiment": "sweep", "study": s.study, "storage": redact(s.storage),
            "points": len(grid_points(s.grid)), "trials": trials, "complete": len(complete), "best": best}


def bind_backend(args) -> str:
    """Bind keras to TP2's backend (dltp.backends' rule) before anything imports it."""
    from dltp import backends

    threads = backends.resolve_threads(getattr(args, "threads", None))
    choice = backends.resolve("tp2", flag=getattr(args, "backend", None), env=backends.user_backend(),
                              quick=args.quick)
    loaded = sys.modules["keras"].backend.backend() if "keras" in sys.modules else None
    if loaded and loaded != choice.backend:
        raise DltpError(f"keras is already bound to {loaded} in this process; the sweep needs {choice.backend}")
    if not loaded:
        os.environ["KERAS_BACKEND"] = choice.backend
        os.environ.update(backends.thread_env(threads))
    return choice.backend


def main(args) -> int:
    from dltp import tracking
    from dltp.config import require_at_least_one

    require_at_least_one(workers=args.workers, epochs=args.epochs, batch_size=args.batch_size)
    grid = parse_grid(args.grid)
    backend = bind_backend(args)
    if args.dataset:  # a named dataset that is missing is an error before anything is written
        from dltp.data import load_images

        load_images(args.dataset)
    s = Settings(storage=args.storage, study=args.study, grid=grid, epochs=args.epochs, batch_size=args.batch_size,
                 dataset=args.dataset, quick=args.quick, seed=args.seed, tracking_uri=tracking.tracking_uri(),
                 env={k: os.environ[k] for k in ("KERAS_BACKEND", "DLTP_DATA_DIR", "DLTP_THREADS") if k in os.environ})
    storage, _ = setup(s)
    ensure_mlflow_experiment()
    points = grid_points(grid)
    print(f"study {s.study!r} in {redact(s.storage)}: {len(points)} grid points, {args.workers} worker(s) here "
          f"on {backend}; "
          f"MLflow {redact(s.tracking_uri)} experiment {MLFLOW_EXPERIMENT!r}", flush=True)
    if args.workers == 1:
        outcomes = [work(s)]
    else:
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        procs = [ctx.Process(target=_worker_process, args=(asdict(s), queue)) for _ in range(args.workers)]
        for p in procs:
            p.start()
        outcomes = [queue.get() for _ in procs]
        for p in procs:
            p.join()
    errors = [o["error"] for o in outcomes if o.get("error")]
    ran = sorted(n for o in outcomes for n in o["ran"])
    failed = sorted(n for o in outcomes for n in o["failed"])
    result = summary(storage, s)
    result.update(ran_here=ran, failed_here=failed)
    for t in result["trials"]:
        v = t["val_accuracy"]
        print(f"  trial {t['number']:>3} {t['state']:<8} {point_key(t['params'])}"
              + (f" val {v:.4f} test {t['test_accuracy']:.4f}" if v is not None else ""))
    if result["best"]:
        print(f"best: {point_key(result['best']['params'])} val accuracy {result['best']['val_accuracy']:.4f}")
    print(f"this process ran {len(ran)} trial(s); the study holds {result['complete']} complete of "
          f"{result['points']} points")
    for e in errors:
        print(f"dltp sweep: a worker stopped: {e}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, default=str))
    return 1 if failed or errors else 0
