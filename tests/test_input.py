"""Batches keyed by the step: every image once per epoch, the same batch for the same step, however started."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from genlab.errors import ConfigError
from genlab.data.pixels import scale
from genlab.training.batches import InMemoryBatches, StreamedBatches, make_batches


class ArrayRecords:
    """A stand-in for file-backed records: array-like with ``read(indices)``, counting what was read."""

    def __init__(self, images: np.ndarray):
        self.images = images
        self.shape = images.shape
        self.reads = 0

    def read(self, indices: np.ndarray) -> np.ndarray:
        self.reads += len(indices)
        return self.images[indices]


def numbered_images(count: int) -> np.ndarray:
    """Image i is filled with the value i, so a batch tells which images it holds."""
    return np.repeat(np.arange(count, dtype=np.uint8), 4).reshape(count, 2, 2, 1)


def image_ids(batch: tf.Tensor) -> list[int]:
    return [int(round(value)) for value in (batch.numpy()[:, 0, 0, 0] * 255.0)]


@pytest.mark.parametrize("kind", ["memory", "streamed"])
def test_each_epoch_visits_every_image_once_and_epochs_differ(kind: str) -> None:
    images = numbered_images(40)
    source = images if kind == "memory" else ArrayRecords(images)
    batches = make_batches(source, batch_size=8, seed=3, pixel_range=(0.0, 1.0), binarize=False)
    assert isinstance(batches, InMemoryBatches if kind == "memory" else StreamedBatches)
    batches.start(0)
    epochs = [[image_ids(batches.batch(tf.constant(step, tf.int64))) for step in range(e * 5, e * 5 + 5)] for e in range(2)]
    for epoch in epochs:
        assert sorted(sum(epoch, [])) == list(range(40))
    assert epochs[0] != epochs[1]


def test_streamed_batches_started_later_match_the_same_steps() -> None:
    images = numbered_images(40)
    from_zero = StreamedBatches(ArrayRecords(images), 8, 1, (0.0, 1.0), False)
    from_zero.start(0)
    expected = [image_ids(from_zero.batch(None)) for _ in range(12)]
    resumed = StreamedBatches(ArrayRecords(images), 8, 1, (0.0, 1.0), False)
    resumed.start(7)
    assert [image_ids(resumed.batch(None)) for _ in range(5)] == expected[7:12]


def test_in_memory_batch_is_a_function_of_the_step() -> None:
    images = numbered_images(40)
    first = InMemoryBatches(images, 8, 5, (0.0, 1.0), False)
    second = InMemoryBatches(images, 8, 5, (0.0, 1.0), False)
    assert image_ids(first.batch(tf.constant(13, tf.int64))) == image_ids(second.batch(tf.constant(13, tf.int64)))
    assert image_ids(first.batch(tf.constant(13, tf.int64))) != image_ids(first.batch(tf.constant(14, tf.int64)))


def test_scale_maps_uint8_to_the_model_range() -> None:
    pixels = tf.constant([[0, 128, 255]], tf.uint8)
    np.testing.assert_allclose(scale(pixels, (-1.0, 1.0)).numpy(), [[-1.0, 128 / 127.5 - 1.0, 1.0]], atol=1e-6)
    np.testing.assert_array_equal(scale(pixels, (0.0, 1.0), binarize=True).numpy(), [[0.0, 1.0, 1.0]])


def test_batch_larger_than_the_data_set_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="trainer.batch_size"):
        make_batches(numbered_images(4), 8, 0, (0.0, 1.0), False)
