"""Model-level checks, run under every backend (`make test` repeats tests/models with
KERAS_BACKEND=jax and tensorflow)."""

from __future__ import annotations

import numpy as np


def train_step_and_round_trip(model, x, y, loss, tmp_path, optimizer="adam", **compile_kwargs):
    """One training step changes the weights and gives a finite loss; save → load predicts the same."""
    import keras

    model.compile(optimizer=optimizer, loss=loss, **compile_kwargs)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    return loaded
