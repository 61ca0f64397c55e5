"""TP4 models: the original U-Net and Conv3D shapes and sizes, one training step, save → load."""

import numpy as np
import pytest

from model_checks import train_step_and_round_trip
from dltp.errors import DltpError
from dltp.losses import bce_dice_loss, dice_loss
from dltp.metrics import dice_coefficient, iou
from dltp.models.conv3d import build_conv3d
from dltp.models.schedules import LinearWarmup
from dltp.models.unet import build_unet


def test_original_unet_architecture():
    model = build_unet()
    assert model.input_shape == (None, 128, 128, 1) and model.output_shape == (None, 128, 128, 1)
    names = {layer.name: layer for layer in model.layers}
    assert [names[f"enc{i}_conv2"].filters for i in (1, 2, 3)] == [8, 16, 32]
    assert names["bottleneck_conv2"].filters == 128
    assert type(names["up1"]).__name__ == "Conv2DTranspose"
    assert names["skip1"].output.shape[-1] == 16  # 8 up-sampled + 8 from the encoder, concatenated
    assert names["mask"].activation.__name__ == "sigmoid"
    assert model.count_params() == 259_465


@pytest.mark.parametrize("loss", [dice_loss, bce_dice_loss])
def test_unet_trains_and_round_trips(tmp_path, loss):
    model = build_unet((32, 32, 1), filters=(4, 8), bottleneck=16)
    rng = np.random.default_rng(0)
    x = rng.random((4, 32, 32, 1), dtype=np.float32)
    y = (x > 0.5).astype("float32")
    loaded = train_step_and_round_trip(model, x, y, loss, tmp_path, metrics=[dice_coefficient, iou])
    assert loaded.output_shape == (None, 32, 32, 1)


def test_unet_rejects_sides_its_depth_cannot_pool():
    with pytest.raises(DltpError, match="divisible by 8"):
        build_unet((100, 100, 1))
    with pytest.raises(DltpError):
        build_unet(filters=())


def test_original_conv3d_and_its_parameter_count():
    model = build_conv3d()
    assert model.input_shape == (None, 32, 32, 32, 1) and model.output_shape == (None, 1)
    expected = (27 * 1 * 16 + 16) + (27 * 16 * 32 + 32) + (8 ** 3 * 32 + 1)
    assert model.count_params() == expected
    assert build_conv3d((16, 16, 16, 1), early_pool=True).get_layer("conv1").output.shape[1:4] == (8, 8, 8)


def test_conv3d_trains_and_round_trips(tmp_path):
    model = build_conv3d((8, 8, 8, 1), filters=(2, 4))
    rng = np.random.default_rng(0)
    x = rng.random((4, 8, 8, 8, 1), dtype=np.float32)
    y = np.array([0, 1, 0, 1], "float32")
    train_step_and_round_trip(model, x, y, "binary_crossentropy", tmp_path)


def test_linear_warmup_grows_to_the_rate_then_holds_it():
    import keras

    warmup = LinearWarmup(3e-3, 4)
    rates = [float(keras.ops.convert_to_numpy(warmup(step))) for step in range(6)]
    np.testing.assert_allclose(rates, [0.75e-3, 1.5e-3, 2.25e-3, 3e-3, 3e-3, 3e-3], rtol=1e-6)
    assert LinearWarmup.from_config(warmup.get_config()).get_config() == {"rate": 3e-3, "steps": 4}
    with pytest.raises(ValueError):
        LinearWarmup(1e-3, 0)


def test_conv3d_with_the_labs_warmup_trains_and_round_trips(tmp_path):
    import keras

    model = build_conv3d((8, 8, 8, 1), filters=(2, 4))
    rng = np.random.default_rng(0)
    x = rng.random((4, 8, 8, 8, 1), dtype=np.float32)
    y = np.array([0, 1, 0, 1], "float32")
    loaded = train_step_and_round_trip(model, x, y, "binary_crossentropy", tmp_path,
                                       optimizer=keras.optimizers.Adam(LinearWarmup(3e-3, 38)))
    schedule = loaded.optimizer.get_config()["learning_rate"]  # the schedule comes back with the model
    assert schedule["registered_name"] == "dltp>LinearWarmup" and schedule["config"] == {"rate": 3e-3, "steps": 38}
