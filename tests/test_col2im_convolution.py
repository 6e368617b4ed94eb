"""genlab's col2im convolutions compute what Keras' Conv2D and Conv2DTranspose compute, gradients included."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from conftest import load_bench  # noqa: E402
from genlab.config.schema import ConvNetConfig, DeconvNetConfig  # noqa: E402
from genlab.models import nets  # noqa: E402
from genlab.models import col2im_convolution  # noqa: E402
from genlab.models.col2im_convolution import Col2ImConv2D, Col2ImConv2DTranspose, col2im_runs_here  # noqa: E402

COL2IM_OP = "DepthwiseConv2dNativeBackpropInput"


def _paired(keras_class, ours_class, input_shape: tuple[int, ...], **options) -> tuple:
    plain, fast = keras_class(**options), ours_class(**options)
    plain.build(input_shape)
    fast.build(input_shape)
    rng = np.random.default_rng(1)
    weights = [rng.normal(0.0, 0.3, w.shape).astype(np.float32) for w in plain.get_weights()]
    plain.set_weights(weights)
    fast.set_weights(weights)
    return plain, fast


def _output_and_gradients(layer, inputs: np.ndarray) -> list[np.ndarray]:
    """Output, then the gradients of a per-element-varying loss for the input and every weight."""

    @tf.function
    def forward_backward(images):
        with tf.GradientTape() as tape:
            tape.watch(images)
            output = layer(images)
            loss = tf.reduce_sum(tf.sin(3.0 * output))
        return [output, *tape.gradient(loss, [images, *layer.trainable_variables])]

    return [value.numpy() for value in forward_backward(tf.constant(inputs))]


def _traced_ops(layer, input_shape: tuple[int, ...]) -> set[str]:
    """Op types of a training step through the layer, gradient included."""

    @tf.function
    def step(images):
        with tf.GradientTape() as tape:
            tape.watch(images)
            loss = tf.reduce_sum(layer(images))
        return tape.gradient(loss, [images, *layer.trainable_variables])

    graph = step.get_concrete_function(tf.TensorSpec([None, *input_shape[1:]], tf.float32)).graph
    ops = {op.type for op in graph.get_operations()}
    for function in graph.as_graph_def().library.function:
        ops |= {node.op for node in function.node_def}
    return ops


def _runs_col2im_here(options: dict) -> bool:
    """Whether this machine's kernels take the col2im path for a layer made with ``options``."""
    pair = lambda value: tuple(value) if isinstance(value, tuple) else (value, value)  # noqa: E731
    return col2im_runs_here(pair(options["kernel_size"]), pair(options.get("strides", 1)), options["padding"].upper())


def _assert_same(ours: list[np.ndarray], theirs: list[np.ndarray]) -> None:
    assert len(ours) == len(theirs)
    for our_value, their_value in zip(ours, theirs):
        assert our_value.shape == their_value.shape
        scale = np.abs(their_value).max() + 1e-6
        np.testing.assert_allclose(our_value / scale, their_value / scale, atol=2e-5)


TRANSPOSED_CASES = {
    "decoder-output": ((4, 14, 14, 8), dict(filters=1, kernel_size=3, strides=1, padding="same")),
    "generator-output": ((3, 7, 7, 16), dict(filters=1, kernel_size=5, strides=2, padding="same", use_bias=False)),
    "valid-even-kernel": ((2, 5, 6, 4), dict(filters=1, kernel_size=4, strides=2, padding="valid")),
    "uneven": ((2, 5, 4, 3), dict(filters=1, kernel_size=(3, 2), strides=(2, 3), padding="same", activation="tanh")),
}


@pytest.mark.parametrize("input_shape, options", TRANSPOSED_CASES.values(), ids=TRANSPOSED_CASES.keys())
def test_one_channel_transposed_conv_matches_keras(input_shape: tuple[int, ...], options: dict) -> None:
    plain, fast = _paired(keras.layers.Conv2DTranspose, Col2ImConv2DTranspose, input_shape, **options)
    inputs = np.random.default_rng(2).normal(size=input_shape).astype(np.float32)

    _assert_same(_output_and_gradients(fast, inputs), _output_and_gradients(plain, inputs))
    # uneven strides: the col2im where this machine's kernels run it, Keras' code where not
    assert (COL2IM_OP in _traced_ops(fast, input_shape)) == _runs_col2im_here(options)
    assert COL2IM_OP not in _traced_ops(plain, input_shape)


CONV_CASES = {
    "encoder-input": ((4, 28, 28, 1), dict(filters=8, kernel_size=3, strides=2, padding="same", activation="relu")),
    "discriminator-input": ((3, 12, 12, 1), dict(filters=6, kernel_size=5, strides=2, padding="same")),
    "valid-stride-3": ((2, 11, 10, 1), dict(filters=4, kernel_size=4, strides=3, padding="valid")),
    "uneven": ((2, 9, 7, 1), dict(filters=3, kernel_size=(4, 3), strides=(2, 3), padding="same", use_bias=False)),
}


@pytest.mark.parametrize("input_shape, options", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_one_channel_input_conv_matches_keras_with_its_input_gradient(input_shape: tuple[int, ...], options: dict) -> None:
    plain, fast = _paired(keras.layers.Conv2D, Col2ImConv2D, input_shape, **options)
    inputs = np.random.default_rng(3).normal(size=input_shape).astype(np.float32)

    _assert_same(_output_and_gradients(fast, inputs), _output_and_gradients(plain, inputs))
    assert (COL2IM_OP in _traced_ops(fast, input_shape)) == _runs_col2im_here(options)


def test_the_col2im_is_used_for_the_layers_genlab_builds() -> None:
    """Square kernels and equal strides of 1 or 2, "same" padding: every kernel build runs these."""
    for kernel_size in (3, 4, 5):
        for stride in (1, 2):
            assert col2im_runs_here((kernel_size, kernel_size), (stride, stride), "SAME")


def test_a_col2im_this_machine_cannot_run_falls_back_to_keras(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a CPU whose kernel refuses it: the probe fails, the layer runs Keras' code and still matches it."""

    def refused(*args, **kwargs):
        raise tf.errors.UnimplementedError(None, None, "not on this machine")

    col2im_runs_here.cache_clear()
    monkeypatch.setattr(col2im_convolution, "transposed_conv_to_one_channel", refused)
    try:
        input_shape, options = TRANSPOSED_CASES["generator-output"]
        plain, fast = _paired(keras.layers.Conv2DTranspose, Col2ImConv2DTranspose, input_shape, **options)
        inputs = np.random.default_rng(7).normal(size=input_shape).astype(np.float32)
        _assert_same(_output_and_gradients(fast, inputs), _output_and_gradients(plain, inputs))
        assert COL2IM_OP not in _traced_ops(fast, input_shape)
    finally:
        col2im_runs_here.cache_clear()


def test_without_onednn_uneven_strides_take_keras_code_and_still_train(tmp_path) -> None:
    """TensorFlow's own CPU kernels (oneDNN off, as on CPUs without AVX-512) take only equal col2im strides."""
    import subprocess
    import sys

    script = """
import numpy as np, keras
from genlab.models.col2im_convolution import Col2ImConv2D, col2im_runs_here
assert not col2im_runs_here((3, 2), (2, 3), "SAME") and col2im_runs_here((3, 3), (2, 2), "SAME")
layer = Col2ImConv2D(filters=3, kernel_size=(4, 3), strides=(2, 3), padding="same")
images = keras.ops.convert_to_tensor(np.ones((2, 9, 7, 1), np.float32))
import tensorflow as tf
with tf.GradientTape() as tape:
    tape.watch(images)
    loss = tf.reduce_sum(layer(images))
assert np.isfinite(tape.gradient(loss, images).numpy()).all()
print("ok")
"""
    environment = {**__import__("os").environ, "TF_ENABLE_ONEDNN_OPTS": "0"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


@pytest.mark.parametrize(
    "keras_class, ours_class, input_shape, options",
    [
        (keras.layers.Conv2DTranspose, Col2ImConv2DTranspose, (2, 6, 6, 4), dict(filters=3, kernel_size=3, strides=2)),
        (keras.layers.Conv2DTranspose, Col2ImConv2DTranspose, (2, 6, 6, 4), dict(filters=1, kernel_size=3, dilation_rate=2)),
        (keras.layers.Conv2D, Col2ImConv2D, (2, 8, 8, 3), dict(filters=4, kernel_size=3, strides=2, padding="same")),
    ],
    ids=["three-channels", "dilated", "three-channel-input"],
)
def test_other_convolutions_keep_keras_code(keras_class, ours_class, input_shape: tuple[int, ...], options: dict) -> None:
    plain, fast = _paired(keras_class, ours_class, input_shape, **options)
    inputs = np.random.default_rng(4).normal(size=input_shape).astype(np.float32)

    assert COL2IM_OP not in _traced_ops(fast, input_shape)
    try:
        expected = _output_and_gradients(plain, inputs)
    except tf.errors.InvalidArgumentError as error:  # TensorFlow's own CPU kernels run no dilated transposed conv
        assert "dilation" in error.message
        with pytest.raises(tf.errors.InvalidArgumentError, match="dilation"):  # ours fails as Keras' does
            _output_and_gradients(fast, inputs)
        return
    _assert_same(_output_and_gradients(fast, inputs), expected)


def test_eager_calls_and_mixed_precision_work() -> None:
    plain, fast = _paired(keras.layers.Conv2DTranspose, Col2ImConv2DTranspose, (2, 5, 5, 4), filters=1, kernel_size=3)
    inputs = np.random.default_rng(5).normal(size=(2, 5, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(fast(inputs).numpy(), plain(inputs).numpy(), rtol=1e-5, atol=1e-5)

    half = Col2ImConv2DTranspose(filters=1, kernel_size=3, dtype="mixed_float16")
    output = half(inputs.astype(np.float16))  # float16 keeps Keras' kernel
    assert output.dtype == tf.float16 and output.shape == (2, 7, 7, 1)  # "valid": 5 + 3 - 1


def test_checkpoints_of_keras_networks_restore_into_the_col2im_ones(tmp_path) -> None:
    encoder = nets.encoder((28, 28, 1), ConvNetConfig(widths=[4, 8]), 6, name="encoder")
    decoder = nets.decoder(3, (28, 28, 1), DeconvNetConfig(widths=[8, 4]), name="decoder")
    assert isinstance(encoder.layers[1], Col2ImConv2D) and isinstance(decoder.layers[-2], Col2ImConv2DTranspose)
    # Keras-class copies, as runs saved before these layers have them (the benchmark's reference too)
    tutorial_layers = load_bench().tutorial_layers
    saved = {"encoder": tutorial_layers(encoder), "decoder": tutorial_layers(decoder)}
    rng = np.random.default_rng(6)
    for network in saved.values():
        network.set_weights([rng.normal(0.0, 0.3, w.shape).astype(np.float32) for w in network.get_weights()])
    path = tf.train.Checkpoint(**saved).write(str(tmp_path / "ckpt"))

    tf.train.Checkpoint(encoder=encoder, decoder=decoder).read(path).assert_consumed()

    for ours, theirs in [(encoder, saved["encoder"]), (decoder, saved["decoder"])]:
        for our_weight, their_weight in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(our_weight, their_weight)
    images = rng.uniform(size=(2, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(decoder(encoder(images)[:, :3]), saved["decoder"](saved["encoder"](images)[:, :3]), rtol=1e-5, atol=1e-4)
