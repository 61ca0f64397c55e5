"""Checks on a running container, from outside (tests/container/build_and_run.sh).

    probe.py ready URL                     /ready (the export and its drift reference loaded), one /predict
    probe.py pod URL PROMETHEUS KERAS_FILE /health, /ready, /predict on real MNIST digits equal to the Keras
                                           model's predict within 1e-5, and Prometheus scraping the service
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np


def get(url: str, timeout: float = 5) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def wait_ready(url: str, seconds: float = 300) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        try:
            status, body = get(url + "/ready")
            if status == 200:
                return body
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"{url} never answered /ready")
        time.sleep(0.5)


def predict(url: str, image: list) -> dict:
    req = urllib.request.Request(url + "/predict", json.dumps({"image": image}).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def ready(url: str) -> None:
    body = wait_ready(url)
    assert body["status"] == "ready" and body["drift_reference"] is True, body
    assert body["forward"] == "numpy" and body["backend"] == "none", body
    image = [0] * 784
    for i in range(6, 22):
        image[i * 28 + 14] = 255  # a vertical stroke
    answer = predict(url, image)
    assert len(answer["probabilities"][0]) == 10 and abs(sum(answer["probabilities"][0]) - 1) < 1e-4, answer
    print(f"/ready: {body['model']} ({body['forward']}, backend {body['backend']}); /predict: {answer['prediction']}")


def pod(url: str, prometheus: str, keras_file: str) -> None:
    import keras

    from dltp.data import load_images

    body = wait_ready(url)
    assert get(url + "/health")[0] == 200
    data = load_images("mnist_5k")
    images = data.x_test[np.random.RandomState(0).permutation(len(data.x_test))[:20]].reshape(20, -1)
    served = np.array([predict(url, im.astype(int).tolist())["probabilities"][0] for im in images])
    expected = keras.saving.load_model(keras_file).predict(images.astype("float32") / 255.0, verbose=0)
    np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)
    print(f"/health, /ready ({body['model']}); /predict on 20 MNIST digits = Keras predict within 1e-5 "
          f"(largest difference {np.abs(served - expected).max():.1e})")

    def query(expr: str) -> list:
        q = urllib.parse.urlencode({"query": expr})
        return get(f"{prometheus}/api/v1/query?{q}")[1]["data"]["result"]

    deadline = time.monotonic() + 120
    while True:
        try:
            up = query('up{job="dltp"}')
            answered = query('sum(dltp_http_requests_total{endpoint="/predict",status="200"})')
            if up and up[0]["value"][1] == "1" and answered and float(answered[0]["value"][1]) >= 20:
                break
        except (OSError, KeyError):
            pass
        if time.monotonic() > deadline:
            sys.exit("Prometheus in the pod never scraped the service's 20 answers")
        time.sleep(1)
    rules = get(f"{prometheus}/api/v1/rules")[1]["data"]["groups"]
    alerts = [r["name"] for g in rules for r in g["rules"] if r["type"] == "alerting"]
    assert "DltpInputDrift" in alerts, alerts
    print(f"Prometheus in the pod: target up, {float(answered[0]['value'][1]):.0f} answers scraped, "
          f"{len(alerts)} alert rules loaded")


if __name__ == "__main__":
    {"ready": ready, "pod": pod}[sys.argv[1]](*sys.argv[2:])
