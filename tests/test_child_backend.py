"""An experiment whose backend differs from the one already loaded runs in a child process: its
output, JSON line, exit code and interrupts come back to the parent."""

import json
import os
import signal
import subprocess
import sys
import time

import keras  # binds this process to the test backend, so another backend needs a child
import mlflow
import pytest

from dltp import cli

OTHER = "jax" if keras.backend.backend() != "jax" else "torch"
pytestmark = pytest.mark.slow


def test_a_child_run_passes_back_its_json_line_and_logs_backend_device_threads(tiny_mnist, mlflow_store, capsys):
    code = cli.main(["run", "tp1", "--dataset", "mnist", "--epochs", "1", "--backend", OTHER, "--threads", "1",
                     "--json"])
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert result["experiment"] == "tp1" and result["backend"] == OTHER and result["device"] == "cpu"
    assert result["threads"] == 1 and result["backend_choice"] == "--backend"
    assert result["test_accuracy"] > 0.5  # 10 classes: it learnt
    assert "val_accuracy:" in out  # the child's own per-epoch lines streamed through
    params = mlflow.MlflowClient().get_run(result["run_id"]).data.params
    assert (params["backend"], params["device"], params["threads"]) == (OTHER, "cpu", "1")


def test_a_child_failure_passes_back_its_exit_code(mlflow_store, capfd, monkeypatch):
    monkeypatch.setenv("DLTP_OFFLINE", "1")
    assert cli.main(["run", "tp1", "--dataset", "mnist", "--quick", "--backend", OTHER, "--json"]) == 2
    out, err = capfd.readouterr()  # the child writes its error to the inherited stderr
    assert "put mnist.npz" in err and "Traceback" not in err
    assert not out.strip().endswith("}")


DRIVER = """
import signal
import sys
# Ctrl-C raises KeyboardInterrupt, as in a terminal: a test suite started in the background of a
# non-interactive shell hands its children SIGINT ignored, and Python keeps it that way.
signal.signal(signal.SIGINT, signal.default_int_handler)
import keras  # this process is bound to its backend before the run starts
from dltp.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm-to-parent"])
def test_interrupting_a_child_run_marks_it_killed(tiny_mnist, mlflow_store, how, tmp_path):
    stderr = open(tmp_path / "stderr.txt", "w+")
    # So many epochs that a run that ignored the signal would still be training: the test then fails
    # on the timeout below, not on a run that simply ended.
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, "run", "tp1", "--dataset", "mnist", "--epochs", "100000",
                             "--backend", OTHER, "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True,
                            env={**os.environ, "KERAS_BACKEND": "torch" if OTHER == "jax" else "jax"})
    try:
        deadline = time.monotonic() + 240
        for line in proc.stdout:  # wait until the child trains
            if "Epoch 2/" in line or time.monotonic() > deadline:
                break
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # a terminal sends it to the whole foreground group
        else:
            proc.send_signal(signal.SIGTERM)  # the parent alone: it must pass it on
        proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # the signal was not obeyed: leave nothing running
            os.killpg(proc.pid, signal.SIGKILL)
    stderr.seek(0)
    err = stderr.read()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    runs = mlflow.search_runs(experiment_names=["tp1-mnist-dense"], output_format="list")
    assert [r.info.status for r in runs] == ["KILLED"]
    assert runs[0].data.params["backend"] == OTHER
