import os

import keras
import numpy as np
import pytest

from conftest import digits_as_mnist
from model_checks import train_step_and_round_trip
from dltp.models.dense import build_dense

NATIVE_TENSOR_MODULE = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}


def test_computation_runs_on_the_backend_asked_for():
    """Not only the variable: keras.ops produces the backend's own tensors."""
    backend = os.environ["KERAS_BACKEND"]
    assert keras.backend.backend() == backend
    tensor = keras.ops.matmul(keras.ops.ones((2, 3)), keras.ops.ones((3, 4)))
    assert type(tensor).__module__.split(".")[0] in (NATIVE_TENSOR_MODULE[backend], "jaxlib")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(tensor), np.full((2, 4), 3.0))


@pytest.mark.parametrize("variant", [{}, {"l2": 1e-3, "dropout": 0.5}, {"batch_norm": True}])
def test_dense_classifier(tmp_path, variant):
    model = build_dense(784, 10, **variant)
    assert model.count_params() == 784 * 512 + 512 * 10 + 512 + 10 + (4 * 512 if variant.get("batch_norm") else 0)
    rng = np.random.default_rng(0)
    x = rng.random((32, 784), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    train_step_and_round_trip(model, x, y, "sparse_categorical_crossentropy", tmp_path)


def test_outputs_are_probabilities_and_dropout_acts_only_in_training():
    keras.utils.set_random_seed(0)
    model = build_dense(784, 10, dropout=0.5)
    x = np.random.default_rng(1).random((16, 784), dtype=np.float32)
    probs = keras.ops.convert_to_numpy(model(x, training=False))
    assert probs.shape == (16, 10) and np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(probs, keras.ops.convert_to_numpy(model(x, training=False)))  # deterministic
    assert not np.allclose(probs, keras.ops.convert_to_numpy(model(x, training=True)))


def test_l2_adds_a_weight_penalty_to_the_loss():
    plain, penalised = build_dense(784, 10), build_dense(784, 10, l2=1e-2)
    assert not plain.losses
    kernel = keras.ops.convert_to_numpy(penalised.get_layer("hidden").kernel)
    penalty = sum(float(keras.ops.convert_to_numpy(loss)) for loss in penalised.losses)
    assert penalty == pytest.approx(1e-2 * float(np.sum(kernel**2)), rel=1e-4)


def test_learns_real_digits_well_above_chance():
    keras.utils.set_random_seed(0)
    x_train, y_train, x_test, y_test = digits_as_mnist(1000, 300)
    model = build_dense(784, 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train.reshape(len(x_train), -1) / 255.0, y_train, epochs=5, batch_size=64, verbose=0)
    _, accuracy = model.evaluate(x_test.reshape(len(x_test), -1) / 255.0, y_test, verbose=0)
    assert accuracy > 0.8  # ten classes: chance is 0.1; a network that does not learn stays near it
