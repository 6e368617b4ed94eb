"""Convolutions whose one-channel side runs as a matrix product and a col2im on the CPU.

oneDNN computes a transposed convolution onto one channel (a decoder's or
generator's output layer), and the input gradient of a convolution from one
channel (the first layer of an encoder or discriminator), with the channel
padded to a block of 16, at a tenth of its usual rate. The same result comes
faster in two steps: one matrix product gives, for every input pixel, its
contribution through each kernel tap; a depthwise transposed convolution with a
one-hot filter per tap adds each contribution into its output pixel (col2im).
scripts/bench.py measures the training step with and without them.

The layers are ``keras.layers.Conv2DTranspose`` and ``keras.layers.Conv2D`` with
the same variables, so checkpoints are interchangeable. The gradients the
matrix-product path does not replace are TensorFlow's own kernels. Where a GPU
is visible (cuDNN has no such gap), for more channels, dilations, output
padding, channels-first data or other dtypes, Keras' own code runs.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def _uses_col2im(inputs: tf.Tensor, layer: keras.layers.Layer, one_channel: bool) -> bool:
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
    )


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
        strides=[1, strides[0], strides[1], 1],
        padding=padding,
    )
    return tf.reduce_sum(placed, axis=-1, keepdims=True)


def _strides_4d(strides: tuple[int, int]) -> list[int]:
    return [1, strides[0], strides[1], 1]


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
                # what TensorFlow differentiates Conv2DBackpropInput into: both are fast one-channel-in kernels
                inputs_gradient = tf.nn.conv2d(upstream, kernel, _strides_4d(strides), padding)
                kernel_gradient = tf.raw_ops.Conv2DBackpropFilter(
                    input=upstream,
                    filter_sizes=tf.shape(kernel),
                    out_backprop=inputs,
                    strides=_strides_4d(strides),
                    padding=padding,
                )
                return inputs_gradient, kernel_gradient

            return outputs, gradient

        outputs = transposed_conv(inputs, tf.convert_to_tensor(self.kernel))
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs


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
                kernel_gradient = tf.raw_ops.Conv2DBackpropFilter(
                    input=inputs,
                    filter_sizes=tf.shape(kernel),
                    out_backprop=upstream,
                    strides=_strides_4d(strides),
                    padding=padding,
                )
                return inputs_gradient, kernel_gradient

            return outputs, gradient

        outputs = conv(inputs, tf.convert_to_tensor(self.kernel))
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs
