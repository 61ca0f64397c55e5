"""Fixtures and helpers for the service tests: a small TP1 model trained once per test session,
real digit images in MNIST format, and real servers on free loopback ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, digits_as_mnist

_BUILT: dict[str, Path] = {}


def build_model_dir(base: Path) -> Path:
    """TP1's dense model trained for one epoch on real digits, saved as TP1 saves it."""
    import keras

    from dltp.labs.common import flat_pixels
    from dltp.labs.tp1 import reference_statistics
    from dltp.models.dense import build_dense

    out = base / "tp1-model"
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    x_train, y_train, _, _ = digits_as_mnist(1200, 400)
    model = build_dense()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(flat_pixels(x_train), y_train, epochs=1, batch_size=64, verbose=0)
    model.save(out / "model.keras")
    stats = reference_statistics(x_train, y_train, 10)
    (out / "reference_stats.json").write_text(json.dumps(stats))
    return out


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """A directory with model.keras + reference_stats.json (built once per session)."""
    if "dir" not in _BUILT:
        _BUILT["dir"] = build_model_dir(tmp_path_factory.getbasetemp())
    return _BUILT["dir"]


@pytest.fixture(scope="session")
def served(model_dir):
    from dltp.serve.model import load

    if "served" not in _BUILT:
        _BUILT["served"] = load(str(model_dir / "model.keras"))
    return _BUILT["served"]


def digit_images(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Held-out real digits (uint8, 28×28) and their labels."""
    _, _, x_test, y_test = digits_as_mnist(1200, n)
    return x_test, y_test


def http(method: str, url: str, body: bytes | None = None, content_type: str | None = None,
         timeout: float = 10) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(url: str, proc: subprocess.Popen | None = None, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"server exited with {proc.returncode}:\n{out}")
        try:
            status, body = http("GET", url + "/ready", timeout=2)
            if status == 200:
                return json.loads(body)
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not ready after {timeout} s")


def start(argv: list[str], env: dict) -> subprocess.Popen:
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
                "OMP_NUM_THREADS": "1", **env}
    return subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def stop(proc: subprocess.Popen) -> str:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.stdout.read() if proc.stdout else ""


def metric_values(text: str, name: str) -> dict[str, float]:
    """{labels-string: value} of every sample of ``name`` in a Prometheus exposition."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            out[key[len(name):]] = float(value)
    return out


PYTHON = sys.executable
