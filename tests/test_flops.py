"""FLOP counts against networks counted by hand."""
from __future__ import annotations

import keras
import pytest
from keras import layers

from genlab.training import flops
from genlab.config.schema import ConvNetConfig
from genlab.models import nets


def model_of(input_shape: tuple[int, ...], *stack: layers.Layer) -> keras.Model:
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs, x)


def test_dense_counts_inputs_times_units_twice() -> None:
    model = model_of((10,), layers.Dense(5))
    assert flops.forward_flops(model) == 2 * 10 * 5


def test_dense_on_a_sequence_runs_per_row() -> None:
    model = model_of((7, 10), layers.Dense(5))
    assert flops.forward_flops(model) == 7 * 2 * 10 * 5


def test_conv_counts_output_positions() -> None:
    # 8x8x3 -> 4x4x4 with a 3x3 kernel: 16 positions x 4 channels x 27 multiply-adds.
    model = model_of((8, 8, 3), layers.Conv2D(4, 3, strides=2, padding="same"))
    assert model.output_shape == (None, 4, 4, 4)
    assert flops.forward_flops(model) == 2 * (4 * 4) * 4 * (3 * 3 * 3)


def test_grouped_conv_divides_by_groups() -> None:
    model = model_of((6, 6, 4), layers.Conv2D(8, 3, padding="valid", groups=2))
    assert flops.forward_flops(model) == 2 * (4 * 4) * 8 * (3 * 3 * 4 // 2)


def test_conv_transpose_counts_input_positions() -> None:
    # 4x4x6 -> 8x8x2: each of the 16 x 6 input values goes through a 3x3x2 kernel.
    model = model_of((4, 4, 6), layers.Conv2DTranspose(2, 3, strides=2, padding="same"))
    assert model.output_shape == (None, 8, 8, 2)
    assert flops.forward_flops(model) == 2 * (4 * 4) * 6 * (3 * 3) * 2


def test_elementwise_layers_are_not_counted() -> None:
    model = model_of((8, 8, 3), layers.BatchNormalization(), layers.ReLU(), layers.Flatten(), layers.Dropout(0.5))
    assert flops.forward_flops(model) == 0


def test_training_skips_the_input_gradient_of_the_first_layer() -> None:
    conv = 2 * (4 * 4) * 4 * (3 * 3 * 3)
    dense = 2 * (4 * 4 * 4) * 10
    model = model_of(
        (8, 8, 3), layers.Conv2D(4, 3, strides=2, padding="same"), layers.ReLU(), layers.Flatten(), layers.Dense(10)
    )
    assert flops.forward_flops(model) == conv + dense
    # forward + weight gradient everywhere; input gradient only where a gradient flows in
    assert flops.training_flops(model) == 2 * conv + 3 * dense
    assert flops.training_flops(model, input_gradient=True) == 3 * conv + 3 * dense
    assert flops.input_gradient_flops(model) == conv + dense


def test_frozen_layers_need_no_weight_gradient() -> None:
    first, second = layers.Dense(6), layers.Dense(3)
    model = model_of((10,), first, second)
    first.trainable = False
    # the frozen first layer: forward only; the second: forward + weight gradient, and no
    # input gradient since nothing trainable comes before it
    assert flops.training_flops(model) == 2 * 10 * 6 + 2 * (2 * 6 * 3)


def test_nested_models_are_opened() -> None:
    inner = model_of((10,), layers.Dense(6))
    outer = model_of((10,), inner, layers.Dense(3))
    assert flops.forward_flops(outer) == 2 * 10 * 6 + 2 * 6 * 3


def test_unsupported_matrix_layers_are_refused() -> None:
    with pytest.raises(ValueError, match="not supported"):
        flops.forward_flops(model_of((8, 8, 3), layers.DepthwiseConv2D(3)))


def test_genlab_encoder_matches_the_tutorial_cvae_by_hand() -> None:
    encoder = nets.encoder((28, 28, 1), ConvNetConfig(widths=[32, 64], kernel_size=3), 4, name="encoder")
    by_hand = 2 * (14 * 14 * 32 * 9 * 1) + 2 * (7 * 7 * 64 * 9 * 32) + 2 * (7 * 7 * 64 * 4)
    assert flops.forward_flops(encoder) == by_hand
