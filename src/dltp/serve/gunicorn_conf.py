"""gunicorn settings for the service: ``gunicorn -c python:dltp.serve.gunicorn_conf dltp.serve.wsgi:app``.

Used both by ``dltp serve`` and by the Docker image. Configured by environment variables so that
the container needs no other command: ``PORT`` (default 5000; Cloud Run sets it), ``DLTP_HOST``
(default 0.0.0.0), ``DLTP_WORKERS`` (default: one per CPU core), ``DLTP_SERVE_THREADS`` (threads per
worker, default 2), ``DLTP_CLIENT_TIMEOUT`` (seconds a client may stay silent in the middle of its
body, default 10; see ``dltp.serve.worker``), ``DLTP_MODEL`` (a path or an MLflow model URI; an
MLflow model is downloaded once here, in the master, before the workers start). Command-line flags
(``--bind``, ``--workers``) override them.
"""

import os
import shutil
import sys
import tempfile

from dltp.serve import DEFAULT_THREADS

bind = f"{os.environ.get('DLTP_HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("DLTP_WORKERS") or os.cpu_count() or 1)
# gunicorn's threaded worker, so that a slow client holds one thread and not a whole worker
# (dltp.serve.worker); keep-alive connections are served without a new TCP handshake per request.
worker_class = os.environ.get("DLTP_WORKER_CLASS", "gthread")
# A sync worker has one thread: with threads > 1 gunicorn would run gthread instead, without a word.
threads = 1 if worker_class == "sync" else int(os.environ.get("DLTP_SERVE_THREADS", DEFAULT_THREADS))
keepalive = 5
timeout = 60
graceful_timeout = 10
control_socket_disable = True  # gunicorn 26's admin socket (in $HOME/.gunicorn): not used here
accesslog = None
errorlog = "-"
loglevel = os.environ.get("DLTP_LOG_LEVEL", "info")

# The workers are the parallelism: one math thread each (set before any worker imports numpy).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
# prometheus_client's multiprocess mode: every worker writes its metrics under this directory.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dltp-metrics-")


def on_starting(server):
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(metrics_dir, exist_ok=True)
    for name in os.listdir(metrics_dir):  # values of a previous server are not ours
        path = os.path.join(metrics_dir, name)
        if name.endswith(".db") and os.path.isfile(path):
            os.remove(path)
    if os.environ.get("DLTP_MODEL_PATH"):
        return
    from dltp.errors import DltpError
    from dltp.serve import DEFAULT_MODEL, model

    source = os.environ.get("DLTP_MODEL", DEFAULT_MODEL)
    if model.is_local(source):
        return
    try:
        path = model.resolve(source, tempfile.mkdtemp(prefix="dltp-model-"))
    except DltpError as exc:
        print(f"dltp serve: error: {exc}", file=sys.stderr)
        sys.exit(2)
    server.log.info("model %s downloaded to %s", source, path)
    os.environ["DLTP_MODEL_PATH"] = str(path)


def nworkers_changed(server, new_value, old_value):
    # The workers export how many of them there should be (dltp_workers_expected): a worker down
    # is then a difference between two numbers, not a series gone missing.
    os.environ["DLTP_WORKERS_EXPECTED"] = str(new_value)


def worker_exit(server, worker):
    from dltp.serve.monitoring import flush_all

    flush_all()  # the requests of its last second, before the worker's process ends


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if os.path.basename(metrics_dir).startswith("dltp-metrics-"):
        shutil.rmtree(metrics_dir, ignore_errors=True)
