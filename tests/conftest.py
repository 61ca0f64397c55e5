"""Shared fixtures. Tests never touch the network: every download goes to an unused loopback
port (a real connection refusal, not a mock), and every dataset is built in its real file format.

Tests that need a system package (Chromium, PostgreSQL, Debian's Fashion-MNIST) go through
``require_system``: they skip on a developer machine without it, and fail under CI, where a
missing package means the CI setup is broken, not that the test may be left out."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FASHION_MNIST_DEB = Path("/usr/share/datasets/fashion-mnist")


def system_required() -> bool:
    """Under CI (``CI=true``, as GitHub sets it, or ``DLTP_REQUIRE_SYSTEM=1``, as .ci/run sets it)
    every system package the tests use must be there."""
    return (os.environ.get("CI", "").lower() in ("true", "1", "yes")
            or os.environ.get("DLTP_REQUIRE_SYSTEM", "") not in ("", "0"))


def require_system(available: bool, what: str, install: str) -> None:
    """Skip the calling test when ``what`` is missing, or fail it when ``system_required()``."""
    if available:
        return
    message = f"{what} is not installed ({install})"
    if system_required():
        pytest.fail(f"{message}; required under CI (CI=true or DLTP_REQUIRE_SYSTEM=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def needs_fashion_mnist() -> Path:
    require_system(FASHION_MNIST_DEB.is_dir(), "Debian's dataset-fashion-mnist",
                   "apt-get install dataset-fashion-mnist")
    return FASHION_MNIST_DEB


@pytest.fixture
def needs_chromium() -> None:
    from browser import CHROMIUM

    require_system(os.path.exists(CHROMIUM), f"Debian's chromium ({CHROMIUM})", "apt-get install chromium")


# Set before any dltp import so every test process sees it.
os.environ["DLTP_DOWNLOAD_ORIGIN"] = f"http://127.0.0.1:{unused_port()}"
os.environ.setdefault("KERAS_BACKEND", "torch")
# one experiment at a time, in this process, unless a test asks for lanes (tests/test_lanes.py):
# several tests replace a lab's runner in this process, which a child process would not see
os.environ.setdefault("DLTP_JOBS", "1")
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
# dltp's cache (bundled datasets, compiled programs) for this test session only, shared by its tests.
if "DLTP_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["DLTP_CACHE_DIR"] = tempfile.mkdtemp(prefix="dltp-test-cache-")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Each test gets its own data dir, working dir and (lazily created) MLflow store."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("DLTP_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    yield


@pytest.fixture(scope="session")
def _migrated_store(tmp_path_factory) -> Path:
    """One MLflow SQLite store created (and migrated) once; tests get copies of it."""
    import mlflow

    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def mlflow_store(tmp_path, _migrated_store, monkeypatch) -> str:
    """A fresh SQLite tracking store for this test (artifacts under the test's directory)."""
    import mlflow

    db = tmp_path / "mlflow.db"
    shutil.copy(_migrated_store, db)
    uri = f"sqlite:///{db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    # The fluent API remembers the last experiment of a previous test's store: forget it.
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None, raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    yield uri
    while mlflow.active_run():
        mlflow.end_run()


def digits_as_mnist(n_train: int = 1200, n_test: int = 400):
    """Real handwritten digits (scikit-learn's), MNIST-sized: small and learnable."""
    from dltp.data.digits import load_digits

    d = load_digits()
    x = np.concatenate([d.x_train, d.x_test])
    y = np.concatenate([d.y_train, d.y_test])
    return x[:n_train], y[:n_train], x[n_train:n_train + n_test], y[n_train:n_train + n_test]


def write_mnist_idx(directory: Path, n_train: int = 1200, n_test: int = 400, gz: bool = True) -> Path:
    from dltp.data.idx import write_idx
    from dltp.data.mnist import IDX_FILES

    directory.mkdir(parents=True, exist_ok=True)
    arrays = dict(zip(("x_train", "y_train", "x_test", "y_test"), digits_as_mnist(n_train, n_test)))
    for key, stem in IDX_FILES.items():
        write_idx(directory / (stem + (".gz" if gz else "")), arrays[key])
    return directory


@pytest.fixture
def tiny_mnist(tmp_path) -> Path:
    """A small MNIST in IDX format where the MNIST loader looks for it."""
    return write_mnist_idx(Path(os.environ["DLTP_DATA_DIR"]) / "mnist")


def run_cli(*args: str, env: dict | None = None, timeout: int = 600):
    """Run `python -m dltp ...` in a subprocess (for signals and exit codes)."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "dltp", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)
