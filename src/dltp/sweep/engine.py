"""The sweep engine: an Optuna study over a grid of TP2 models, each point trained exactly once.

Each worker claims grid points (``dltp.sweep.claims``) until none is left. A claimed point becomes
an Optuna trial (RUNNING, then COMPLETE with the validation accuracy, or FAIL) and an MLflow run
in the experiment ``tp2-sweep``. The engine takes plain values (``Settings``) and returns
dataclasses; what it has to say while it trains goes to a ``Progress``, and ``dltp.sweep.cli``
prints it all.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field

from dltp.errors import DltpError
from dltp.sweep.claims import SPEC_KEY, Claims, open_storage, redact
from dltp.sweep.grid import grid_points, point_key

MLFLOW_EXPERIMENT = "tp2-sweep"
TRIAL_EPOCHS = 10  # per trial, unless --epochs says otherwise
QUICK_TRIAL_EPOCHS = 1  # per trial under --quick
# The environment a worker process takes from the command (it binds keras and finds the data).
WORKER_ENV = ("KERAS_BACKEND", "DLTP_DATA_DIR", "DLTP_THREADS")
# A trial's figures kept on the Optuna trial beside its value, the validation accuracy.
TRIAL_ATTRS = ("test_accuracy", "train_accuracy", "gap", "epoch_time_s")


@dataclass
class Settings:
    """Everything a worker needs, in plain values (a spawned worker process gets a copy)."""

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
        return {"grid": {key: list(values) for key, values in sorted(self.grid.items())},
                "budget": {"epochs": self.epochs, "batch_size": self.batch_size, "dataset": self.dataset,
                           "quick": self.quick, "seed": self.seed}}


class Progress:
    """What the engine reports while it trains; this base class says nothing."""

    def trial_started(self, owner: str, number: int, point: dict) -> None:
        pass

    def trial_failed(self, owner: str, number: int, error: Exception) -> None:
        pass


@dataclass
class Outcome:
    """The trials that ran and failed here, and why a worker stopped early (one worker's or several's)."""

    ran: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def merge(cls, outcomes: list[Outcome]) -> Outcome:
        return cls(ran=sorted(number for outcome in outcomes for number in outcome.ran),
                   failed=sorted(number for outcome in outcomes for number in outcome.failed),
                   errors=[error for outcome in outcomes for error in outcome.errors])


@dataclass
class TrialRecord:
    number: int
    state: str  # Optuna's: RUNNING, COMPLETE, FAIL
    params: dict
    val_accuracy: float | None
    test_accuracy: float | None
    mlflow_run_id: str | None
    owner: str | None


@dataclass
class StudySummary:
    """The study's trials, its best one, and what this process's workers did."""

    study: str
    storage: str  # the URL without its password
    points: int
    trials: list[TrialRecord]
    complete: int
    best: TrialRecord | None
    ran_here: list[int]
    failed_here: list[int]

    def as_dict(self) -> dict:
        """The ``dltp sweep --json`` document; ``experiment`` names the command, as ``dltp run --json`` does."""
        return {"experiment": "sweep", **asdict(self)}


def owner() -> str:
    """This process's name in the claims table and on its trials."""
    return f"{socket.gethostname()}:{os.getpid()}"


def inherited_env() -> dict[str, str]:
    """The variables of ``WORKER_ENV`` set in this process, for ``Settings.env``."""
    return {name: os.environ[name] for name in WORKER_ENV if name in os.environ}


def setup(settings: Settings):
    """Open (or create) the study and fix its grid and budget, or check them against the ones it was
    created with. Returns Optuna's storage."""
    import optuna

    storage = open_storage(settings.storage)
    study = optuna.create_study(study_name=settings.study, storage=storage, direction="maximize",
                                load_if_exists=True)
    spec_json = json.dumps(settings.spec(), sort_keys=True)
    requested = json.loads(spec_json)
    claims = Claims(settings.storage)
    try:
        if claims.claim(settings.study, SPEC_KEY, owner(), spec_json):
            study.set_user_attr("dltp.grid", requested["grid"])
            study.set_user_attr("dltp.budget", requested["budget"])
        else:
            existing = json.loads(claims.get(settings.study, SPEC_KEY).detail)
            if existing != requested:
                part = "grid" if existing["grid"] != requested["grid"] else "budget"
                raise DltpError(
                    f"study {settings.study!r} in {redact(settings.storage)} was created with another "
                    f"{'grid' if part == 'grid' else 'training budget'}: {json.dumps(existing[part])}; "
                    f"this run asks for {json.dumps(requested[part])}. "
                    f"Use another --study name, or the same grid and budget to join it.")
    finally:
        claims.dispose()
    return storage


def ensure_mlflow_experiment() -> None:
    """Create the sweep's MLflow experiment once, even when several processes race to do it."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from dltp import tracking

    client = tracking.client()
    for attempt in range(5):
        if client.get_experiment_by_name(MLFLOW_EXPERIMENT) is not None:
            return
        try:
            client.create_experiment(MLFLOW_EXPERIMENT)
            return
        except MlflowException:
            time.sleep(0.2 * (attempt + 1))
    mlflow.set_experiment(MLFLOW_EXPERIMENT)


def work(settings: Settings, progress: Progress | None = None) -> Outcome:
    """Claim grid points until none is left; train each claimed one as a trial and an MLflow run."""
    import optuna
    from optuna.trial import TrialState

    from dltp.config import RunConfig
    from dltp.labs import tp2

    for name, value in settings.env.items():
        os.environ.setdefault(name, value)
    if settings.tracking_uri:
        os.environ["MLFLOW_TRACKING_URI"] = settings.tracking_uri
    storage = open_storage(settings.storage)
    study = optuna.load_study(study_name=settings.study, storage=storage)
    study_id = storage.get_study_id_from_name(settings.study)
    claims = Claims(settings.storage)
    run_config = RunConfig(epochs=settings.epochs, batch_size=settings.batch_size, dataset=settings.dataset,
                           quick=settings.quick, seed=settings.seed)
    thresholds = tp2.Thresholds()
    prepared = None  # the data, loaded once this worker has a point to train
    progress = progress or Progress()
    outcome = Outcome()
    worker = owner()
    try:
        for point in grid_points(settings.grid):
            if not claims.claim(settings.study, point_key(point), worker):
                continue
            if prepared is None:
                prepared = tp2.prepare(run_config)
            trial = _new_trial(study, storage, study_id, settings.grid, point, worker)
            progress.trial_started(worker, trial.number, point)
            try:
                row = _train_point(settings, point, trial.number, prepared, run_config, thresholds)
            except KeyboardInterrupt:
                study.tell(trial, state=TrialState.FAIL)
                raise
            except Exception as exc:  # one broken point must not stop the others
                study.tell(trial, state=TrialState.FAIL)
                progress.trial_failed(worker, trial.number, exc)
                outcome.failed.append(trial.number)
                continue
            for name in TRIAL_ATTRS:
                trial.set_user_attr(name, row[name])
            trial.set_user_attr("mlflow_run_id", row["run_id"])
            study.tell(trial, row["val_accuracy"])
            outcome.ran.append(trial.number)
    finally:
        claims.dispose()
    return outcome


def _new_trial(study, storage, study_id: int, grid: dict, point: dict, worker: str):
    """A RUNNING Optuna trial with ``point`` as its parameters, owned by ``worker``."""
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import FrozenTrial, TrialState

    distributions = {key: CategoricalDistribution(grid[key]) for key in point}
    template = FrozenTrial(number=-1, state=TrialState.RUNNING, value=None, values=None,
                           datetime_start=None, datetime_complete=None, params=point,
                           distributions=distributions, user_attrs={}, system_attrs={"dltp.owner": worker},
                           intermediate_values={}, trial_id=-1)
    return optuna.Trial(study, storage.create_new_trial(study_id, template_trial=template))


def _train_point(settings: Settings, point: dict, number: int, prepared, run_config, thresholds) -> dict:
    """Train TP2's network with ``point``'s hyper-parameters as trial ``number``; TP2's figures of it."""
    from dltp.labs import tp2

    variant = tp2.Variant(f"trial_{number}", "sweep", TRIAL_EPOCHS, optimizer=point.get("optimizer", "adam"),
                          dropout=point.get("dropout", 0.2), l2=point.get("l2", 0.0),
                          batch_norm=point.get("batch_norm", False), learning_rate=point.get("learning_rate"))
    tags = {"optuna.study": settings.study, "optuna.trial": number, "sweep.point": point_key(point),
            **{f"sweep.{key}": value for key, value in point.items()}}
    return tp2.train_variant(variant, prepared, run_config, thresholds, dltp_id="sweep",
                             epochs=settings.epochs or (QUICK_TRIAL_EPOCHS if settings.quick else TRIAL_EPOCHS),
                             experiment=MLFLOW_EXPERIMENT, run_name=f"{settings.study}-trial{number}", tags=tags)


def _worker_process(settings: Settings, progress: Progress, queue) -> None:
    try:
        queue.put(work(settings, progress))
    except KeyboardInterrupt:
        queue.put(Outcome(errors=["interrupted"]))
    except Exception as exc:
        queue.put(Outcome(errors=[f"{type(exc).__name__}: {exc}"]))
        raise


def run_workers(settings: Settings, workers: int, progress: Progress | None = None) -> Outcome:
    """Train the study's unclaimed points with ``workers`` processes (1: in this process)."""
    import multiprocessing

    if workers == 1:
        return Outcome.merge([work(settings, progress)])
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_worker_process, args=(settings, progress, queue)) for _ in range(workers)]
    for process in processes:
        process.start()
    outcomes = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    return Outcome.merge(outcomes)


def summarize(storage, settings: Settings, outcome: Outcome) -> StudySummary:
    """Every trial of the study as it stands, the best complete one, and ``outcome``'s trials."""
    import optuna

    study = optuna.load_study(study_name=settings.study, storage=storage)
    trials = [TrialRecord(number=trial.number, state=trial.state.name, params=trial.params, val_accuracy=trial.value,
                          test_accuracy=trial.user_attrs.get("test_accuracy"),
                          mlflow_run_id=trial.user_attrs.get("mlflow_run_id"),
                          owner=trial.system_attrs.get("dltp.owner"))
              for trial in study.get_trials(deepcopy=False)]
    complete = [trial for trial in trials if trial.state == "COMPLETE"]
    best = max(complete, key=lambda trial: trial.val_accuracy) if complete else None
    return StudySummary(study=settings.study, storage=redact(settings.storage), points=len(grid_points(settings.grid)),
                        trials=trials, complete=len(complete), best=best, ran_here=outcome.ran,
                        failed_here=outcome.failed)
