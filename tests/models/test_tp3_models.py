"""TP3's models under every backend: build, one training step, save → load."""

import keras
import numpy as np
import pytest

from model_checks import train_step_and_round_trip
from dltp.models import recipes
from dltp.models.cnn import build_cnn
from dltp.models.resnet import build_resnet


@pytest.mark.parametrize("builder", [build_cnn, build_resnet])
@pytest.mark.parametrize("shape", [(32, 32, 3), (28, 28, 1)])
@pytest.mark.parametrize("recipe", ["original", "fast"])
def test_classifiers(builder, shape, recipe, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((8, *shape), dtype=np.float32)
    y = rng.integers(0, 10, 8)
    model = builder(shape, 10)
    assert model.output_shape == (None, 10)
    params = {**recipes.settings(recipe), "epochs": 1}
    recipes.compile_for(model, params, steps_per_epoch=1, num_classes=10)
    train_step_and_round_trip(model, x, y, model.loss, tmp_path, optimizer=model.optimizer,
                              metrics=["accuracy"])


def test_parameter_counts():
    cnn = build_cnn((32, 32, 3), 10)
    # conv1 + conv2 + dense 8·8·64→512 + output
    assert cnn.count_params() == (3 * 9 * 32 + 32) + (32 * 9 * 64 + 64) + (8 * 8 * 64 * 512 + 512) + (512 * 10 + 10)
    resnet = build_resnet((32, 32, 3), 10)
    assert resnet.count_params() < cnn.count_params() / 10  # global pooling instead of a huge Dense
    assert [l.name for l in resnet.layers if l.name.endswith("_proj")] == ["block2_proj"]


def test_residual_block_can_be_the_identity():
    """With the second BN's scale at zero, F(x) = 0 and a block returns relu(x) = x for x ≥ 0."""
    from dltp.models.resnet import residual_block

    inputs = keras.Input((8, 8, 32))
    model = keras.Model(inputs, residual_block(inputs, 32, 1, "b"))
    bn = model.get_layer("b_bn2")
    bn.gamma.assign(np.zeros(32, "float32"))
    bn.beta.assign(np.zeros(32, "float32"))
    x = np.random.default_rng(0).random((2, 8, 8, 32), dtype=np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), x, atol=1e-5)


def test_smoothed_loss_matches_keras_categorical():
    loss = recipes.SparseSmoothedCrossentropy(3, 0.1)
    y_pred = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], "float32")
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(np.eye(3, dtype="float32")[[0, 2]], y_pred)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss(np.array([0, 2]), y_pred)),
                               keras.ops.convert_to_numpy(expected), rtol=1e-5)


def test_shift_flip_augmentation():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 255, (16, 6, 6, 1)).astype("float32")
    out = recipes.random_shift_flip(x, rng, shift=2, flip=False)
    assert out.shape == x.shape
    for a, b in zip(x, out):  # every output is the input moved by at most 2 px, zero-filled
        assert any(np.array_equal(np.pad(a, ((2, 2), (2, 2), (0, 0)))[dy:dy + 6, dx:dx + 6], b)
                   for dy in range(5) for dx in range(5))
    batches = recipes.AugmentedBatches(x, np.arange(16), 5, flip=True, seed=1)
    assert len(batches) == 4 and sum(len(batches[i][1]) for i in range(4)) == 16


def test_detector(tmp_path):
    from dltp.data.shapes import detection_images
    from dltp.models.detection import build_detector, compile_detector

    x, y, boxes = detection_images(8, seed=0)
    assert (boxes[:, 2:] > boxes[:, :2]).all() and ((boxes >= 0) & (boxes <= 1)).all()
    model = build_detector(x.shape[1:], 3)
    compile_detector(model, box_weight=5.0)
    before = [w.copy() for w in model.get_weights()]
    model.fit(x / 255.0, {"class": y, "box": boxes}, epochs=1, batch_size=8, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    path = tmp_path / "detector.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    a, b = model.predict(x / 255.0, verbose=0), loaded.predict(x / 255.0, verbose=0)
    for head in ("class", "box"):
        np.testing.assert_allclose(a[head], b[head], rtol=1e-5, atol=1e-6)


def test_style_transfer_gradient_steps_lower_the_loss():
    from dltp.labs.tp3_style_transfer import transfer
    from dltp.models import style

    keras.utils.set_random_seed(0)
    extractor = style.feature_extractor(32, weights=None)
    rng = np.random.default_rng(0)
    content = rng.uniform(0, 255, (32, 32, 3)).astype("float32")
    style_image = np.tile(np.linspace(0, 255, 32, dtype="float32")[None, :, None], (32, 1, 3))
    image, history = transfer(content, style_image, extractor, steps=3, progress=False)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert history["content"][0] == pytest.approx(0.0, abs=1e-6)  # starts from the content image
    assert history["total"][-1] < history["total"][0]
    gram = keras.ops.convert_to_numpy(style.gram_matrix(keras.ops.ones((4, 4, 2))))
    np.testing.assert_allclose(gram, np.ones((2, 2)))
