"""A data set's uint8 pixels as the float values a model works in."""
from __future__ import annotations

import tensorflow as tf


def scale(images: tf.Tensor, pixel_range: tuple[float, float], binarize: bool = False) -> tf.Tensor:
    """uint8 images to float32 in ``pixel_range`` (optionally binarized at 0.5 first)."""
    unit = tf.cast(images, tf.float32) / 255.0
    if binarize:
        unit = tf.cast(unit > 0.5, tf.float32)
    low, high = pixel_range
    return low + unit * (high - low)
