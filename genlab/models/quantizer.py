"""The VQ-VAE's vector quantiser: a codebook, nearest entries, straight-through gradients.

Each code vector z is replaced by its nearest codebook entry e (squared distance); the
decoder sees ``z + stop_gradient(e - z)``, so it gets e while the encoder gets the
decoder's gradient unchanged (the straight-through estimator). The codebook loss
``mean((stop_gradient(z) - e)^2)`` moves the entries to their codes, the commitment loss
``mean((z - stop_gradient(e))^2)`` keeps the encoder near its entries. With ``ema`` the
entries are instead moving averages of the codes assigned to them (the paper's appendix),
and the codebook loss is not used.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf

LAPLACE_EPSILON = 1e-5  # keeps an unused entry's average from dividing by zero


@dataclass
class Quantized:
    codes: tf.Tensor  # what the decoder sees: the entries, with the encoder's gradient
    indices: tf.Tensor  # int32, the grid's shape without the vector axis
    codebook_loss: tf.Tensor
    commitment_loss: tf.Tensor
    usage: tf.Tensor  # (K,): the share of the vectors assigned to each entry
    entry_means: tf.Tensor  # (K, dim): the sum of the vectors assigned to each entry, over their count


class VectorQuantizer(keras.layers.Layer):
    def __init__(self, num_embeddings: int, dim: int, update: str = "loss", decay: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        self.num_embeddings, self.dim, self.update, self.decay = num_embeddings, dim, update, decay
        # Moving averages are updated by every replica: "mean" makes that their average.
        self.codebook = self.add_weight(
            shape=(num_embeddings, dim),
            initializer=keras.initializers.RandomUniform(-1.0 / num_embeddings, 1.0 / num_embeddings),
            trainable=update == "loss",
            aggregation="none" if update == "loss" else "mean",
            name="codebook",
        )
        if update == "ema":
            self.cluster_size = self.add_weight(
                shape=(num_embeddings,), initializer="zeros", trainable=False, aggregation="mean", name="cluster_size"
            )
            self.entry_sums = self.add_weight(
                shape=(num_embeddings, dim), initializer="zeros", trainable=False, aggregation="mean", name="entry_sums"
            )
        self.built = True  # its weights do not depend on any input's shape

    def nearest(self, vectors: tf.Tensor) -> tf.Tensor:
        """The index of each vector's nearest entry, for vectors of shape (..., dim)."""
        flat = tf.reshape(tf.cast(vectors, tf.float32), [-1, self.dim])
        codebook = tf.convert_to_tensor(self.codebook)
        distances = (
            tf.reduce_sum(tf.square(flat), axis=1, keepdims=True)
            - 2.0 * tf.matmul(flat, codebook, transpose_b=True)
            + tf.reduce_sum(tf.square(codebook), axis=1)[None, :]
        )
        return tf.reshape(tf.argmin(distances, axis=1, output_type=tf.int32), tf.shape(vectors)[:-1])

    def entries(self, indices: tf.Tensor) -> tf.Tensor:
        """The codebook entries at ``indices`` (any shape): that shape plus (dim,)."""
        return tf.gather(tf.convert_to_tensor(self.codebook), indices)

    def discretize(self, vectors: tf.Tensor) -> Quantized:
        """Each vector (..., dim) replaced by its nearest entry (Keras layers keep `quantize` for another job)."""
        vectors = tf.cast(vectors, tf.float32)
        indices = self.nearest(vectors)
        one_hot = tf.one_hot(tf.reshape(indices, [-1]), self.num_embeddings)
        # a product with the one-hot rows rather than a gather: the codebook's gradient is then a dense
        # tensor, which every optimizer (and genlab's fused Adam) updates in one piece
        entries = tf.reshape(tf.matmul(one_hot, tf.convert_to_tensor(self.codebook)), tf.shape(vectors))
        flat = tf.stop_gradient(tf.reshape(vectors, [-1, self.dim]))
        return Quantized(
            codes=vectors + tf.stop_gradient(entries - vectors),
            indices=indices,
            codebook_loss=tf.reduce_mean(tf.square(tf.stop_gradient(vectors) - entries)),
            commitment_loss=tf.reduce_mean(tf.square(vectors - tf.stop_gradient(entries))),
            usage=tf.reduce_mean(one_hot, axis=0),
            entry_means=tf.matmul(one_hot, flat, transpose_a=True) / tf.cast(tf.shape(flat)[0], tf.float32),
        )

    def update_averages(self, usage: tf.Tensor, entry_means: tf.Tensor, count: int) -> None:
        """The ema update from a batch's ``usage`` (K,) and per-vector ``entry_means`` (K, dim): the share
        of its ``count`` vectors assigned to each entry and their sum divided by ``count``."""
        decay = self.decay
        self.cluster_size.assign(decay * self.cluster_size + (1.0 - decay) * usage * count)
        self.entry_sums.assign(decay * self.entry_sums + (1.0 - decay) * entry_means * count)
        total = tf.reduce_sum(self.cluster_size)
        smoothed = (self.cluster_size + LAPLACE_EPSILON) / (total + self.num_embeddings * LAPLACE_EPSILON) * total
        self.codebook.assign(self.entry_sums / smoothed[:, None])


def perplexity(usage: tf.Tensor) -> tf.Tensor:
    """exp of the entropy of the entries' usage: how many entries are in use (1 to K)."""
    return tf.exp(-tf.reduce_sum(usage * tf.math.log(usage + 1e-10)))
