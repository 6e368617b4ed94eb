"""Convolutions whose one-channel side runs as a matrix product and a col2im on the CPU.

oneDNN computes a transposed convolution onto one channel (a decoder's or
generator's output layer), and the input gradient of a convolution from one
channel (the first layer of an encoder or discriminator), with the channel
padded to a block of 16, at a tenth of its usual rate. The same result comes
faster in two steps: one matrix product gives, for every input pixel, its
contribution through each kernel tap; a depthwise transposed convolution with a
one-hot filter per tap adds each contribution into its output pixel (col2im).
`trainer.hand_written_kernels` without col2im builds Keras' own layers instead (scripts/bench.sh
--override measures the step either way).

The layers are ``keras.layers.Conv2DTranspose`` and ``keras.layers.Conv2D`` with
the same variables, so checkpoints are interchangeable. The gradients the
matrix-product path does not replace are TensorFlow's own kernels. Where a GPU
is visible (cuDNN has no such gap), for more channels, dilations, output
padding, channels-first data or other dtypes, Keras' own code runs; so it does
where this machine's kernels cannot run the col2im (TensorFlow's own CPU kernel,
used when oneDNN is off, takes only equal strides), which a tiny probe tells.
"""
from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf


def _uses_col2im(inputs: tf.Tensor, layer: keras.layers.Layer, one_channel: bool) -> bool:
    """Whether the call is one the matrix-product path computes exactly as Keras would."""
    return bool(
        one_channel
        and layer.data_format == "channels_last"
        and tuple(layer.dilation_rate) == (1, 1)
        and getattr(layer, "groups", 1) == 1
        and getattr(layer, "output_padding", None) is None
        and inputs.dtype == tf.float32
        and inputs.shape.rank == 4
        and None not in inputs.shape[1:]
        and not tf.config.list_logical_devices("GPU")
        and col2im_runs_here(tuple(layer.kernel_size), tuple(layer.strides), layer.padding.upper())
    )


@functools.lru_cache(maxsize=None)
def col2im_runs_here(kernel_size: tuple[int, int], strides: tuple[int, int], padding: str) -> bool:
    """Whether this machine's kernels run the col2im of such a layer: tried once on a tiny input.

    Which kernel runs depends on the CPU and build (oneDNN's takes unequal strides,
    TensorFlow's own does not), so it is asked, not assumed. Run eagerly even while a
    training step is being traced.
    """
    target = [2 * size * stride for size, stride in zip(kernel_size, strides)]  # what the col2im fills
    if padding == "SAME":
        source = [-(-side // stride) for side, stride in zip(target, strides)]
    else:
        source = [-(-(side - size + 1) // stride) for side, size, stride in zip(target, kernel_size, strides)]
    with tf.init_scope():
        inputs = tf.zeros([1, *source, 2])
        kernel = tf.zeros([*kernel_size, 1, 2])
        try:
            transposed_conv_to_one_channel(inputs, kernel, tuple(target), strides, padding)
        except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
            return False
    return True


def _strides_4d(strides: tuple[int, int]) -> list[int]:
    return [1, strides[0], strides[1], 1]


def _one_hot_taps(kernel_height: int, kernel_width: int, dtype: tf.DType) -> tf.Tensor:
    """A depthwise filter whose channel ``a * kernel_width + b`` is 1 at tap (a, b) and 0 elsewhere."""
    taps = kernel_height * kernel_width
    return tf.constant(np.eye(taps).reshape(kernel_height, kernel_width, taps, 1), dtype=dtype)


def transposed_conv_to_one_channel(
    inputs: tf.Tensor, kernel: tf.Tensor, output_size: tuple[int, int], strides: tuple[int, int], padding: str
) -> tf.Tensor:
    """``tf.nn.conv2d_transpose`` onto one channel: ``kernel`` is [height, width, 1, input channels]."""
    kernel_height, kernel_width, _, channels = kernel.shape
    taps = kernel_height * kernel_width
    batch = tf.shape(inputs)[0]
    height, width = inputs.shape[1], inputs.shape[2]
    # columns[n, i, j, tap]: what input pixel (i, j) adds to the output pixel under that tap
    per_tap = tf.reshape(tf.transpose(kernel[:, :, 0, :], [2, 0, 1]), [channels, taps])
    columns = tf.reshape(tf.matmul(tf.reshape(inputs, [-1, channels]), per_tap), [batch, height, width, taps])
    placed = tf.nn.depthwise_conv2d_backprop_input(
        input_sizes=tf.stack([batch, output_size[0], output_size[1], taps]),
        filter=_one_hot_taps(kernel_height, kernel_width, inputs.dtype),
        out_backprop=columns,
        strides=_strides_4d(strides),
        padding=padding,
    )
    return tf.reduce_sum(placed, axis=-1, keepdims=True)


def _kernel_gradient(
    conv_inputs: tf.Tensor, conv_output_gradient: tf.Tensor, kernel: tf.Tensor, strides: tuple[int, int], padding: str
) -> tf.Tensor:
    """The gradient for ``kernel`` of ``tf.nn.conv2d(conv_inputs, kernel)``, TensorFlow's own kernel."""
    return tf.raw_ops.Conv2DBackpropFilter(
        input=conv_inputs,
        filter_sizes=tf.shape(kernel),
        out_backprop=conv_output_gradient,
        strides=_strides_4d(strides),
        padding=padding,
    )


def _add_bias_and_activate(layer: keras.layers.Layer, outputs: tf.Tensor) -> tf.Tensor:
    """What Keras' convolution layers do after the convolution."""
    if layer.use_bias:
        outputs = outputs + layer.bias
    return layer.activation(outputs) if layer.activation is not None else outputs


class Col2ImConv2DTranspose(keras.layers.Conv2DTranspose):
    """A Conv2DTranspose whose one-channel output is computed by ``transposed_conv_to_one_channel``."""

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        if not _uses_col2im(inputs, self, one_channel=self.filters == 1):
            return super().call(inputs)
        output_size = tuple(self.compute_output_shape(inputs.shape)[1:3])
        strides, padding = tuple(self.strides), self.padding.upper()

        @tf.custom_gradient
        def transposed_conv(inputs: tf.Tensor, kernel: tf.Tensor):
            outputs = transposed_conv_to_one_channel(inputs, kernel, output_size, strides, padding)

            def gradient(upstream: tf.Tensor):
                # A transposed convolution is the input gradient of a convolution of its
                # output; both gradients are fast one-channel-in kernels.
                inputs_gradient = tf.nn.conv2d(upstream, kernel, _strides_4d(strides), padding)
                return inputs_gradient, _kernel_gradient(upstream, inputs, kernel, strides, padding)

            return outputs, gradient

        return _add_bias_and_activate(self, transposed_conv(inputs, tf.convert_to_tensor(self.kernel)))


class Col2ImConv2D(keras.layers.Conv2D):
    """A Conv2D on one-channel inputs whose input gradient is computed by ``transposed_conv_to_one_channel``."""

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        one_channel = inputs.shape.rank == 4 and inputs.shape[-1] == 1
        if not _uses_col2im(inputs, self, one_channel=one_channel):
            return super().call(inputs)
        input_size = tuple(inputs.shape[1:3])
        strides, padding = tuple(self.strides), self.padding.upper()

        @tf.custom_gradient
        def conv(inputs: tf.Tensor, kernel: tf.Tensor):
            outputs = tf.nn.conv2d(inputs, kernel, _strides_4d(strides), padding)

            def gradient(upstream: tf.Tensor):
                # the input gradient is a transposed convolution onto the one input channel
                inputs_gradient = transposed_conv_to_one_channel(upstream, kernel, input_size, strides, padding)
                return inputs_gradient, _kernel_gradient(inputs, upstream, kernel, strides, padding)

            return outputs, gradient

        return _add_bias_and_activate(self, conv(inputs, tf.convert_to_tensor(self.kernel)))
