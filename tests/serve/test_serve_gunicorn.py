"""Real servers: `dltp serve` (gunicorn, two workers, the registered MLflow champion) and the Docker
image's own start command, run in this environment."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from conftest import ROOT, unused_port
from serve_fixtures import digit_images, http, metric_values, model_dir, start, stop, wait_ready  # noqa: F401


def register_champion(model_dir: Path) -> None:
    """Log the model as TP1 does (an MLflow model with reference_stats.json) and make it the champion."""
    from test_mlflow_model import register_as_tp1

    register_as_tp1(model_dir)


def test_dltp_serve_two_workers_from_mlflow_champion(model_dir, mlflow_store, tmp_path):
    register_champion(model_dir)
    port = unused_port()
    metrics_dir = tmp_path / "metrics"
    proc = start([sys.executable, "-m", "dltp", "serve", "--port", str(port), "--workers", "2"],
                 {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "DLTP_DRIFT_MIN_IMAGES": "5"})
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_ready(url, proc)
        assert ready["model"] == "models:/mnist-dense@champion" and ready["drift_reference"] is True
        def booted():  # a worker writes its gauges when its app is built
            return {m.group(1) for f in os.listdir(metrics_dir) if (m := re.match(r"gauge_livesum_(\d+)\.db", f))}

        deadline = time.monotonic() + 180
        while len(booted()) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(booted()) == 2, os.listdir(metrics_dir)
        x, _ = digit_images(40)
        bodies = [json.dumps({"image": im.reshape(-1).tolist()}).encode() for im in x]

        def post(body):
            return http("POST", url + "/predict", body, "application/json")

        with ThreadPoolExecutor(4) as pool:  # concurrent clients: both workers get requests
            answers = list(pool.map(post, bodies))
        assert all(status == 200 for status, _ in answers)
        assert all(len(json.loads(b)["probabilities"][0]) == 10 for _, b in answers)
        assert http("POST", url + "/predict", b"{", "application/json")[0] == 400

        # Counters of all workers add up, whichever worker answers the scrape: each worker flushes
        # its counts once a second (dltp.serve.monitoring), the one answering the scrape at once.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            text = http("GET", url + "/metrics")[1].decode()
            if metric_values(text, "dltp_http_requests_total").get(
                    '{endpoint="/predict",method="POST",status="200"}') == 40:
                break
            time.sleep(0.3)
        pids = {m.group(1) for f in os.listdir(metrics_dir) if (m := re.match(r"counter_(\d+)\.db", f))}
        assert len(pids) >= 2, os.listdir(metrics_dir)
        for _ in range(3):
            status, body = http("GET", url + "/metrics")
            assert status == 200
            text = body.decode()
            req = metric_values(text, "dltp_http_requests_total")
            assert req['{endpoint="/predict",method="POST",status="200"}'] == 40
            assert req['{endpoint="/predict",method="POST",status="400"}'] == 1
            assert sum(metric_values(text, "dltp_predictions_total").values()) == 40
            assert metric_values(text, "dltp_input_drift_window_images")[""] == 40
            assert 0 <= metric_values(text, "dltp_input_drift_psi")[""] < 10  # each worker's window: 10+ images
        assert "dltp_model_info{" in text and 'source="models:/mnist-dense@champion"' in text
    finally:
        log = stop(proc)
    assert "Traceback" not in log, log


def test_dltp_serve_bad_model_is_a_clear_error(tmp_path, mlflow_store, capsys):
    from dltp import cli

    assert cli.main(["serve", "--model", str(tmp_path / "nope.keras")]) == 2
    assert "not found" in capsys.readouterr().err
    assert cli.main(["serve", "--model", "models:/no-such-model@champion"]) == 2
    assert "cannot load model" in capsys.readouterr().err


def test_export_for_the_docker_image(model_dir, mlflow_store, tmp_path, capsys):
    from dltp import cli

    register_champion(model_dir)
    assert cli.main(["serve", "--export", str(tmp_path / "model")]) == 0
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["forward.npz", "model.keras",
                                                                      "reference_stats.json"]


def dockerfile() -> tuple[dict, list[str], list[str], str]:
    """The runtime stage of the Dockerfile: its ENV settings, CMD, HEALTHCHECK command and USER."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", text)  # join continued lines
    runtime = text[text.rindex("\nFROM "):]  # the last stage is the image
    env, cmd, health, user = {}, None, None, None
    for line in runtime.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            env.update(dict(item.split("=", 1) for item in shlex.split(rest)))
        elif word == "CMD":
            cmd = json.loads(rest)
        elif word == "HEALTHCHECK":
            health = json.loads(rest.split(" CMD ", 1)[1])
        elif word == "USER":
            user = rest.strip()
    assert cmd and health and user
    return env, cmd, health, user


def test_docker_start_command_serves_ready(model_dir, tmp_path):
    """The image's exact command and settings, here: the model as its build stage exports it."""
    from dltp.serve.model import export

    env, cmd, health, user = dockerfile()
    assert cmd[:3] == ["python3", "-m", "gunicorn"] and not user.startswith(("0", "root"))
    assert env["DLTP_MODEL"] == "/app/model" and env["PYTHONPATH"] == "/opt/serve"
    export(str(model_dir), tmp_path / "model")
    port = unused_port()
    env = {k: v for k, v in env.items() if k not in ("PATH", "PYTHONPATH")}  # the image's install locations
    env.update(DLTP_MODEL=str(tmp_path / "model"), PORT=str(port), DLTP_HOST="127.0.0.1",
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"), DLTP_WORKERS="1", HOME=str(tmp_path))
    proc = start([sys.executable, *cmd[1:]], env)
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}", proc)
        assert ready["status"] == "ready" and ready["forward"] == "numpy" and ready["backend"] == "none"
        probe = subprocess.run([sys.executable, *health[1:]], env={**os.environ, **env}, capture_output=True,
                               timeout=30)
        assert probe.returncode == 0, probe.stderr
        down = subprocess.run([sys.executable, *health[1:]], env={**os.environ, **env, "PORT": str(unused_port())},
                              capture_output=True, text=True, timeout=30)
        assert down.returncode == 1 and "not ready" in down.stderr
        x, _ = digit_images(3)
        status, body = http("POST", f"http://127.0.0.1:{port}/predict",
                            json.dumps({"image": x[0].reshape(-1).tolist()}).encode(), "application/json")
        assert status == 200 and np.isclose(sum(json.loads(body)["probabilities"][0]), 1, atol=1e-5)
    finally:
        stop(proc)
