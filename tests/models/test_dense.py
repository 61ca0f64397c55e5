import keras
import numpy as np
import pytest

from model_checks import train_step_and_round_trip
from dltp.models.dense import build_dense


def test_backend_is_the_one_asked_for():
    import os

    assert keras.backend.backend() == os.environ["KERAS_BACKEND"]


@pytest.mark.parametrize("variant", [{}, {"l2": 1e-3, "dropout": 0.5}, {"batch_norm": True}])
def test_dense_classifier(tmp_path, variant):
    model = build_dense(784, 10, **variant)
    assert model.count_params() == 784 * 512 + 512 + 512 * 10 + 10 + (4 * 512 if variant.get("batch_norm") else 0)
    rng = np.random.default_rng(0)
    x = rng.random((32, 784), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    train_step_and_round_trip(model, x, y, "sparse_categorical_crossentropy", tmp_path)
