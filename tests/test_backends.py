"""Backend resolution: the flag, the user's KERAS_BACKEND, and the measured preferences (auto)."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import run_cli
from dltp import backends, registry
from dltp.errors import DltpError

PREFS = {"cpu": {"full": {"order": {"tp1": ["jax", "tensorflow", "torch"], "tp3.resnet": ["torch", "tensorflow"]}},
                 "quick": {"order": {"tp1": ["tensorflow", "jax", "torch"]}}}}


def everything(_name):
    return True


def test_the_flag_wins_over_the_variable():
    choice = backends.resolve("tp1", flag="jax", env="torch", available=everything, preferences=PREFS)
    assert choice == backends.Choice("jax", "--backend")


def test_the_users_variable_pins_every_experiment():
    for unit in ("tp1", "tp3.resnet"):
        assert backends.resolve(unit, flag=None, env="tensorflow", available=everything,
                                preferences=PREFS).backend == "tensorflow"


def test_auto_follows_the_measured_order_of_the_budget():
    full = backends.resolve("tp1", flag=None, env=None, device="cpu", available=everything, preferences=PREFS)
    quick = backends.resolve("tp1", flag="auto", env="torch", quick=True, device="cpu", available=everything,
                             preferences=PREFS)
    assert (full.backend, quick.backend) == ("jax", "tensorflow")  # --backend auto overrides the variable
    assert "cpu/full" in full.reason and "cpu/quick" in quick.reason
    # a quick run of an experiment the quick table lacks uses the full measurement
    assert backends.resolve("tp3.resnet", flag=None, env="auto", quick=True, device="cpu", available=everything,
                            preferences=PREFS).backend == "torch"


def test_auto_skips_a_backend_that_is_not_installed():
    choice = backends.resolve("tp1", flag=None, env=None, device="cpu", available=lambda b: b != "jax",
                              preferences=PREFS)
    assert choice.backend == "tensorflow" and "jax not installed" in choice.reason


def test_auto_without_a_measurement_uses_the_fallback_order():
    choice = backends.resolve("tp4.memory", flag=None, env=None, device="cpu", available=everything,
                              preferences=PREFS)
    assert choice.backend == backends.FALLBACK_ORDER[0] and "no measurement" in choice.reason


@pytest.mark.parametrize("flag, env, where", [("nonsense", None, "--backend"), (None, "theano", "KERAS_BACKEND")])
def test_unknown_names_are_errors(flag, env, where):
    with pytest.raises(DltpError, match=f"{where}: unknown backend"):
        backends.resolve("tp1", flag=flag, env=env, available=everything, preferences=PREFS)


def test_asking_for_a_backend_that_is_not_installed_says_how_to_install_it():
    with pytest.raises(DltpError, match=r"tensorflow backend is not installed; install it with: pip install"):
        backends.resolve("tp1", flag="tensorflow", env=None, available=lambda b: b != "tensorflow",
                         preferences=PREFS)


def test_bad_backend_flag_is_one_line_and_exit_2():
    proc = run_cli("run", "tp1", "--backend", "nonsense")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "dltp: error: --backend: unknown backend 'nonsense'; choose auto, torch, jax, tensorflow"]


def test_threads_flag_then_variables_then_every_core_alone_or_a_share_side_by_side(monkeypatch):
    monkeypatch.delenv("DLTP_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(backends, "cores", lambda: 8)
    assert backends.requested_threads(None) is None
    assert backends.resolve_threads(None) == 8  # alone: every core
    assert backends.resolve_threads(None, running=2) == 4 and backends.resolve_threads(None, running=3) == 2
    assert backends.resolve_threads(None, running=16) == 1  # never fewer than one
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert backends.resolve_threads(None) == 3 == backends.resolve_threads(None, running=2)
    monkeypatch.setenv("DLTP_THREADS", "2")
    assert backends.resolve_threads(None) == 2
    assert backends.resolve_threads(5, running=2) == 5
    monkeypatch.setenv("DLTP_THREADS", "two")
    with pytest.raises(DltpError, match="DLTP_THREADS must be a whole number"):
        backends.resolve_threads(None)
    with pytest.raises(DltpError, match="--threads must be at least 1"):
        backends.resolve_threads(0)


def test_the_cores_are_those_this_process_may_run_on(monkeypatch):
    monkeypatch.setattr(backends.os, "sched_getaffinity", lambda pid: {3, 5, 7})
    monkeypatch.setattr(backends.os, "cpu_count", lambda: 64)
    assert backends.cores() == 3 == backends.default_threads()


def test_thread_env_pins_every_backend_and_keeps_other_xla_flags(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x --xla_cpu_multi_thread_eigen=true")
    env = backends.thread_env(1)
    assert env["OMP_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == env["DLTP_THREADS"] == "1"
    assert env["XLA_FLAGS"].split() == ["--xla_dump_to=/tmp/x", "--xla_cpu_multi_thread_eigen=false",
                                        "intra_op_parallelism_threads=1"]


def test_the_shipped_preferences_are_measured_and_consistent():
    prefs = json.loads(backends.PREFERENCES_FILE.read_text())
    units = {e.id for e in registry.EXPERIMENTS} | set(registry.labs())
    assert prefs.get("cpu"), "no CPU measurement shipped"
    for device, tables in prefs.items():
        for budget, table in tables.items():
            assert table["measured"], f"{device}/{budget} does not say what it was measured from"
            for unit, order in table["order"].items():
                assert unit in units, unit
                assert set(order) <= set(backends.KNOWN) and len(order) == len(set(order))
                figures = table["figures"][unit]
                rounds = table["rounds"]
                if budget == "quick":  # the unit's seconds, round by round
                    n = min(len(rounds[unit][b]) for b in order)
                    cost = {b: rounds[unit][b][:n] for b in order}
                else:  # rates of one or more workloads, ranked by the time they take together, round by round
                    n = min(len(rounds[w][b]) for w in figures for b in order)
                    cost = {b: [sum(1 / rounds[w][b][i] for w in figures) for i in range(n)] for b in order}
                assert n >= 5, (unit, n)
                kept = (table.get("suite") or {}).get("kept_default", {})
                if unit in kept:  # its move would slow the whole quick run: back on the default backend
                    default = next(b for b in backends.KNOWN if b in order)
                    assert order == [default] + [b for b in kept[unit] if b != default], unit
                    order = kept[unit]  # the order it was ranked in, checked below
                for i, earlier in enumerate(order):  # no backend is faster in every round than one before it
                    for later in order[i + 1:]:
                        assert not all(c < e for c, e in zip(cost[later], cost[earlier])), (unit, later, earlier)
                for i, later in enumerate(order):  # and one ahead of the default order is faster in every round
                    for earlier in order[:i]:
                        if backends.KNOWN.index(earlier) > backends.KNOWN.index(later):
                            assert all(c < e for c, e in zip(cost[earlier], cost[later])), (unit, earlier, later)


PIN = """
import json, os, sys
from dltp import backends
before = sorted(os.sched_getaffinity(0))
cpus = json.loads(sys.argv[2]) if len(sys.argv) > 2 else None
chosen = backends.pin_cpus(int(sys.argv[1]), lane=int(os.environ.get("LANE", 0)), cpus=cpus)
print(json.dumps({"before": before, "chosen": chosen, "after": sorted(os.sched_getaffinity(0))}))
"""


def pinned(*args: str, **env) -> dict:
    # in a fresh process: binding this one would bind the rest of the tests
    proc = subprocess.run([sys.executable, "-c", PIN, *args], capture_output=True, text=True,
                          env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("lane", [0, 1])
def test_jax_is_held_to_its_threads_by_binding_each_lane_to_its_own_cpus(lane):
    cpus = pinned("1", LANE=str(lane))
    if len(cpus["before"]) < 2:
        assert cpus["chosen"] is None and cpus["after"] == cpus["before"]  # one CPU: nothing to bind
    else:
        assert cpus["after"] == cpus["chosen"] == [cpus["before"][lane]]


def test_a_process_given_its_cpus_is_bound_to_them_and_one_given_every_core_is_not_bound():
    everything = pinned("1")["before"]
    if len(everything) < 2:
        pytest.skip("one CPU: nothing to bind")
    given = pinned("1", json.dumps([everything[-1]]))
    assert given["after"] == given["chosen"] == [everything[-1]]
    alone = pinned(str(len(everything)))  # alone, every core: no binding
    assert alone["chosen"] is None and alone["after"] == everything


IMPORT_KERAS = """
import json, os, sys
from dltp import backends
if len(sys.argv) > 1:  # a library Keras cannot do without
    backends.UNUSED_BY_KERAS = {sys.argv[1]: backends.KNOWN}
keras = backends.import_keras(os.environ["KERAS_BACKEND"])
loaded = {name: name in sys.modules for name in ("jax", "sklearn")}
keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])(keras.ops.ones((1, 3)))
import jax, sklearn  # importable as ever once Keras is loaded
print(json.dumps({"backend": keras.backend.backend(), "loaded": loaded}))
"""


@pytest.mark.parametrize("backend", ["torch", "jax", "tensorflow"])
def test_keras_is_imported_without_the_libraries_it_would_load_for_nothing(backend):
    for name in (backend, "jax", "sklearn"):
        if not backends.installed(name) if name in backends.KNOWN else importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed")
    proc = subprocess.run([sys.executable, "-c", IMPORT_KERAS], capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": backend})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"backend": backend, "loaded": {"jax": backend == "jax", "sklearn": False}}


def test_a_library_keras_cannot_do_without_is_not_hidden():
    proc = subprocess.run([sys.executable, "-c", IMPORT_KERAS, "numpy"], capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": "torch"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["backend"] == "torch"


# --- the private Keras modules dltp changes (dltp.backends.keep_tensorflow_unloaded) ---------------

def test_the_private_keras_modules_that_import_tensorflow_are_still_where_dltp_looks():
    """Fails when a Keras release moves them: then keep_tensorflow_unloaded changes nothing and every
    torch or jax process imports tensorflow again. Look for the new place (or a public switch)."""
    import importlib

    from keras.src.utils.module_utils import LazyModule

    for name in backends.PRIVATE_TENSORFLOW_USERS:
        module = importlib.import_module(name)
        handle = vars(module).get("tf")
        assert isinstance(handle, (LazyModule, backends._Unavailable)), f"{name}.tf is {handle!r}"
        if isinstance(handle, LazyModule):
            assert handle.name == "tensorflow"


SAVE_AND_SEED = """
import json, os, sys, tempfile
import keras
from dltp import backends
changed = backends.keep_tensorflow_unloaded()
from dltp.models.dense import build_dense
keras.utils.set_random_seed(1)
model = build_dense(784, 10)
path = os.path.join(tempfile.mkdtemp(), "model.keras")
model.save(path)
keras.saving.load_model(path)
keras.utils.set_random_seed(1)
same = all((a == b).all() for a, b in zip(model.get_weights(), build_dense(784, 10).get_weights()))
print(json.dumps({"changed": changed, "tensorflow": "tensorflow" in sys.modules, "same": bool(same)}))
"""


@pytest.mark.skipif(not backends.installed("tensorflow"), reason="tensorflow is not installed")
@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_off_tensorflow_seeding_and_saving_a_model_do_not_import_tensorflow(backend):
    if not backends.installed(backend):
        pytest.skip(f"{backend} is not installed")
    proc = subprocess.run([sys.executable, "-c", SAVE_AND_SEED], capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": backend})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["changed"] == list(backends.PRIVATE_TENSORFLOW_USERS)
    assert out["tensorflow"] is False, "tensorflow was imported: a Keras module dltp does not change imports it"
    assert out["same"], "the same seed gave different weights"
