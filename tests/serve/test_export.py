"""The export the slim image serves: forward.npz gives model.predict's numbers, and the service
imports, loads it and answers with Keras, torch, jax, tensorflow and MLflow out of reach."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from serve_fixtures import digit_images, model_dir  # noqa: F401 (fixtures)

HEAVY = ("torch", "jax", "jaxlib", "keras", "tensorflow", "mlflow", "scipy", "sklearn", "yaml", "h5py", "pandas")


@pytest.fixture(scope="module")
def export_dir(model_dir, tmp_path_factory):
    from dltp.serve.model import export

    out = tmp_path_factory.mktemp("export")
    assert export(str(model_dir), out) == out / "forward.npz"
    assert sorted(p.name for p in out.iterdir()) == ["forward.npz", "model.keras", "reference_stats.json"]
    return out


def test_export_answers_equal_keras_predict(export_dir, model_dir):
    import keras

    from dltp.serve.model import load

    served = load(str(export_dir))
    assert served.keras_model is None and served.forward_kind == "numpy" and served.reference is not None
    assert served.info["backend"] == "none" and served.info["parameters"] == 784 * 512 + 512 + 512 * 10 + 10
    x, _ = digit_images(200)
    flat = x.reshape(len(x), -1)
    expected = keras.saving.load_model(model_dir / "model.keras").predict(flat.astype("float32") / 255.0, verbose=0)
    np.testing.assert_allclose(served.predict_pixels(flat), expected, rtol=1e-5, atol=1e-6)
    # The file alone is a model too (e.g. DLTP_MODEL_PATH=.../forward.npz).
    np.testing.assert_allclose(load(str(export_dir / "forward.npz")).predict_pixels(flat[:5]), expected[:5],
                               rtol=1e-5, atol=1e-6)


def test_export_of_batchnorm_and_other_activations(tmp_path):
    import keras

    from dltp.serve.model import export, load

    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(32),
                              keras.layers.BatchNormalization(), keras.layers.Activation("tanh"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(16, activation="sigmoid"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = digit_images(64)
    model.fit(x.astype("float32") / 255.0, y, epochs=1, verbose=0)  # moving statistics away from 0 and 1
    model.save(tmp_path / "model.keras")
    assert export(str(tmp_path / "model.keras"), tmp_path / "out").name == "forward.npz"
    served = load(str(tmp_path / "out"))
    expected = model.predict(x.astype("float32") / 255.0, verbose=0)
    np.testing.assert_allclose(served.predict_pixels(x.reshape(len(x), -1)), expected, rtol=1e-5, atol=1e-6)


def test_a_model_without_numpy_forward_is_exported_as_keras_only(tmp_path, capsys):
    import keras

    from dltp import cli

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.save(tmp_path / "conv.keras")
    assert cli.main(["serve", "--model", str(tmp_path / "conv.keras"), "--export", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.keras"]
    assert "not by the slim image" in capsys.readouterr().err


def test_broken_forward_files_are_clear_errors(tmp_path, export_dir):
    from dltp.errors import DltpError
    from dltp.serve.model import load

    (tmp_path / "forward.npz").write_bytes(b"not a zip")
    with pytest.raises(DltpError, match="cannot read"):
        load(str(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    np.savez(other / "forward.npz", __spec__=np.array(json.dumps({"format": "something-else"})))
    with pytest.raises(DltpError, match="not a dltp-forward file"):
        load(str(other))
    spec = json.loads(str(np.load(export_dir / "forward.npz")["__spec__"]))
    missing = tmp_path / "missing"
    missing.mkdir()
    np.savez(missing / "forward.npz", __spec__=np.array(json.dumps(spec)))  # the spec without its arrays
    with pytest.raises(DltpError, match="does not hold"):
        load(str(missing))


SLIM = """
import json, os, sys
for name in {heavy!r}:
    sys.modules[name] = None  # `import name` now raises ImportError, as where it is not installed
os.environ["DLTP_MODEL"] = sys.argv[1]
import dltp.serve.gunicorn_conf  # the server's configuration
from dltp.serve.wsgi import app  # what gunicorn serves: loads the model named by DLTP_MODEL
client = app.test_client()
image = json.loads(sys.argv[2])
answer = client.post("/predict", json={{"image": image}})
batch = client.post("/predict", json={{"images": [image, image]}})
metrics = client.get("/metrics")
ready = client.get("/ready").get_json()
print(json.dumps({{"answer": answer.get_json(), "batch": batch.get_json(), "ready": ready,
                  "metrics": metrics.status_code, "loaded": sorted(n for n in {heavy!r} if sys.modules.get(n))}}))
"""


def test_serve_imports_loads_and_answers_without_heavy_libraries(export_dir, model_dir, tmp_path):
    import keras

    x, _ = digit_images(3)
    image = x[0].reshape(-1).astype(int).tolist()
    (tmp_path / "metrics").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    proc = subprocess.run([sys.executable, "-c", SLIM.format(heavy=HEAVY), str(export_dir), json.dumps(image)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ready"]["forward"] == "numpy" and out["ready"]["backend"] == "none" and out["metrics"] == 200
    assert out["loaded"] == []
    expected = keras.saving.load_model(model_dir / "model.keras").predict(np.array([image], "float32") / 255.0,
                                                                          verbose=0)
    np.testing.assert_allclose(out["answer"]["probabilities"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["batch"]["probabilities"], np.repeat(expected, 2, axis=0), rtol=1e-5, atol=1e-6)
