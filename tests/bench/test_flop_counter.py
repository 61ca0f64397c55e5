"""The FLOP counter behind every GFLOP/s figure (bench/_common.py), against hand counts."""

import sys
from pathlib import Path

import keras
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _common import training_flops_per_sample  # noqa: E402

TRAIN = 3  # forward, gradient w.r.t. the inputs, gradient w.r.t. the weights
FLOPS_PER_MAC = 2


def test_dense_layer_is_inputs_times_units():
    inputs = keras.Input((784,))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(512, activation="relu")(inputs)))
    hand = 784 * 512 + 512 * 10  # multiply-adds per sample (biases and ReLU are not counted)
    assert training_flops_per_sample(model) == TRAIN * FLOPS_PER_MAC * hand


@pytest.mark.parametrize(("padding", "strides", "out_side"), [("valid", 1, 6), ("same", 1, 8), ("same", 2, 4)])
def test_conv2d_layer_is_output_positions_times_kernel_times_channels(padding, strides, out_side):
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 3, padding=padding, strides=strides)(inputs)
    pooled = keras.layers.MaxPooling2D(2, padding="same")(conv)  # pooling does no multiply-adds
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(pooled)))
    pooled_side = -(-out_side // 2)
    # Each output value of the convolution: a 3x3 window over 3 input channels, for 4 filters.
    conv_macs = out_side * out_side * 4 * (3 * 3 * 3)
    dense_macs = pooled_side * pooled_side * 4 * 10
    assert training_flops_per_sample(model) == TRAIN * FLOPS_PER_MAC * (conv_macs + dense_macs)


def test_layers_inside_a_nested_model_are_counted():
    inner_in = keras.Input((16,))
    inner = keras.Model(inner_in, keras.layers.Dense(8)(inner_in))
    outer_in = keras.Input((16,))
    model = keras.Model(outer_in, keras.layers.Dense(2)(inner(outer_in)))
    assert training_flops_per_sample(model) == TRAIN * FLOPS_PER_MAC * (16 * 8 + 8 * 2)
