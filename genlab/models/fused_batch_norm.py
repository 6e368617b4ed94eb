"""Batch normalization that trains through TensorFlow's fused kernel.

Keras 3 normalizes a training batch with separate mean, variance, scale and
shift ops, each a pass over the activations (and as many again for the
gradient). ``FusedBatchNormV3`` does the statistics and the normalization in
one kernel and its gradient in another, which matters when batch norm sits on
large activations (the DCGAN generator's; scripts/bench.py measures the step).

The layer is a ``keras.layers.BatchNormalization`` with the same variables,
so checkpoints are interchangeable, and it computes the same function: batch
statistics with the biased variance for normalizing and for the moving
averages. Whatever the fused kernel cannot do (a mask, renorm, another axis,
an epsilon below its minimum, inference) goes through Keras' own code.
"""
from __future__ import annotations

import keras
import tensorflow as tf

# tf.nn.fused_batch_norm raises epsilon to this (cuDNN's minimum); smaller ones keep Keras' path.
_FUSED_MIN_EPSILON = 1.001e-5


class FusedBatchNormalization(keras.layers.BatchNormalization):
    def _can_fuse(self, inputs: tf.Tensor, training: bool | None, mask: tf.Tensor | None) -> bool:
        rank = inputs.shape.rank
        last_axis = self.axis in (-1, rank - 1) if rank is not None else False
        return bool(
            training
            and self.trainable
            and mask is None
            and not self.renorm
            and not self.synchronized
            and last_axis
            and self.epsilon >= _FUSED_MIN_EPSILON
            and inputs.shape[-1] is not None
        )

    def call(self, inputs, training=None, mask=None):
        if not self._can_fuse(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        # Statistics in float32 whatever the compute dtype, as Keras does.
        x = tf.cast(inputs, tf.float32)
        shape = tf.shape(x)
        # The kernel wants NHWC; any channels-last tensor is a batch of 1x1 "images".
        images = x if x.shape.rank == 4 else tf.reshape(x, [-1, 1, 1, channels])
        scale = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones([channels], tf.float32)
        offset = tf.cast(self.beta, tf.float32) if self.center else tf.zeros([channels], tf.float32)
        normalized, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            images, scale, offset, epsilon=self.epsilon, data_format="NHWC", is_training=True
        )
        # The kernel returns the unbiased (n-1) batch variance; Keras averages the biased one.
        count = tf.cast(tf.size(images, out_type=tf.int64) // channels, tf.float32)
        variance = variance * (tf.maximum(count - 1.0, 1.0) / count)
        momentum = self.momentum
        moving_mean = tf.cast(self.moving_mean, tf.float32)
        moving_variance = tf.cast(self.moving_variance, tf.float32)
        self.moving_mean.assign(moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(moving_variance * momentum + variance * (1.0 - momentum))
        if x.shape.rank != 4:
            normalized = tf.reshape(normalized, shape)
        return tf.cast(normalized, self.compute_dtype)
