"""PixelCNN (van den Oord et al. 2016) over a grid of code indices: a VQ-VAE's prior.

Masked convolutions see only the positions before their centre in raster order (mask A,
the first layer) or up to and including it (mask B, every later layer), so the logits at a
position depend only on the indices before it, and a grid is drawn one position at a time.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from genlab.config.schema import PixelCNNConfig


class MaskedConv2D(layers.Conv2D):
    """A Conv2D whose kernel is zero at and after (mask A) or after (mask B) its centre, in raster order."""

    def __init__(self, *args, mask_type: str = "B", **kwargs):
        super().__init__(*args, **kwargs)
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be A or B (got {mask_type!r})")
        self.mask_type = mask_type

    def build(self, input_shape) -> None:
        super().build(input_shape)
        height, width = self.kernel_size
        mask = np.ones(self.kernel.shape, np.float32)
        mask[height // 2, width // 2 + (self.mask_type == "B") :] = 0.0
        mask[height // 2 + 1 :] = 0.0
        self.mask = tf.constant(mask)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        outputs = self.convolution_op(inputs, self.kernel * tf.cast(self.mask, self.kernel.dtype))
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_type": self.mask_type}


def pixelcnn(grid: tuple[int, int], num_embeddings: int, config: PixelCNNConfig, name: str = "prior") -> keras.Model:
    """One-hot indices (N, H, W, K) -> logits (N, H, W, K): a mask-A conv, residual blocks of 1x1 and
    masked 3x3 convs, two 1x1 convs, and 1x1 logits (keras-io's VQ-VAE prior)."""
    one_hot = keras.Input(shape=(*grid, num_embeddings), name="indices_one_hot")
    filters = config.filters
    x = MaskedConv2D(filters, config.kernel_size, padding="same", activation="relu", mask_type="A")(one_hot)
    for _ in range(config.residual_blocks):
        y = layers.Conv2D(filters, 1, activation="relu")(x)
        y = MaskedConv2D(filters // 2, 3, padding="same", activation="relu", mask_type="B")(y)
        y = layers.Conv2D(filters, 1, activation="relu")(y)
        x = layers.Add()([x, y])
    for _ in range(2):
        x = layers.Conv2D(filters, 1, activation="relu")(x)
    x = layers.Conv2D(num_embeddings, 1)(x)
    logits = layers.Activation("linear", dtype="float32")(x)
    return keras.Model(one_hot, logits, name=name)


def sample_indices(
    network: keras.Model, rng: np.random.Generator, count: int, temperature: float = 1.0
) -> np.ndarray:
    """``count`` grids of indices drawn position by position in raster order (int32, (count, H, W))."""
    _, height, width, num_embeddings = network.input_shape
    indices = np.zeros((count, height, width), np.int32)
    for row in range(height):
        for column in range(width):
            logits = network(tf.one_hot(indices, num_embeddings), training=False)[:, row, column].numpy()
            logits = logits.astype(np.float64) / temperature
            probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            draws = rng.random((count, 1))
            indices[:, row, column] = np.minimum((probabilities.cumsum(axis=1) < draws).sum(axis=1), num_embeddings - 1)
    return indices
