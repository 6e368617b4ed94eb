"""Precise batch norm: every batch-norm layer's statistics recomputed from a fixed set of batches.

A batch-norm layer normalizes a training batch with the batch's own mean and variance and, at
inference, with exponential moving averages of them. Early in training the averages lag the
weights (with momentum 0.99 they remember about the last hundred steps, taken with older
weights), so a model renders and evaluates worse than it trains. Precise batch norm (Wu &
Johnson 2021, "Rethinking 'Batch' in BatchNorm"; fvcore's ``update_bn_stats``) replaces the
averages by the population statistics of the current weights: the model's
``batch_norm_pass`` runs its networks on each batch with every batch-norm layer normalizing
by that batch's statistics (as in training), the layer inputs' per-channel means and variances
are pooled over all batches (mean of the batch means; mean of the batch variances plus the
variance of the batch means, each batch weighted by its values), and the pooled values become
``moving_mean`` and ``moving_variance``.

Nothing else changes: layers other than batch norm run in inference mode (no dropout, no
spectral-norm power iteration), and only the model's variables in memory are written, never
a checkpoint.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import keras
import numpy as np
import tensorflow as tf


@dataclass
class PooledMoments:
    """Per-channel count, mean and variance of every value seen so far (Chan et al.'s parallel update)."""

    count: float = 0.0
    mean: np.ndarray | float = 0.0
    variance: np.ndarray | float = 0.0

    def add(self, count: float, mean: np.ndarray, variance: np.ndarray) -> None:
        total = self.count + count
        delta = mean - self.mean
        pooled_mean = self.mean + delta * (count / total)
        # within-group spread of both parts plus the spread of their means around the pooled one
        self.variance = (
            self.count * self.variance + count * variance + delta**2 * (self.count * count / total)
        ) / total
        self.mean, self.count = pooled_mean, total


@dataclass(frozen=True)
class Recomputed:
    """What :func:`recompute_batch_norm` did: layers given new statistics, of how many it found, from how many batches."""

    layers: int
    found: int
    batches: int


def batch_norm_layers(model: Any) -> list[keras.layers.BatchNormalization]:
    """Every batch-norm layer (Keras' and genlab's fused one, which subclasses it) of the model's networks."""
    found: dict[int, keras.layers.BatchNormalization] = {}

    def visit(layer: keras.layers.Layer) -> None:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.setdefault(id(layer), layer)
        for inner in getattr(layer, "layers", ()):
            visit(inner)
        wrapped = getattr(layer, "layer", None)  # Keras' wrappers (spectral normalization)
        if isinstance(wrapped, keras.layers.Layer):
            visit(wrapped)

    for trackable in model.trackables().values():
        if isinstance(trackable, keras.layers.Layer):
            visit(trackable)
    return list(found.values())


def _batch_statistics_call(layer: keras.layers.BatchNormalization, pooled: PooledMoments):
    """A replacement of ``layer.call`` that normalizes by the batch's statistics and pools them."""

    def call(inputs: tf.Tensor, training: bool | None = None, mask: tf.Tensor | None = None) -> tf.Tensor:
        x = tf.cast(inputs, tf.float32)  # statistics in float32 whatever the compute dtype, as Keras does
        axis = layer.axis if layer.axis >= 0 else x.shape.rank + layer.axis
        axes = [dimension for dimension in range(x.shape.rank) if dimension != axis]
        mean, variance = tf.nn.moments(x, axes=axes)
        count = float(np.prod([x.shape[dimension] for dimension in axes]))
        pooled.add(count, mean.numpy().astype(np.float64), variance.numpy().astype(np.float64))
        shape = [1] * x.shape.rank
        shape[axis] = x.shape[axis]
        scale = tf.reshape(tf.cast(layer.gamma, tf.float32), shape) if layer.scale else None
        offset = tf.reshape(tf.cast(layer.beta, tf.float32), shape) if layer.center else None
        normalized = tf.nn.batch_normalization(
            x, tf.reshape(mean, shape), tf.reshape(variance, shape), offset, scale, layer.epsilon
        )
        return tf.cast(normalized, layer.compute_dtype)

    return call


@contextmanager
def batch_statistics(layers: list[keras.layers.BatchNormalization]) -> Iterator[dict[int, PooledMoments]]:
    """Within the block, each layer normalizes by its batch's statistics and pools them (by layer id).

    The layers' own ``call`` is replaced on the instance only, and put back on leaving.
    """
    pooled = {id(layer): PooledMoments() for layer in layers}
    for layer in layers:
        layer.call = _batch_statistics_call(layer, pooled[id(layer)])
    try:
        yield pooled
    finally:
        for layer in layers:
            del layer.call


def recompute_batch_norm(model: Any, batches: Iterable[Any], seed: int = 0) -> Recomputed:
    """Set every batch-norm layer's moving statistics to those of the layer's inputs over ``batches``.

    Each batch is what the model's ``batch_norm_pass`` takes (images, or (images, conditions));
    ``seed`` seeds the codes the pass draws, so the same batches give the same statistics.
    A layer no pass reaches keeps its averages.
    """
    layers = batch_norm_layers(model)
    rng = np.random.default_rng(seed)
    count = 0
    with batch_statistics(layers) as pooled:
        for batch in batches:
            model.batch_norm_pass(batch, rng)
            count += 1
    reached = [layer for layer in layers if pooled[id(layer)].count > 0]
    for layer in reached:
        moments = pooled[id(layer)]
        layer.moving_mean.assign(tf.cast(moments.mean, layer.moving_mean.dtype))
        layer.moving_variance.assign(tf.cast(moments.variance, layer.moving_variance.dtype))
    return Recomputed(layers=len(reached), found=len(layers), batches=count)
