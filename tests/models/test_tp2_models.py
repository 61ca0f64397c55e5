"""TP2's models with each of its optimizers, on every backend."""

import numpy as np
import pytest

from model_checks import train_step_and_round_trip
from dltp.errors import DltpError
from dltp.labs import tp2
from dltp.models.dense import build_dense


@pytest.mark.parametrize("name", list(tp2.VARIANTS))
def test_tp2_variant_trains_and_round_trips(tmp_path, name):
    v = tp2.VARIANTS[name]
    model = build_dense(784, 10, dropout=v.dropout, l2=v.l2, batch_norm=v.batch_norm, name=f"tp2_{name}")
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 784), dtype=np.float32), rng.integers(0, 10, 16)
    train_step_and_round_trip(model, x, y, "sparse_categorical_crossentropy", tmp_path,
                              optimizer=tp2.make_optimizer(v.optimizer))


def test_optimizer_settings_and_unknown_name():
    sgd = tp2.make_optimizer("sgd")
    assert float(np.asarray(sgd.learning_rate)) == pytest.approx(0.01) and sgd.momentum == 0.9
    with pytest.raises(DltpError, match="unknown optimizer"):
        tp2.make_optimizer("adagrad")
