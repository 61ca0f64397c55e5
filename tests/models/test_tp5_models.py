"""TP5 attention layers against a hand computation in numpy, and the TP5 models' training step and
save → load round trip (run under torch, jax and tensorflow)."""

import keras
import numpy as np
import pytest

from model_checks import train_step_and_round_trip
from dltp.models.attention import AdditiveAttention, ScaledDotProductAttention, build_attention_classifier
from dltp.models.seq2seq import build_seq2seq, predict_autoregressive, teacher_forced_inputs


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_additive_attention_matches_hand_computation():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((3, 7, 4)).astype("float32")
    q = rng.standard_normal((3, 5)).astype("float32")
    layer = AdditiveAttention(6)
    layer(h, q)
    W, b, v, U = (rng.standard_normal(w.shape).astype("float32") for w in layer.weights)
    layer.set_weights([W, b, v, U])
    context, weights = (keras.ops.convert_to_numpy(t) for t in layer(h, q))

    scores = np.tanh(h @ W + b + (q @ U)[:, None, :]) @ v  # (3, 7)
    expected_w = softmax(scores)
    np.testing.assert_allclose(weights, expected_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(context, (h * expected_w[..., None]).sum(axis=1), rtol=1e-5, atol=1e-5)

    # Without a query (the classifier's pooling) and with a padding mask.
    pool = AdditiveAttention(6)
    mask = np.ones((3, 7), bool)
    mask[0, 4:] = False
    pool(h, mask=mask)
    pool.set_weights([W, b, v])
    context, weights = (keras.ops.convert_to_numpy(t) for t in pool(h, mask=mask))
    scores = np.tanh(h @ W + b) @ v
    scores[~mask] = -np.inf
    np.testing.assert_allclose(weights, softmax(scores), rtol=1e-5, atol=1e-6)
    assert np.all(weights[0, 4:] == 0)


@pytest.mark.parametrize("causal", [False, True])
def test_scaled_dot_product_attention_matches_hand_computation(causal):
    rng = np.random.default_rng(1)
    q = rng.standard_normal((2, 5, 8)).astype("float32")
    k = rng.standard_normal((2, 5, 8)).astype("float32")
    v = rng.standard_normal((2, 5, 3)).astype("float32")
    key_mask = np.ones((2, 5), bool)
    key_mask[1, 3:] = False  # padding at the end of the second sequence
    out, weights = (keras.ops.convert_to_numpy(t)
                    for t in ScaledDotProductAttention(causal=causal)(q, v, key=k, key_mask=key_mask))

    scores = q @ k.transpose(0, 2, 1) / np.sqrt(8)
    allowed = np.broadcast_to(key_mask[:, None, :], scores.shape).copy()
    if causal:
        allowed &= np.tril(np.ones((5, 5), bool))[None]
    scores = np.where(allowed, scores, -np.inf)
    expected = softmax(scores)
    np.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, expected @ v, rtol=1e-5, atol=1e-5)
    if causal:  # no weight on the future
        assert np.all(np.triu(weights[0], 1) == 0)


def test_entropy_penalty_is_added_to_the_loss():
    rng = np.random.default_rng(3)
    h = rng.standard_normal((4, 6, 5)).astype("float32")
    inputs = keras.Input((6, 5))
    context, _ = AdditiveAttention(4, entropy_penalty=0.3)(inputs)
    model = keras.Model(inputs, context)
    model.compile(optimizer="sgd", loss="mse")
    plain = model.evaluate(h, np.zeros((4, 5), "float32"), verbose=0)
    layer = model.layers[1]
    w = keras.ops.convert_to_numpy(layer(h)[1])
    out = keras.ops.convert_to_numpy(model.predict(h, verbose=0))
    expected = (out ** 2).mean() + 0.3 * (-(w * np.log(w + 1e-9)).sum(-1)).mean()
    np.testing.assert_allclose(plain, expected, rtol=1e-4)


def test_cross_attention_shapes_and_unscaled_option():
    rng = np.random.default_rng(2)
    q = rng.standard_normal((2, 3, 4)).astype("float32")
    m = rng.standard_normal((2, 6, 4)).astype("float32")
    out, weights = (keras.ops.convert_to_numpy(t) for t in ScaledDotProductAttention(scale=False)(q, m))
    assert out.shape == (2, 3, 4) and weights.shape == (2, 3, 6)
    np.testing.assert_allclose(weights, softmax(q @ m.transpose(0, 2, 1)), rtol=1e-5, atol=1e-6)


def test_attention_classifier_trains_and_round_trips(tmp_path):
    model, inspector = build_attention_classifier(vocab_size=12, seq_len=9, entropy_penalty=0.05)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 12, (16, 9)).astype("int32")
    y = rng.integers(0, 2, (16, 1)).astype("float32")
    loaded = train_step_and_round_trip(model, x, y, "binary_crossentropy", tmp_path)
    assert loaded.get_layer("attention").get_config()["units"] == 32
    assert loaded.get_layer("attention").get_config()["entropy_penalty"] == 0.05
    prob, weights = inspector.predict(x, verbose=0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(prob, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_seq2seq_trains_round_trips_and_decodes_causally(tmp_path):
    model, inspector = build_seq2seq(input_len=12, output_len=4, encoder_units=8)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 12, 1)).astype("float32")
    y = rng.standard_normal((8, 4, 1)).astype("float32")
    dec = teacher_forced_inputs(x, y)
    assert np.array_equal(dec[:, 0], x[:, -1]) and np.array_equal(dec[:, 1:], y[:, :-1])
    train_step_and_round_trip(model, [x, dec], y, "mse", tmp_path)

    # Output k depends on decoder inputs 0..k only, so the step-by-step loop is autoregressive.
    changed = dec.copy()
    changed[:, 2:] += 5.0
    a, b = model.predict([x, dec], verbose=0), model.predict([x, changed], verbose=0)
    np.testing.assert_allclose(a[:, :2], b[:, :2], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[:, 2:], b[:, 2:])

    pred, weights = predict_autoregressive(inspector, x, 4)
    assert pred.shape == (8, 4, 1) and weights.shape == (8, 4, 12)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
    # Feeding the model its own outputs as decoder inputs reproduces the autoregressive forecast.
    own = np.concatenate([x[:, -1:], pred[:, :-1]], axis=1)
    np.testing.assert_allclose(model.predict([x, own], verbose=0), pred, rtol=1e-4, atol=1e-5)
