"""jax's compiled programs are kept on disk between processes: a later process loads them, processes
side by side share the directory, and a directory that cannot be used never stops a run."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from dltp import compile_cache

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")

# A small Keras training on jax, as a lab runs one: fit with validation, evaluate, predict.
TRAIN = """
import json
from dltp import compile_cache
compile_cache.enable("jax")
import keras
import numpy as np
from dltp.models.dense import build_dense
keras.utils.set_random_seed(0)
model = build_dense(784, 10)
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
x, y = np.random.default_rng(0).random((256, 784), dtype="float32"), np.arange(256) % 10
model.fit(x, y, epochs=1, batch_size=64, validation_split=0.25, verbose=0)
model.evaluate(x, y, verbose=0)
model.predict(x[:8], verbose=0)
print(json.dumps(compile_cache.since(None)))
"""


def train(cache, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", TRAIN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "KERAS_BACKEND": "jax", "DLTP_CACHE_DIR": str(cache), **env})


def finished(proc: subprocess.Popen) -> tuple[dict | None, str]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1]), err


@needs_jax
@pytest.mark.slow
def test_processes_side_by_side_share_the_cache_and_a_later_one_loads_every_program(tmp_path):
    first, second = train(tmp_path), train(tmp_path)  # at once, as two lanes
    for proc in (first, second):
        counts, err = finished(proc)
        assert counts["programs"] > 0
        assert "Error reading persistent compilation cache" not in err
        assert "Error writing persistent compilation cache" not in err
    entries = list((tmp_path / "jax").glob("*-cache"))
    assert entries, "nothing was written to the cache"
    later, _ = finished(train(tmp_path))
    assert later["loaded"] == later["programs"] > 0 and later["compiled"] == 0


@needs_jax
@pytest.mark.slow
def test_a_corrupt_entry_is_compiled_again_with_a_warning(tmp_path):
    counts, _ = finished(train(tmp_path))
    for entry in (tmp_path / "jax").glob("*-cache"):
        entry.write_bytes(b"not a compiled program")
    again, err = finished(train(tmp_path))
    assert again["programs"] == counts["programs"] and again["loaded"] == 0 and again["compiled"] == counts["programs"]
    assert "Error reading persistent compilation cache entry" in err


@needs_jax
@pytest.mark.slow
def test_switched_off_nothing_is_written(tmp_path):
    counts, _ = finished(train(tmp_path, DLTP_COMPILATION_CACHE="0"))
    assert counts is None and not (tmp_path / "jax").exists()


@pytest.fixture
def fresh_state(monkeypatch):
    monkeypatch.setattr(compile_cache, "_state", {"directory": None, "tried": False, "programs": 0, "loaded": 0})


def test_a_directory_that_cannot_be_created_turns_the_cache_off_with_one_warning(tmp_path, monkeypatch, capsys,
                                                                                 fresh_state):
    (tmp_path / "not-a-directory").write_text("a file where the cache directory should be")
    monkeypatch.setenv("DLTP_CACHE_DIR", str(tmp_path / "not-a-directory"))
    assert compile_cache.enable("jax") is None
    assert compile_cache.enable("jax") is None  # asked again: no second warning
    err = capsys.readouterr().err
    assert err.count("WARNING: the compilation cache is off") == 1 and "not-a-directory" in err
    assert compile_cache.counts() is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_a_read_only_directory_turns_the_cache_off(tmp_path, monkeypatch, capsys, fresh_state):
    (tmp_path / "jax").mkdir()
    (tmp_path / "jax").chmod(0o500)
    monkeypatch.setenv("DLTP_CACHE_DIR", str(tmp_path))
    try:
        assert compile_cache.enable("jax") is None
    finally:
        (tmp_path / "jax").chmod(0o700)
    assert "WARNING: the compilation cache is off" in capsys.readouterr().err


@pytest.mark.parametrize("value, wanted", [(None, True), ("1", True), ("0", False), ("off", False), ("False", False)])
def test_one_switch_turns_it_off(monkeypatch, value, wanted):
    if value is None:
        monkeypatch.delenv(compile_cache.SWITCH, raising=False)
    else:
        monkeypatch.setenv(compile_cache.SWITCH, value)
    assert compile_cache.wanted() is wanted


def test_other_backends_keep_nothing(fresh_state, tmp_path, monkeypatch):
    monkeypatch.setenv("DLTP_CACHE_DIR", str(tmp_path))
    assert compile_cache.enable("torch") is None and compile_cache.enable("tensorflow") is None
    assert not (tmp_path / "jax").exists()


def test_the_cache_lives_in_dltps_cache_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("DLTP_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compile_cache.directory() == tmp_path / "dltp" / "jax"


@needs_jax
@pytest.mark.slow
def test_dltp_run_reports_the_programs_a_second_run_loads(tiny_mnist, mlflow_store, tmp_path):
    from conftest import run_cli

    def run() -> dict:
        proc = run_cli("run", "tp1", "--dataset", "mnist", "--epochs", "1", "--backend", "jax", "--json",
                       env={"DLTP_CACHE_DIR": str(tmp_path / "cache")})
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])["compilation_cache"]

    first, second = run(), run()
    assert first["compiled"] > 0  # (a program met twice in one process may be loaded the second time)
    assert second["programs"] == first["programs"] and second["loaded"] == second["programs"]
    assert second["compiled"] == 0
