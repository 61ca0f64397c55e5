"""Property test: whatever the body, content type, method or path, the service never answers 5xx,
and every error is a JSON object saying what went wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serve_fixtures import model_dir, served  # noqa: F401 (fixtures)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.sampled_from([0, 255, 255.0000001, -0.0, -1e-9, 1e308, 128.5]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                           max_leaves=12)


@st.composite
def images(draw):
    """Image-like values: right or wrong length/shape, valid values with an occasional bad one."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.RandomState(seed)
    high = draw(st.sampled_from([1, 255, 256, 1000]))
    floats = draw(st.booleans())
    shape = draw(st.sampled_from(["flat", "rows", "ragged", "deep"]))
    length = draw(st.sampled_from([784, 784, 784, 0, 1, 28, 783, 785, 1568]))
    values = rng.uniform(0, high, length) if floats else rng.randint(0, high, length)
    image = values.tolist()
    if shape == "rows" and length % 28 == 0 and length:
        image = [image[i:i + 28] for i in range(0, length, 28)]
    elif shape == "ragged" and length > 30:
        image = [image[:28], image[28:29]] + [image[i:i + 28] for i in range(29, length, 28)]
    elif shape == "deep" and length:
        image = [[[v]] for v in image[:28]]
    if draw(st.booleans()) and length:
        bad = draw(json_values)
        flat = image if not isinstance(image[0], list) else image[rng.randint(len(image))]
        flat[rng.randint(len(flat))] = bad
    return image


def dumps(payload) -> bytes:
    return json.dumps(payload, allow_nan=True).encode()  # NaN/Infinity tokens on purpose


bodies = st.one_of(
    images().map(lambda im: dumps({"image": im})),
    st.lists(images(), max_size=3).map(lambda ims: dumps({"images": ims})),
    st.integers(60, 70).map(lambda n: dumps({"images": [[0] * 784] * n})),
    st.tuples(images(), images()).map(lambda t: dumps({"image": t[0], "images": [t[1]]})),
    json_values.map(dumps),
    st.dictionaries(st.sampled_from(["image", "images", "x"]), json_values, max_size=2).map(dumps),
    st.binary(max_size=64),
    st.binary(max_size=64).map(lambda b: b"\x89PNG\r\n\x1a\n" + b),
    st.binary(max_size=64).map(lambda b: b"\xff\xd8\xff" + b),
    st.text(max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
content_types = st.sampled_from([
    "application/json", "application/json", "application/json; charset=utf-8", "application/problem+json",
    "image/png", "image/jpeg", "multipart/form-data", "multipart/form-data; boundary=xyz",
    "application/x-www-form-urlencoded", "text/plain", "", None,
])
methods = st.sampled_from(["POST"] * 6 + ["GET", "PUT", "DELETE", "PATCH"])
paths = st.sampled_from(["/predict"] * 8 + ["/", "/health", "/ready", "/metrics", "/openapi.json", "/predict/x",
                                            "/nowhere"])


FUZZ_SETTINGS = dict(deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def client(served):
    """One app for the 1,000 requests of the property test (creating one per example is slow)."""
    from dltp.serve.app import create_app

    return create_app(served).test_client()


def check_answer(client, body, content_type, method, path) -> None:
    """No 5xx; an error is a JSON object with its status and what went wrong; a prediction is valid."""
    r = client.open(path, method=method, data=body, content_type=content_type)
    assert r.status_code < 500, (r.status_code, r.get_data()[:300])
    if r.status_code >= 400:
        err = r.get_json()
        assert isinstance(err, dict) and err["status"] == r.status_code and err["error"]
    elif path == "/predict":
        got = r.get_json()
        probs = np.array(got["probabilities"])
        assert probs.shape[-1] == 10 and np.all(np.isfinite(probs))
        assert np.allclose(probs.sum(axis=-1), 1, atol=1e-5)


@settings(max_examples=1000, **FUZZ_SETTINGS)
@given(body=bodies, content_type=content_types, method=methods, path=paths)
def test_no_input_gets_a_server_error(client, body, content_type, method, path):
    check_answer(client, body, content_type, method, path)


def test_fuzz_requests_are_all_counted(served):
    """Fuzzed requests on a fresh app (whatever ran before): every one is counted in /metrics,
    none as an internal error, and the service still answers."""
    from dltp.serve.app import create_app

    fresh = create_app(served).test_client()
    sent = []

    @settings(max_examples=200, **FUZZ_SETTINGS)
    @given(body=bodies, content_type=content_types, method=methods, path=paths)
    def fuzz(body, content_type, method, path):
        check_answer(fresh, body, content_type, method, path)
        sent.append(path)

    fuzz()
    text = fresh.get("/metrics").get_data(as_text=True)
    assert 'reason="internal"' not in text
    total = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line.startswith("dltp_http_requests_total{"))
    assert len(sent) >= 200 and total >= len(sent)
    assert fresh.get("/health").status_code == 200
