"""`dltp sweep`: bad input refused before anything is written, points claimed exactly once, and
the real thing — two processes sharing one study in PostgreSQL and one MLflow tracking server."""

import glob
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from conftest import require_system, unused_port, write_mnist_idx
from dltp import cli
from dltp.sweep import engine
from dltp.sweep.claims import Claims
from dltp.sweep.grid import grid_points, parse_grid, point_key


def no_sweep_runs(uri):
    exp = MlflowClient(tracking_uri=uri).get_experiment_by_name(engine.MLFLOW_EXPERIMENT)
    return exp is None or not MlflowClient(tracking_uri=uri).search_runs([exp.experiment_id])


@pytest.mark.parametrize("grid, message", [
    (["optimizer=sgd,adagrad"], "unknown optimizer 'adagrad'"),
    (["momentum=0.9"], "unknown grid key 'momentum'"),
    (["optimizer="], "has no values"),
    ([], "empty grid"),
    (["dropout=0.2,1.5"], "outside"),
    (["dropout"], "is not KEY=V1,V2"),
])
def test_bad_grid_is_refused_before_anything_is_written(capsys, mlflow_store, grid, message):
    code = cli.main(["sweep", "--grid", *grid, "--quick"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not Path("optuna.db").exists()  # not even the study storage
    assert no_sweep_runs(mlflow_store)


def test_unreachable_storage_is_a_clear_error(capsys, mlflow_store):
    url = f"postgresql://dltp:secret@127.0.0.1:{unused_port()}/optuna"
    assert cli.main(["sweep", "--storage", url, "--quick"]) == 2
    err = capsys.readouterr().err
    assert "cannot open the study storage" in err and "secret" not in err and "***" in err
    assert "connect" in err.split("cannot open the study storage")[1]  # the server, not a missing driver
    assert no_sweep_runs(mlflow_store)
    assert cli.main(["sweep", "--storage", "redis://127.0.0.1/0", "--quick"]) == 2
    assert "unsupported --storage" in capsys.readouterr().err


def test_a_study_created_with_another_grid_is_refused(capsys, mlflow_store):
    engine.setup(engine.Settings(storage="sqlite:///optuna.db", study="s", grid={"optimizer": ["sgd", "adam"]},
                                 quick=True))
    assert cli.main(["sweep", "--study", "s", "--grid", "optimizer=sgd,rmsprop", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "created with another grid" in err and "--study" in err
    assert cli.main(["sweep", "--study", "s", "--grid", "optimizer=sgd,adam", "--quick", "--epochs", "3"]) == 2
    assert "another training budget" in capsys.readouterr().err
    assert no_sweep_runs(mlflow_store)


def _race(url, points, queue):
    claims = Claims(url)
    queue.put([p for p in points if claims.claim("race", p, str(os.getpid()))])


def test_claims_are_exclusive_across_processes(tmp_path):
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    Claims(url).dispose()
    points = [f"p{i}" for i in range(40)]
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(url, points, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    won = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    assert sorted(x for w in won for x in w) == sorted(points)  # every point once, none twice


@pytest.fixture
def small_mnist():
    return write_mnist_idx(Path(os.environ["DLTP_DATA_DIR"]) / "mnist", 600, 200)


def check_study(summary, expected_points):
    assert summary["points"] == len(expected_points) and summary["complete"] == len(expected_points)
    params = [point_key(t["params"]) for t in summary["trials"]]
    assert sorted(params) == sorted(point_key(p) for p in expected_points)  # each exactly once
    assert all(t["state"] == "COMPLETE" and t["mlflow_run_id"] for t in summary["trials"])


def test_local_workers_share_a_sqlite_study(capsys, mlflow_store, small_mnist):
    code = cli.main(["sweep", "--grid", "optimizer=sgd,adam", "--workers", "2", "--quick", "--dataset", "mnist",
                     "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = json.loads(out.strip().splitlines()[-1])
    check_study(summary, grid_points({"optimizer": ["sgd", "adam"]}))
    client = MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name(engine.MLFLOW_EXPERIMENT).experiment_id])
    assert sorted(r.info.run_id for r in runs) == sorted(t["mlflow_run_id"] for t in summary["trials"])
    assert all(r.info.status == "FINISHED" and r.data.tags["optuna.study"] == "tp2-sweep" for r in runs)
    # Started again on a finished study: nothing left to claim, nothing trained twice.
    assert cli.main(["sweep", "--grid", "optimizer=sgd,adam", "--quick", "--dataset", "mnist"]) == 0
    assert len(client.search_runs([runs[0].info.experiment_id])) == 2


# ---------------------------------------------------------------- PostgreSQL + MLflow server


def _wait(check, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not start within {timeout} s")


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL server (Debian's binaries) on a free port, stopped at teardown."""
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    require_system(bool(initdb), "PostgreSQL server binaries", "apt-get install postgresql")
    bindir = Path(initdb[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="dltp-pg-"))
    root.chmod(0o755)
    data, sock = root / "data", root / "sock"
    data.mkdir()
    sock.mkdir()
    as_postgres = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(data, "postgres")
        shutil.chown(sock, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8"], check=True, capture_output=True, timeout=120)
    port = unused_port()
    log = open(root / "server.log", "w")
    proc = subprocess.Popen([*as_postgres, str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sock),
                             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"], stdout=log, stderr=log)
    import psycopg2

    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        _wait(lambda: psycopg2.connect(url).close() is None, 60, "PostgreSQL")
        yield url
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate"],
                       capture_output=True, timeout=60)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mlflow_server(tmp_path):
    """A real `mlflow server` (SQLite backend, served artifacts) on a free port."""
    port = unused_port()
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
                             f"sqlite:///{tmp_path / 'server.db'}", "--artifacts-destination",
                             str(tmp_path / "server-artifacts"), "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, "MLFLOW_TRACKING_URI": ""})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: urllib.request.urlopen(f"{url}/health", timeout=5).status == 200, 180, "mlflow server")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_two_processes_share_a_postgres_study_and_one_mlflow_server(postgres, mlflow_server, small_mnist):
    grid = ["optimizer=sgd,adam", "dropout=0.2,0.5"]
    cmd = [sys.executable, "-m", "dltp", "sweep", "--storage", postgres, "--study", "shared", "--grid", *grid,
           "--quick", "--dataset", "mnist", "--json"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]  # two "machines"
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
    summaries = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    points = grid_points(parse_grid(grid))
    # Whichever process exited last saw every trial finished; the other may have left while one still ran.
    check_study(max(summaries, key=lambda s: s["complete"]), points)
    ran = sorted(n for s in summaries for n in s["ran_here"])
    assert ran == list(range(len(points)))  # the two processes split the grid, no point twice
    assert all(s["storage"].startswith("postgresql://postgres@127.0.0.1") for s in summaries)

    client = MlflowClient(tracking_uri=mlflow_server)
    exp = client.get_experiment_by_name(engine.MLFLOW_EXPERIMENT)
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == len(points) and all(r.info.status == "FINISHED" for r in runs)
    assert sorted(r.data.tags["sweep.point"] for r in runs) == sorted(point_key(p) for p in points)
    assert {a.path for a in client.list_artifacts(runs[0].info.run_id)} >= {"diagnosis.md", "training_curves.png"}


_OPEN_AT = """
import sys, time
import optuna, psycopg2, sqlalchemy  # imported before the start, so only the opening races
from dltp.errors import DltpError
from dltp.sweep.claims import open_storage
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # every process opens at the same instant
try:
    open_storage(sys.argv[1])
except DltpError as exc:
    sys.exit(str(exc))
"""


def test_workers_opening_a_fresh_postgres_storage_together_all_get_it(postgres):
    """Machines started at once race to create Optuna's tables in an empty database: one CREATE
    wins, the others must open what it made rather than fail."""
    import psycopg2

    for round_ in range(4):  # a fresh database each round; the race is lost or won by timing
        conn = psycopg2.connect(postgres)
        conn.autocommit = True
        conn.cursor().execute(f"CREATE DATABASE race{round_}")
        conn.close()
        url = postgres.rsplit("/", 1)[0] + f"/race{round_}"
        start = str(time.time() + 6)  # after every interpreter has imported optuna
        procs = [subprocess.Popen([sys.executable, "-c", _OPEN_AT, url, start], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(6)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, out + err
