"""The research models on every backend: build, one training step, save → load, causality (the
output at position t must not depend on later latents: the rollout relies on it), the stepped
rollout against whole-buffer passes, and the rollout objective."""

import numpy as np
import pytest

from model_checks import train_step_and_round_trip

LATENT, LENGTH = 8, 12


def _sequences(n=4):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, LENGTH, LATENT)).astype("float32")


def _randomised(model):
    """``model`` with random weights: a fresh predictor copies its last latent (its update starts at
    zero), which would make every equality below hold trivially."""
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.15, w.shape).astype("float32") for w in model.get_weights()])
    return model


PREDICTORS = [
    ("recurrent", {"units": 16}),
    ("tap_t", {"layers_": 1, "window": 4, "d_model": 16, "heads": 2, "ff": 32}),
    ("tap_t", {"layers_": 2, "window": None, "d_model": 16, "heads": 2, "ff": 32}),
    ("tap_m", {"memory": None, "key_dim": 16, "ff": 32}),
    ("tap_m", {"memory": 3, "key_dim": 16, "ff": 32}),
]


@pytest.mark.parametrize("kind,kwargs", PREDICTORS, ids=lambda p: str(p))
def test_predictor_trains_round_trips_and_is_causal(kind, kwargs, tmp_path):
    import keras

    from dltp.research.models import build_predictor

    keras.utils.set_random_seed(0)
    model = build_predictor(kind, LATENT, LENGTH, **kwargs)
    x = _sequences()
    loaded = train_step_and_round_trip(model, x[:, :], x * 0.5, "mse", tmp_path)
    assert loaded.output_shape == (None, LENGTH, LATENT)
    _randomised(loaded)  # a causality leak must show at full size
    cut = 5
    changed = x.copy()
    changed[:, cut:] = 0.0
    a = keras.ops.convert_to_numpy(loaded(x))
    b = keras.ops.convert_to_numpy(loaded(changed))
    np.testing.assert_allclose(a[:, :cut], b[:, :cut], rtol=1e-5, atol=1e-5)  # past untouched
    assert np.abs(a[:, cut:] - b[:, cut:]).max() > 1e-4  # and the inputs are really used


def test_window_limits_what_attention_reads():
    import keras

    from dltp.research.models import build_tap_m

    keras.utils.set_random_seed(0)
    model = _randomised(build_tap_m(LATENT, LENGTH, memory=3, key_dim=16, ff=32))
    x = _sequences()
    changed = x.copy()
    changed[:, 0] += 5.0  # latent 0 is outside the 3-latent memory of positions >= 3
    a, b = (keras.ops.convert_to_numpy(model(v)) for v in (x, changed))
    np.testing.assert_allclose(a[:, 3:], b[:, 3:], rtol=1e-5, atol=1e-5)
    assert np.abs(a[:, :3] - b[:, :3]).max() > 1e-4


def test_frame_models_train_and_round_trip(tmp_path):
    import keras

    from dltp.research.models import build_autoencoder, build_digit_reader, build_frame_translator

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    frames = rng.random((4, 32, 32, 1)).astype("float32")
    autoencoder, encoder, decoder = build_autoencoder(32, channels=2, width=4)
    assert encoder.output_shape == (None, 8, 8, 2) and decoder.output_shape == (None, 32, 32, 1)
    train_step_and_round_trip(autoencoder, frames, frames, "binary_crossentropy", tmp_path)
    crops = rng.random((4, 28, 28, 1)).astype("float32")
    reader = build_digit_reader()
    train_step_and_round_trip(reader, crops, np.array([1, 2, 3, 4]), "sparse_categorical_crossentropy", tmp_path)
    clips = rng.random((2, 3, 32, 32, 1)).astype("float32")
    translator = build_frame_translator(given=3, size=32, width=4, blocks=1)
    assert translator.output_shape == (None, 3, 32, 32, 1)
    train_step_and_round_trip(translator, clips, clips[:, ::-1], "mse", tmp_path)


@pytest.mark.parametrize("kind,kwargs", PREDICTORS, ids=lambda p: str(p))
def test_stepped_rollout_equals_the_whole_buffer_passes(kind, kwargs):
    """The test rollout steps one position at a time (recurrent state, attention keys and values
    kept): it must give what one pass over the whole buffer per predicted latent gives."""
    import keras

    from dltp.research.latents import buffer_rollout, rollout
    from dltp.research.models import build_predictor

    keras.utils.set_random_seed(0)
    model = _randomised(build_predictor(kind, LATENT, LENGTH, **kwargs))
    given = _sequences(3)[:, :4]
    np.testing.assert_allclose(rollout(model, given, LENGTH - 3), buffer_rollout(model, given, LENGTH - 3),
                               rtol=1e-3, atol=1e-3)  # float32 round-off, compounded over the steps
    with pytest.raises(ValueError, match="cannot hold"):
        rollout(model, given, LENGTH)


def test_buffer_rollout_matches_step_by_step_prediction():
    """The padded-buffer rollout equals feeding the unpadded prefix at every step."""
    import keras

    from dltp.research.latents import buffer_rollout
    from dltp.research.models import build_tap_t

    keras.utils.set_random_seed(0)
    model = _randomised(build_tap_t(LATENT, LENGTH, layers_=1, window=4, d_model=16, heads=2, ff=32))
    free = build_tap_t(LATENT, None, layers_=1, window=4, d_model=16, heads=2, ff=32)  # any length
    free.set_weights(model.get_weights())
    given = _sequences(2)[:, :4]
    out = buffer_rollout(model, given, 6)
    seq = given.copy()
    for step in range(6):
        nxt = keras.ops.convert_to_numpy(free(seq))[:, -1]  # the unpadded prefix
        np.testing.assert_allclose(out[:, step], nxt, rtol=1e-4, atol=1e-5)
        seq = np.concatenate([seq, nxt[:, None]], axis=1)


@pytest.mark.parametrize("kind,kwargs", [PREDICTORS[0], PREDICTORS[1], PREDICTORS[3]], ids=lambda p: str(p))
def test_rollout_objective_unrolls_through_the_models_own_predictions(kind, kwargs):
    """After k passes the outputs at the first k predicted positions are the k-step autoregressive
    rollout from the given latents; pass 1 is teacher forcing; gradients reach the predictor."""
    import keras

    from dltp.research.latents import rollout
    from dltp.research.models import build_predictor, build_rollout_trainer

    keras.utils.set_random_seed(0)
    given, passes = 4, 3
    model = _randomised(build_predictor(kind, LATENT, LENGTH, **kwargs))
    trainer = build_rollout_trainer(model, passes, given)
    z = _sequences(2)
    out = keras.ops.convert_to_numpy(trainer(z)).reshape(2, passes, LENGTH, LATENT)
    np.testing.assert_allclose(out[:, 0], keras.ops.convert_to_numpy(model(z)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[:, -1, given - 1:given - 1 + passes], rollout(model, z[:, :given], passes),
                               rtol=1e-4, atol=1e-4)
    # Later passes really read the predictions: they differ from teacher forcing after the given part.
    assert np.abs(out[:, -1, given:] - out[:, 0, given:]).max() > 1e-4
    np.testing.assert_allclose(out[:, -1, :given], out[:, 0, :given], rtol=1e-5, atol=1e-5)
    before = [keras.ops.convert_to_numpy(model.weights[0]).copy()]
    trainer.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    trainer.fit(z, np.tile(z, (1, passes, 1)), epochs=1, batch_size=2, verbose=0)
    assert np.abs(keras.ops.convert_to_numpy(model.weights[0]) - before[0]).max() > 0  # shared weights trained


def test_a_fresh_predictor_copies_its_last_latent():
    from dltp.research.models import build_predictor

    x = _sequences(2)
    for kind, kwargs in PREDICTORS:
        np.testing.assert_allclose(build_predictor(kind, LATENT, LENGTH, **kwargs).predict(x, verbose=0), x,
                                   atol=1e-6)


def test_rollout_objective_rejects_bad_settings():
    from dltp.research.models import build_recurrent, build_rollout_trainer

    model = build_recurrent(LATENT, LENGTH, units=8)
    with pytest.raises(ValueError, match="passes"):
        build_rollout_trainer(model, 0, 4)
    with pytest.raises(ValueError, match="given"):
        build_rollout_trainer(model, 2, LENGTH)
