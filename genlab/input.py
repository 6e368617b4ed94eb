"""Training batches from an in-memory uint8 image tensor, keyed by the step counter.

The batch of step ``s`` is a slice of a per-epoch permutation seeded by
(seed, epoch), so the data position is part of the step counter: a resumed run
sees exactly the batches an uninterrupted run would, with no iterator state to
save, and images stay uint8 on the device until the step scales them.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from genlab.errors import ConfigError


class InMemoryBatches:
    def __init__(
        self,
        images: np.ndarray,
        batch_size: int,
        seed: int,
        pixel_range: tuple[float, float],
        binarize: bool = False,
    ):
        count = int(images.shape[0])
        if batch_size > count:
            raise ConfigError(
                f"trainer.batch_size must not exceed the number of training images ({count}) (got {batch_size})"
            )
        self.images = tf.constant(images)
        self.batch_size = batch_size
        self.count = count
        self.steps_per_epoch = count // batch_size
        self.seed = seed
        self.pixel_range = pixel_range
        self.binarize = binarize
        # A cache of the current epoch's permutation; derived state, never saved.
        self._epoch = tf.Variable(-1, dtype=tf.int64, trainable=False)
        self._permutation = tf.Variable(tf.range(count, dtype=tf.int64), trainable=False)

    def _permutation_for(self, epoch: tf.Tensor) -> tf.Tensor:
        def shuffle() -> tf.Tensor:
            permutation = tf.random.experimental.stateless_shuffle(
                tf.range(self.count, dtype=tf.int64), seed=tf.stack([tf.constant(self.seed, tf.int64), epoch])
            )
            self._permutation.assign(permutation)
            self._epoch.assign(epoch)
            return tf.identity(self._permutation)

        return tf.cond(tf.equal(epoch, self._epoch), lambda: tf.identity(self._permutation), shuffle)

    def batch(self, step: tf.Tensor) -> tf.Tensor:
        """The float images of global step ``step``, scaled to the model's pixel range."""
        step = tf.cast(step, tf.int64)
        epoch = step // self.steps_per_epoch
        start = (step % self.steps_per_epoch) * self.batch_size
        indices = self._permutation_for(epoch)[start : start + self.batch_size]
        return scale(tf.gather(self.images, indices), self.pixel_range, self.binarize)


def scale(images: tf.Tensor, pixel_range: tuple[float, float], binarize: bool = False) -> tf.Tensor:
    """uint8 images to float32 in ``pixel_range`` (optionally binarized at 0.5 first)."""
    unit = tf.cast(images, tf.float32) / 255.0
    if binarize:
        unit = tf.cast(unit > 0.5, tf.float32)
    low, high = pixel_range
    return low + unit * (high - low)
