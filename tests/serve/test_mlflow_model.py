"""The registered champion is a real MLflow model: pyfunc and the Keras flavor load it and agree
with `dltp serve`; older registrations (a folder with model.keras, no MLmodel) still serve."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest

from serve_fixtures import digit_images, model_dir  # noqa: F401 (fixtures)

CHAMPION = "models:/mnist-dense@champion"


def register_as_tp1(model_dir: Path) -> str:
    """Log and register the model exactly as TP1 does; return the registered version."""
    import keras

    from dltp import tracking

    model = keras.saving.load_model(model_dir / "model.keras")
    stats = json.loads((model_dir / "reference_stats.json").read_text())
    x, _ = digit_images(4)
    with tracking.run("tp1-mnist-dense", dltp_id="tp1", run_name="mlflow-format") as active:
        source, model_id = tracking.log_mlflow_keras_model(
            model, x[:1].reshape(1, -1).astype("float32") / 255.0, "model", {"reference_stats.json": stats})
        version, _ = tracking.register_model("mnist-dense", source, active.info.run_id, score_key="test_accuracy",
                                             score=0.9, dataset="digits", fallback=False, model_id=model_id)
    return version


def test_champion_is_an_mlflow_model_and_every_loader_agrees_with_dltp_serve(model_dir, mlflow_store):
    from dltp.serve.app import create_app
    from dltp.serve.model import load

    register_as_tp1(model_dir)
    local = Path(mlflow.artifacts.download_artifacts(CHAMPION))
    assert (local / "MLmodel").is_file() and (local / "reference_stats.json").is_file()
    info = mlflow.models.get_model_info(CHAMPION)
    assert {"keras", "python_function"} <= set(info.flavors)
    assert info.signature is not None and info.signature.inputs.to_dict()[0]["tensor-spec"]["shape"] == (-1, 784)
    assert info.saved_input_example_info is not None

    x, _ = digit_images(8)
    pixels = x.reshape(len(x), -1)
    served = load(CHAMPION)
    assert served.reference is not None and served.forward_kind == "numpy"
    client = create_app(served).test_client()
    answers = [client.post("/predict", json={"image": p.tolist()}).get_json() for p in pixels]
    served_probs = np.array([a["probabilities"][0] for a in answers])

    scaled = pixels.astype("float32") / 255.0  # the signature's input: pixels / 255, as in training
    pyfunc_probs = np.asarray(mlflow.pyfunc.load_model(CHAMPION).predict(scaled))
    keras_probs = np.asarray(mlflow.keras.load_model(CHAMPION).predict(scaled, verbose=0))
    np.testing.assert_allclose(pyfunc_probs, served_probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras_probs, served_probs, rtol=1e-5, atol=1e-6)
    assert [a["prediction"] for a in answers] == pyfunc_probs.argmax(axis=1).tolist()


def test_an_older_registration_without_mlmodel_still_serves(model_dir, mlflow_store):
    from dltp import tracking
    from dltp.serve.model import load

    with tracking.run("tp1-mnist-dense", dltp_id="tp1", run_name="legacy") as active:
        mlflow.log_artifacts(str(model_dir), "model")
        tracking.register_model("mnist-dense", f"{mlflow.get_artifact_uri()}/model", active.info.run_id,
                                score_key="test_accuracy", score=0.9, dataset="digits", fallback=False)
    served = load(CHAMPION)
    assert served.reference is not None
    x, _ = digit_images(2)
    assert served.predict_pixels(x.reshape(2, -1)).shape == (2, 10)


def test_mlflow_model_without_keras_flavor_is_a_clear_error(tmp_path):
    from dltp.errors import DltpError
    from dltp.serve.model import load

    folder = tmp_path / "sk"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors:\n  sklearn:\n    pickled_model: model.pkl\n")
    with pytest.raises(DltpError, match="no Keras flavor.*re-register"):
        load(str(folder))
    (folder / "MLmodel").write_text("flavors:\n  keras:\n    data: data\n")
    with pytest.raises(DltpError, match="has no data"):
        load(str(folder))
