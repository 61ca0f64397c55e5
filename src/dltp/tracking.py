"""MLflow tracking shared by every lab: runs that always end with an honest status, per-epoch
metrics, figures and JSON artifacts, and the model registry.

The store is MLflow's own default (``sqlite:///mlflow.db`` in the working directory) unless
MLFLOW_TRACKING_URI says otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
import types
from pathlib import Path
from typing import Any, Iterator

import mlflow
from mlflow.tracking import MlflowClient

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def setup() -> None:
    mlflow.set_tracking_uri(tracking_uri())


def client() -> MlflowClient:
    setup()
    return MlflowClient()


def git_commit() -> str | None:
    """The commit of the dltp checkout, when it runs from one."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def backend() -> str:
    import keras

    return keras.backend.backend()


def _flatten(params: dict[str, Any]) -> dict[str, str]:
    return {k: (json.dumps(v) if isinstance(v, (list, dict, tuple)) else str(v))[:6000]
            for k, v in params.items() if v is not None}


@contextlib.contextmanager
def run(experiment: str, *, dltp_id: str | None = None, run_name: str | None = None,
        params: dict[str, Any] | None = None, tags: dict[str, Any] | None = None, data=None, seed: int | None = None,
        resume_run_id: str | None = None, parent_run_id: str | None = None) -> Iterator[mlflow.ActiveRun]:
    """An MLflow run that always ends with the right status.

    Ctrl-C or SIGTERM (which the CLI turns into KeyboardInterrupt) ends it KILLED, any other
    exception FAILED; what was logged until then stays. ``data`` (an ImageData-like object with
    ``name`` and ``fallback_from``) and ``seed`` are logged the same way by every lab.
    ``dltp_id`` (e.g. "tp2.diagnose") is the `dltp run` id, tagged so that the report finds runs.
    """
    setup()
    _set_experiment(experiment)
    all_tags = {"dltp.backend": backend()}
    if dltp_id:
        all_tags["dltp.experiment"] = dltp_id
    commit = git_commit()
    if commit:
        all_tags["mlflow.source.git.commit"] = commit
    if data is not None and getattr(data, "fallback_from", None):
        all_tags["dataset.fallback"] = f"{data.fallback_from} unavailable, used {data.name}"
    all_tags.update({k: str(v) for k, v in (tags or {}).items()})
    if resume_run_id:
        active = mlflow.start_run(run_id=resume_run_id)
    else:
        nested = parent_run_id is not None or mlflow.active_run() is not None
        active = mlflow.start_run(run_name=run_name, nested=nested, parent_run_id=parent_run_id)
    try:
        mlflow.set_tags(all_tags)
        if not resume_run_id:
            from dltp import backends

            base = {"backend": backend(), "device": backends.device(), "threads": backends.threads(),
                    "seed": seed, "git_commit": commit}
            if data is not None:
                base.update(dataset=data.name, dataset_fallback=bool(getattr(data, "fallback_from", None)))
            mlflow.log_params(_flatten({**base, **(params or {})}))
        yield active
    except KeyboardInterrupt:
        mlflow.end_run(status="KILLED")
        raise
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    else:
        mlflow.end_run(status="FINISHED")


def _set_experiment(name: str) -> None:
    """mlflow.set_experiment, safe when another `dltp` process creates the same experiment at once
    (experiments side by side): the loser of the race finds the winner's experiment."""
    from mlflow.exceptions import MlflowException

    try:
        mlflow.set_experiment(name)
    except MlflowException:
        time.sleep(0.5)
        mlflow.set_experiment(name)


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    clean = {k: float(v) for k, v in metrics.items() if v is not None}
    if clean:
        mlflow.log_metrics(clean, step=step)


def log_figure(fig, artifact_file: str) -> None:
    """Save a matplotlib figure as a PNG artifact and close it."""
    from dltp.plots import pyplot

    mlflow.log_figure(fig, artifact_file)
    pyplot().close(fig)


def log_json(obj: Any, artifact_file: str) -> None:
    mlflow.log_dict(obj, artifact_file)


def log_text(text: str, artifact_file: str) -> None:
    mlflow.log_text(text, artifact_file)


def log_keras_model(model, artifact_dir: str = "model", extra_files: dict[str, Any] | None = None) -> str:
    """Log ``model`` as ``<artifact_dir>/model.keras`` (+ JSON side files); return the artifact URI."""
    with tempfile.TemporaryDirectory() as tmp:
        model.save(os.path.join(tmp, "model.keras"))
        for name, obj in (extra_files or {}).items():
            with open(os.path.join(tmp, name), "w") as f:
                json.dump(obj, f)
        mlflow.log_artifacts(tmp, artifact_dir)
    return f"{mlflow.get_artifact_uri()}/{artifact_dir}"


def _installed_distribution(names: tuple[str, ...]) -> str | None:
    """``name==version`` of the first of ``names`` that is installed (tensorflow may be tensorflow-cpu)."""
    from importlib.metadata import PackageNotFoundError, version

    for name in names:
        try:
            return f"{name}=={version(name)}"
        except PackageNotFoundError:
            continue
    return None


def log_mlflow_keras_model(model, input_example, name: str = "model",
                           extra_files: dict[str, Any] | None = None) -> tuple[str, str]:
    """Log ``model`` in MLflow's model format; return (model URI, logged model id).

    Keras flavor plus pyfunc, a signature inferred from ``input_example`` (which is stored too),
    so that ``mlflow.pyfunc.load_model``, ``mlflow.keras.load_model`` and ``mlflow models serve``
    all work. JSON side files (e.g. ``reference_stats.json``) go to the model's root, beside MLmodel.
    """
    import keras
    import mlflow.keras
    import mlflow.models
    import numpy as np
    from mlflow.models import infer_signature

    example = np.asarray(input_example, dtype="float32")
    signature = infer_signature(example, np.asarray(model.predict(example, verbose=0)))
    # Explicit requirements: inferring them loads the model again in a subprocess (seconds, every run).
    requirements = [f"keras=={keras.__version__}", f"mlflow=={mlflow.__version__}"]
    backend_requirement = _installed_distribution(
        {"torch": ("torch",), "jax": ("jax",), "tensorflow": ("tensorflow", "tensorflow-cpu")}
        .get(keras.backend.backend(), ()))
    if backend_requirement:
        requirements.append(backend_requirement)

    def save_model(path: str, **kwargs) -> None:
        # mlflow.keras.save_model writes the input example before it creates the directory.
        os.makedirs(path, exist_ok=True)
        mlflow.keras.save_model(path=path, **kwargs)
        for file_name, obj in (extra_files or {}).items():
            with open(os.path.join(path, file_name), "w") as f:
                json.dump(obj, f)

    keras_flavor = types.SimpleNamespace(__name__="mlflow.keras", save_model=save_model)
    info = mlflow.models.Model.log(artifact_path=None, name=name, flavor=keras_flavor, model=model, signature=signature,
                                   input_example=example, pip_requirements=requirements)
    return info.model_uri, info.model_id


def metric_history(run_id: str, key: str) -> list[float]:
    """The per-epoch values of ``key`` in ``run_id``, ordered by step."""
    hist = client().get_metric_history(run_id, key)
    by_step = {m.step: m.value for m in sorted(hist, key=lambda m: m.timestamp)}
    return [by_step[s] for s in sorted(by_step)]


class Timer:
    """Wall-clock seconds of a ``with`` block: ``seconds`` once it has ended, ``elapsed()`` so far
    (to log the time inside the block it measures)."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = self.elapsed()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def register_model(name: str, source: str, run_id: str, *, score_key: str, score: float,
                   dataset: str, fallback: bool, alias: str = "champion",
                   model_id: str | None = None) -> tuple[str, bool]:
    """Register ``source`` as a new version of ``name``; move ``alias`` to it when it wins.

    It wins when there is no champion yet, when it beats the champion's ``score_key`` on the same
    dataset, or when the champion was trained on a fallback dataset and this one was not (a real
    dataset always supersedes a stand-in). Returns (version, moved).
    """
    from mlflow.exceptions import MlflowException

    registry = client()
    try:
        registry.create_registered_model(name)
    except MlflowException:
        pass  # already registered
    tags = {"dataset": dataset, "dataset_fallback": str(fallback).lower(), score_key: repr(score),
            "backend": backend()}
    version = registry.create_model_version(name, source=source, run_id=run_id, tags=tags, model_id=model_id).version
    try:
        champion = registry.get_model_version_by_alias(name, alias)
    except MlflowException:
        champion = None
    if champion is None:
        wins = True
    elif champion.tags.get("dataset") == dataset:
        wins = score > float(champion.tags.get(score_key, "-inf"))
    else:
        wins = champion.tags.get("dataset_fallback") == "true" and not fallback
    if wins:
        registry.set_registered_model_alias(name, alias, version)
    return str(version), wins
