"""The service in process (Flask's test client): contract, numbers, errors, metrics, drift."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from serve_fixtures import digit_images, metric_values, model_dir, served  # noqa: F401 (fixtures)


@pytest.fixture
def app(served):
    from dltp.serve.app import create_app

    return create_app(served, drift_window=300, drift_min_images=100)


@pytest.fixture
def client(app):
    return app.test_client()


def png(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buf, fmt)
    return buf.getvalue()


def test_original_contract_and_numbers_equal_model_predict(client, served):
    x, y = digit_images(200)
    flat = x.reshape(len(x), -1)
    expected = served.keras_model.predict(flat.astype("float32") / 255.0, verbose=0)
    assert served.forward_kind == "numpy"
    np.testing.assert_allclose(served.predict_pixels(flat), expected, rtol=1e-5, atol=1e-6)

    r = client.post("/predict", json={"image": flat[0].tolist()})
    assert r.status_code == 200
    body = r.get_json()
    assert list(body) == ["prediction", "probabilities"]  # exactly the original contract
    assert isinstance(body["prediction"], int) and len(body["probabilities"]) == 1
    assert len(body["probabilities"][0]) == 10
    np.testing.assert_allclose(body["probabilities"], expected[:1], rtol=1e-5, atol=1e-6)
    assert body["prediction"] == int(expected[0].argmax())

    # The same image as 28 rows of 28, floats allowed.
    rows = (x[0].astype(float)).tolist()
    assert client.post("/predict", json={"image": rows}).get_json() == body

    # A batch.
    r = client.post("/predict", json={"images": [im.tolist() for im in flat[:16]]})
    assert r.status_code == 200
    batch = r.get_json()
    assert batch["predictions"] == expected[:16].argmax(axis=1).tolist()
    np.testing.assert_allclose(batch["probabilities"], expected[:16], rtol=1e-5, atol=1e-6)
    assert (np.array(batch["predictions"]) == y[:16]).mean() > 0.6  # the model learnt something


def test_direct_call_forward_matches_predict_for_other_models():
    import keras

    from dltp.serve.model import compile_forward

    inputs = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    h = keras.layers.Flatten()(h)
    outputs = keras.layers.Dense(10, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    forward, kind = compile_forward(model)
    assert kind == "direct-call"
    x = np.random.RandomState(0).rand(3, 28, 28, 1).astype("float32")
    np.testing.assert_allclose(forward(x), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)

    from dltp.models.dense import build_dense

    bn = build_dense(batch_norm=True)  # TP2's variation also compiles to NumPy
    forward, kind = compile_forward(bn)
    assert kind == "numpy"
    x = np.random.RandomState(1).rand(5, 784).astype("float32")
    np.testing.assert_allclose(forward(x), bn.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_picture_uploads_are_made_mnist_style(client, served):
    x, y = digit_images(40)
    # A "photo": dark ink on light paper, larger and off-centre, as PNG, JPEG and a form upload.
    paper = np.full((200, 160), 230, dtype=np.uint8)
    big = np.asarray(Image.fromarray(x[3]).resize((112, 112), Image.BILINEAR))
    paper[70:182, 30:142] = 230 - (big.astype(int) * 200 // 255)
    direct = served.predict_pixels(x[3].reshape(1, -1))[0].argmax()
    for data, ctype in ((png(paper), "image/png"), (png(paper, "JPEG"), "image/jpeg")):
        r = client.post("/predict", data=data, content_type=ctype)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert body["prediction"] == direct
        seen = np.array(body["input"])
        assert seen.shape == (28, 28) and seen.max() > 200 and seen[:, :3].sum() == 0  # centred, padded
    r = client.post("/predict", data={"file": (io.BytesIO(png(paper)), "digit.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 200 and r.get_json()["prediction"] == direct

    blank = client.post("/predict", data=png(np.zeros((50, 50))), content_type="image/png")
    assert blank.status_code == 200 and np.array(blank.get_json()["input"]).sum() == 0


@pytest.mark.parametrize("body, content_type, status, words", [
    (b"not json", "application/json", 400, "not valid JSON"),
    (b"[1, 2, 3]", "application/json", 400, "JSON object"),
    (b"{}", "application/json", 400, "exactly one of"),
    (b'{"img": []}', "application/json", 400, "exactly one of"),
    (json.dumps({"image": [0] * 783}).encode(), "application/json", 400, "783 values"),
    (json.dumps({"image": [[0] * 28] * 27 + [[0] * 27]}).encode(), "application/json", 400, "27 values"),
    (json.dumps({"image": ["0"] * 784}).encode(), "application/json", 400, "must be numbers"),
    (json.dumps({"image": [True] * 784}).encode(), "application/json", 400, "must be numbers"),
    (json.dumps({"image": [None] * 784}).encode(), "application/json", 400, "must be numbers"),
    (b'{"image": [' + b"NaN, " * 783 + b"0]}", "application/json", 400, "NaN"),
    (b'{"image": [' + b"Infinity, " * 783 + b"0]}", "application/json", 400, "Infinity"),
    (b'{"image": [' + b"1e999, " * 783 + b"0]}", "application/json", 400, "not finite"),
    (json.dumps({"image": [256] * 784}).encode(), "application/json", 400, "outside 0-255"),
    (json.dumps({"image": [-1] * 784}).encode(), "application/json", 400, "outside 0-255"),
    (json.dumps({"image": 5}).encode(), "application/json", 400, "must be a list"),
    (json.dumps({"images": []}).encode(), "application/json", 400, "non-empty"),
    (json.dumps({"images": [[0] * 784] * 65}).encode(), "application/json", 400, "at most 64"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "JSON"),
    (b"\xff\xfe\x00", "application/json", 400, "not valid JSON"),
    (b"abc", "text/plain", 415, "unsupported content type"),
    (b"abc", None, 415, "unsupported content type"),
    (b"GIF89a....", "image/png", 400, "not a readable PNG"),
    (b"", "image/png", 400, "empty"),
    (b"x" * (2 * 1024 * 1024 + 1), "application/json", 413, "larger than"),
])
def test_bad_input_is_a_clear_client_error(client, body, content_type, status, words):
    r = client.post("/predict", data=body, content_type=content_type)
    assert r.status_code == status
    err = r.get_json()
    assert err["status"] == status and words in err["error"]


def test_gif_upload_and_multipart_without_file(client):
    gif = io.BytesIO()
    Image.new("L", (10, 10)).save(gif, "GIF")
    r = client.post("/predict", data=gif.getvalue(), content_type="image/png")
    assert r.status_code == 415 and "PNG or JPEG" in r.get_json()["error"]
    r = client.post("/predict", data={"other": "x"}, content_type="multipart/form-data")
    assert r.status_code == 400 and '"file"' in r.get_json()["error"]


def test_fast_path_and_flask_path_answer_alike(client, app, served):
    """The common request skips Flask (dltp.serve.fastpath); anything it does not take goes through Flask."""
    from dltp.serve.fastpath import FastPredict

    assert isinstance(app.wsgi_app, FastPredict)
    x, _ = digit_images(3)
    flat = x[0].reshape(-1).astype(int).tolist()
    fast = client.post("/predict", json={"image": flat})
    assert fast.status_code == 200 and fast.headers["Content-Type"] == "application/json"
    slow = client.post("/predict", data=json.dumps({"image": flat}), content_type="application/vnd.digit+json")
    assert slow.get_json() == fast.get_json()
    # A body shorter than its Content-Length (the client went away): a JSON 400, never a 500.
    short = client.post("/predict", data=b'{"image": [1, 2', content_type="application/json",
                        environ_overrides={"CONTENT_LENGTH": "1000"})
    assert short.status_code == 400 and "ended before" in short.get_json()["error"]
    # Valid JSON that the fast path does not take (a value out of range) gets Flask's exact error.
    bad = client.post("/predict", json={"image": [300] + flat[1:]})
    assert bad.status_code == 400 and "image[0] = 300 is outside 0-255" in bad.get_json()["error"]


def test_methods_paths_health_ready_openapi_page(client, app):
    r = client.get("/predict")
    assert r.status_code == 405 and "POST" in r.headers["Allow"] and r.get_json()["status"] == 405
    assert client.put("/health").status_code == 405
    assert client.get("/nowhere").status_code == 404 and client.get("/nowhere").get_json()["status"] == 404
    assert client.get("/health").get_json() == {"status": "alive"}
    ready = client.get("/ready").get_json()
    assert ready["status"] == "ready" and ready["forward"] == "numpy" and ready["drift_reference"] is True
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/predict", "/health", "/ready", "/metrics", "/openapi.json", "/"} <= set(spec["paths"])
    for code in ("400", "405", "413", "415"):
        assert code in spec["paths"]["/predict"]["post"]["responses"]
    page = client.get("/")
    assert page.status_code == 200 and b"<canvas" in page.data and b"viewport" in page.data


def test_not_ready_without_a_model():
    from dltp.serve.app import create_app

    client = create_app(None).test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 503
    assert client.post("/predict", json={"image": [0] * 784}).status_code == 503


def test_metrics_count_requests_errors_classes_confidence(client):
    from dltp.serve.monitoring import METRICS

    x, _ = digit_images(20)
    for im in x[:7]:
        assert client.post("/predict", json={"image": im.reshape(-1).tolist()}).status_code == 200
    client.post("/predict", json={"image": [300] * 784})
    client.post("/predict", data=b"{", content_type="application/json")
    client.get("/predict")
    text = client.get("/metrics").get_data(as_text=True)
    for name, (kind, _) in METRICS.items():  # every documented metric is exported
        base = name[:-len("_total")] if kind == "counter" else name
        assert f"# TYPE {name} {kind}" in text or f"# TYPE {base} {kind}" in text, name
    req = metric_values(text, "dltp_http_requests_total")
    assert req['{endpoint="/predict",method="POST",status="200"}'] == 7
    assert req['{endpoint="/predict",method="POST",status="400"}'] == 2
    assert req['{endpoint="/predict",method="GET",status="405"}'] == 1
    errors = metric_values(text, "dltp_http_errors_total")
    assert errors['{endpoint="/predict",reason="out_of_range"}'] == 1
    assert errors['{endpoint="/predict",reason="bad_json"}'] == 1
    assert sum(metric_values(text, "dltp_predictions_total").values()) == 7
    assert metric_values(text, "dltp_prediction_confidence_count")[""] == 7
    assert metric_values(text, "dltp_input_mean_pixel_count")[""] == 7
    assert metric_values(text, "dltp_http_request_duration_seconds_count")['{endpoint="/predict"}'] == 10
    assert metric_values(text, "dltp_process_resident_memory_bytes")[""] > 10e6


def _drift_after(client, images) -> float:
    for start in range(0, len(images), 50):
        chunk = images[start:start + 50]
        r = client.post("/predict", json={"images": [im.reshape(-1).tolist() for im in chunk]})
        assert r.status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    return metric_values(text, "dltp_input_drift_psi")[""], metric_values(text, "dltp_input_drift_alert")[""]


def test_drift_low_for_real_digits_high_for_inverted_or_blank(app, served):
    from dltp.serve.app import create_app

    x, _ = digit_images(300)
    psi, alert = _drift_after(app.test_client(), x)
    assert psi < 0.1 and alert == 0

    psi, alert = _drift_after(create_app(served, drift_window=300).test_client(), 255 - x)
    assert psi > 0.25 and alert == 1

    psi, alert = _drift_after(create_app(served, drift_window=300).test_client(), np.zeros_like(x))
    assert psi > 0.25 and alert == 1

    # A sliding window: real traffic again brings the score back down.
    c = create_app(served, drift_window=300).test_client()
    _drift_after(c, 255 - x)
    psi, alert = _drift_after(c, x)
    assert psi < 0.1 and alert == 0


def test_drift_needs_a_reference_and_enough_images():
    from dltp.serve.monitoring import Drift, psi, quantile_bins

    assert Drift(None).score() is None
    edges = np.linspace(0, 255, 52)
    counts = np.histogram(np.random.RandomState(0).normal(35, 8, 5000), bins=edges)[0]
    merged, expected = quantile_bins(edges, counts, 10)
    assert merged[0] == 0 and merged[-1] == 255 and abs(expected.sum() - 1) < 1e-12
    assert expected.max() < 0.25  # about a tenth of the reference in each bin
    d = Drift({"mean_pixel": {"edges": edges.tolist(), "counts": counts.tolist()}}, min_images=10)
    for _ in range(9):
        d.add(35.0)
    assert d.score() is None
    d.add(35.0)
    assert d.score() > 0.25  # every image in one bin of ten
    assert psi(expected, expected * 1000) == pytest.approx(0.0, abs=1e-12)


def test_model_loading_errors_are_clear(tmp_path):
    from dltp.errors import DltpError
    from dltp.serve.model import load

    with pytest.raises(DltpError, match="not found"):
        load(str(tmp_path / "missing.keras"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DltpError, match="no model.keras"):
        load(str(tmp_path / "empty"))
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DltpError, match="cannot load"):
        load(str(bad))


def test_vectorised_checks_take_only_plain_numbers(client):
    from dltp.serve import validation

    assert validation.plain_numbers(b'{"image": [1, 2.5, 3e2, -0.0]}')
    for body in (b'{"image": [true, 1]}', b'{"image": [null]}', b'{"image": ["1"]}', b'{"image": [1], "x": 2}',
                 b'[1, 2]', b'{"image": [false]}'):
        assert not validation.plain_numbers(body), body
    # The vectorised path and the value-by-value one agree (a batch of 28 rows of 28, floats).
    x, _ = digit_images(16)
    body = json.dumps({"images": [(im / 3).tolist() for im in x]}).encode()
    fast, batch = validation.json_pixels(json.loads(body), validation.plain_numbers(body))
    slow, _ = validation.json_pixels(json.loads(body), False)
    assert batch and fast.shape == (16, 784)
    np.testing.assert_array_equal(fast, slow)
    # Values NumPy would take but the contract refuses: a bool is never read as 1, a string never as a number.
    flat = x[0].reshape(-1).astype(int).tolist()
    for bad, words in ((True, "image[5] is bool"), ("7", "image[5] is str"), (255.0001, "outside 0-255"),
                       (-1e-9, "outside 0-255")):
        image = flat[:5] + [bad] + flat[6:]
        r = client.post("/predict", json={"image": image})
        assert r.status_code == 400 and words in r.get_json()["error"], (bad, r.get_json())
        r = client.post("/predict", json={"images": [flat, image]})
        assert r.status_code == 400 and "images[1][5]" in r.get_json()["error"], (bad, r.get_json())
    # -0.0 is 0: answered like 0 (the slow path takes what the one-reduction range check leaves to it).
    zero = client.post("/predict", json={"image": [0.0] + flat[1:]}).get_json()
    assert client.post("/predict", json={"image": [-0.0] + flat[1:]}).get_json() == zero
