"""Training batches keyed by the step counter.

The batch of step ``s`` is a slice of a per-epoch permutation seeded by
(seed, epoch), so the data position is part of the step counter: a resumed run
sees exactly the batches an uninterrupted run would, with no iterator state to
save. Small sets live on the device as one uint8 tensor; large ones are read
from their file-backed records a few batches ahead by tf.data.
"""
from __future__ import annotations

import threading
from typing import Protocol, Union

import numpy as np
import tensorflow as tf

from genlab.data.pixels import scale
from genlab.training.schedule import check_batch_size


# The images of a step, or (images, conditions) for a conditional model (genlab.models.base.split_batch).
Batch = Union[tf.Tensor, tuple[tf.Tensor, tf.Tensor]]


class Batches(Protocol):
    steps_per_epoch: int
    # True when batch(step) depends on nothing but the step: the training loop then
    # gathers the next step's batch while the current step trains.
    random_access: bool

    def start(self, step: int) -> None:
        """Called once before training, with the step the run starts (or resumes) at."""

    def batch(self, step: tf.Tensor) -> Batch:
        """The float images of global step ``step``, scaled to the model's pixel range (inside tf.function);
        with conditions, the pair (images, their condition vectors)."""


def make_batches(
    images,
    batch_size: int,
    seed: int,
    pixel_range: tuple[float, float],
    binarize: bool,
    conditions: np.ndarray | None = None,
) -> Batches:
    """In-memory batches for a numpy array, streamed ones for file-backed records; ``conditions`` (one float
    row per training image) come with the images of their rows when given."""
    if isinstance(images, np.ndarray):
        return InMemoryBatches(images, batch_size, seed, pixel_range, binarize, conditions)
    return StreamedBatches(images, batch_size, seed, pixel_range, binarize, conditions)


def _checked_conditions(conditions: np.ndarray | None, count: int) -> np.ndarray | None:
    if conditions is None:
        return None
    conditions = np.asarray(conditions, dtype=np.float32)
    if conditions.ndim != 2 or len(conditions) != count:
        raise ValueError(f"conditions of shape {conditions.shape} do not give one row for each of {count} images")
    return conditions


class InMemoryBatches:
    random_access = True

    def __init__(
        self,
        images: np.ndarray,
        batch_size: int,
        seed: int,
        pixel_range: tuple[float, float],
        binarize: bool = False,
        conditions: np.ndarray | None = None,
    ):
        count = int(images.shape[0])
        check_batch_size(batch_size, count)
        self.images = tf.constant(images)
        conditions = _checked_conditions(conditions, count)
        self.conditions = None if conditions is None else tf.constant(conditions)
        self.batch_size = batch_size
        self.count = count
        self.steps_per_epoch = count // batch_size
        self.seed = seed
        self.pixel_range = pixel_range
        self.binarize = binarize
        # A cache of the current epoch's permutation; derived state, never saved.
        self._epoch = tf.Variable(-1, dtype=tf.int64, trainable=False)
        self._permutation = tf.Variable(tf.range(count, dtype=tf.int64), trainable=False)

    def _shuffle_for(self, epoch: tf.Tensor) -> tf.Tensor:
        """Make ``_permutation`` the permutation of ``epoch`` (a no-op within an epoch)."""

        def shuffle() -> tf.Tensor:
            permutation = tf.random.experimental.stateless_shuffle(
                tf.range(self.count, dtype=tf.int64), seed=tf.stack([tf.constant(self.seed, tf.int64), epoch])
            )
            self._permutation.assign(permutation)
            self._epoch.assign(epoch)
            return epoch

        return tf.cond(tf.equal(epoch, self._epoch), lambda: epoch, shuffle)

    def start(self, step: int) -> None:
        pass

    def batch(self, step: tf.Tensor) -> Batch:
        step = tf.cast(step, tf.int64)
        epoch = step // self.steps_per_epoch
        start = (step % self.steps_per_epoch) * self.batch_size
        self._shuffle_for(epoch)
        # Only the batch's indices are read, not a copy of the whole permutation each step.
        indices = self._permutation.sparse_read(tf.range(start, start + self.batch_size))
        images = scale(tf.gather(self.images, indices), self.pixel_range, self.binarize)
        if self.conditions is None:
            return images
        return images, tf.gather(self.conditions, indices)


class StreamedBatches:
    """Batches read from file-backed records (anything with ``shape`` and ``read(indices)``).

    tf.data reads the batches of the coming steps in parallel while the current one
    trains; memory holds a few batches and one index permutation, whatever the set's size.
    """

    PREFETCH_BATCHES = 4
    random_access = False  # batch() takes the iterator's next element; tf.data already reads ahead

    def __init__(
        self,
        records,
        batch_size: int,
        seed: int,
        pixel_range: tuple[float, float],
        binarize: bool,
        conditions: np.ndarray | None = None,
    ):
        self.records = records
        self.count = int(records.shape[0])
        check_batch_size(batch_size, self.count)
        self.conditions = _checked_conditions(conditions, self.count)
        self.batch_size = batch_size
        self.steps_per_epoch = self.count // batch_size
        self.seed = seed
        self.pixel_range = pixel_range
        self.binarize = binarize
        self.image_shape = tuple(int(size) for size in records.shape[1:])
        self._permutations: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()
        self._iterator = None

    def _permutation(self, epoch: int) -> np.ndarray:
        with self._lock:
            if epoch not in self._permutations:
                self._permutations = {  # keep the previous epoch for readers still on it
                    key: value for key, value in self._permutations.items() if key >= epoch - 1
                }
                self._permutations[epoch] = np.random.default_rng([self.seed, epoch]).permutation(self.count)
            return self._permutations[epoch]

    def _indices(self, step: np.int64) -> np.ndarray:
        epoch, position = divmod(int(step), self.steps_per_epoch)
        start = position * self.batch_size
        return self._permutation(epoch)[start : start + self.batch_size]

    def _read_step(self, step: np.int64) -> np.ndarray:
        return self.records.read(self._indices(step))

    def _conditions_of_step(self, step: np.int64) -> np.ndarray:
        return self.conditions[self._indices(step)]

    def start(self, step: int) -> None:
        def read(step: tf.Tensor) -> Batch:
            images = tf.numpy_function(self._read_step, [step], tf.uint8, stateful=False)
            images = tf.ensure_shape(images, (self.batch_size, *self.image_shape))
            if self.conditions is None:
                return images
            conditions = tf.numpy_function(self._conditions_of_step, [step], tf.float32, stateful=False)
            return images, tf.ensure_shape(conditions, (self.batch_size, self.conditions.shape[1]))

        steps = tf.data.Dataset.range(step, np.iinfo(np.int64).max)
        pipeline = steps.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        self._iterator = iter(pipeline.prefetch(self.PREFETCH_BATCHES))

    def batch(self, step: tf.Tensor) -> Batch:
        # The pipeline started at the run's first step and yields one batch per step, in order.
        element = self._iterator.get_next()
        if self.conditions is None:
            return scale(element, self.pixel_range, self.binarize)
        images, conditions = element
        return scale(images, self.pixel_range, self.binarize), conditions
