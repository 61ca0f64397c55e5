"""Slow and broken clients do not take the service down (the worker model: dltp.serve.worker).

A client that sends its body one byte a second, and one that stops halfway, each hold a thread
of a worker; every other request is still answered at once, and the silent client is cut off
after DLTP_CLIENT_TIMEOUT seconds with a JSON 408, so its thread comes back. (Under gunicorn's
sync workers, DLTP_WORKER_CLASS=sync, these tests fail: the slow client holds the worker.)

One worker, so that where the slow clients land is not left to the kernel: with two workers, all of
them can land in the same one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

import pytest
from conftest import ROOT, unused_port
from serve_fixtures import digit_images, http, model_dir, start, stop, wait_ready  # noqa: F401 (fixtures)


def open_request(port: int, body: bytes, content_type: bytes = b"application/json") -> socket.socket:
    """A connection whose request headers are sent in full; the body is up to the caller."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
                 b"Content-Length: %d\r\n\r\n" % (content_type, len(body)))
    return sock


def read_answer(sock: socket.socket) -> tuple[bytes, dict, float]:
    """The status line and headers, the JSON body, and when they came (time.perf_counter)."""
    sock.settimeout(10)
    reply = sock.recv(65536)
    arrived = time.perf_counter()
    head, _, answer = reply.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    while len(answer) < length:  # the body may come in a later segment
        answer += sock.recv(65536)
    return head, json.loads(answer), arrived


@contextlib.contextmanager
def one_worker(model_dir, tmp_path, env: dict):
    """A real one-worker `dltp serve` (silent clients cut off after 3 s): its URL, its port, a JSON body,
    and the event that stops dripping clients; the log is checked for tracebacks at the end."""
    port = unused_port()
    proc = start([sys.executable, "-m", "dltp", "serve", "--model", str(model_dir / "model.keras"),
                  "--port", str(port), "--workers", "1"],
                 {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "DLTP_CLIENT_TIMEOUT": "3", **env})
    url = f"http://127.0.0.1:{port}"
    x, _ = digit_images(2)
    body = json.dumps({"image": x[0].reshape(-1).tolist()}).encode()
    stop_dripping = threading.Event()
    try:
        wait_ready(url, proc)
        yield url, port, body, stop_dripping
    finally:
        stop_dripping.set()
        log = stop(proc)
    assert "Traceback" not in log, log


def start_dripping(port: int, body: bytes, stop_dripping: threading.Event) -> None:
    """A request whose body comes one byte a second, until stop_dripping is set."""
    dripping = open_request(port, body)

    def drip():
        for i in range(len(body)):
            if stop_dripping.wait(1.0):
                return
            dripping.sendall(body[i:i + 1])

    threading.Thread(target=drip, daemon=True).start()


def answered_at_once(url: str, body: bytes) -> None:
    """Ten requests, each answered far below the slow clients' 3 s: never waiting behind them."""
    seconds = []
    for _ in range(10):
        t0 = time.perf_counter()
        status, answer = http("POST", url + "/predict", body, "application/json", timeout=5)
        seconds.append(time.perf_counter() - t0)
        assert status == 200 and len(json.loads(answer)["probabilities"][0]) == 10
    assert statistics.median(seconds) < 0.1, seconds
    assert max(seconds) < 1.0, seconds


def test_default_threads_answer_beside_a_slow_client(model_dir, tmp_path):
    # The service's own thread count (DLTP_SERVE_THREADS unset): one thread trickles, another answers.
    with one_worker(model_dir, tmp_path, {}) as (url, port, body, stop_dripping):
        start_dripping(port, body, stop_dripping)
        time.sleep(0.5)  # the slow client is inside the worker, waiting for its body
        answered_at_once(url, body)


def test_slow_and_silent_clients_do_not_block_other_requests(model_dir, tmp_path):
    # Three slow clients in one worker: four threads (DLTP_SERVE_THREADS, as a service facing slow
    # clients without a proxy would set it) leave one to answer.
    with one_worker(model_dir, tmp_path, {"DLTP_SERVE_THREADS": "4"}) as (url, port, body, stop_dripping):
        assert http("POST", url + "/predict", body, "application/json")[0] == 200
        start_dripping(port, body, stop_dripping)
        silent = open_request(port, body)
        silent.sendall(body[: len(body) // 2])  # ... and nothing more
        picture = open_request(port, b"\x89PNG" + b"\0" * 200, b"image/png")  # through Flask, not the fast path
        picture.sendall(b"\x89PNG")
        went_silent = time.perf_counter()
        time.sleep(0.5)  # all three are now inside the worker, waiting for their bodies
        answered_at_once(url, body)

        # The silent clients are answered 408 once they have said nothing for DLTP_CLIENT_TIMEOUT seconds.
        for sock in (silent, picture):
            head, answer, arrived = read_answer(sock)
            assert head.startswith(b"HTTP/1.1 408"), head
            assert answer["status"] == 408 and "stopped arriving" in answer["error"], answer
            assert 2.5 < arrived - went_silent < 6, arrived - went_silent  # after the 3 s limit, not long after
            assert sock.recv(1) == b"" and time.perf_counter() - arrived < 1  # closed at once: the thread is free
        assert http("GET", url + "/health")[0] == 200


@pytest.mark.parametrize("env, expected", [
    ({}, "ThreadWorker 2"),
    ({"DLTP_SERVE_THREADS": "4"}, "ThreadWorker 4"),
    # gunicorn runs gthread for a sync worker with threads > 1: sync must mean one thread
    ({"DLTP_WORKER_CLASS": "sync"}, "SyncWorker 1"),
    ({"DLTP_WORKER_CLASS": "sync", "DLTP_SERVE_THREADS": "4"}, "SyncWorker 1"),
])
def test_the_worker_class_gunicorn_runs_is_the_one_configured(env, expected):
    # gunicorn's Config, set from the service's configuration as a custom gunicorn application sets it.
    code = ("import gunicorn.config, dltp.serve.gunicorn_conf as conf\n"
            "cfg = gunicorn.config.Config()\n"
            "cfg.set('worker_class', conf.worker_class)\n"
            "cfg.set('threads', conf.threads)\n"
            "print(cfg.worker_class.__name__, cfg.threads)")
    clean = {k: v for k, v in os.environ.items() if k not in ("DLTP_WORKER_CLASS", "DLTP_SERVE_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**clean, "PYTHONPATH": str(ROOT / "src"), **env})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == expected.split()
