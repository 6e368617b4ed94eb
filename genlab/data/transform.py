"""Fit any source's images to what the config asks: example count, channels, size.

One place for this so every source behaves the same, and sources only read files.
Images stay uint8 NHWC; scaling (and binarizing) is the trainer's job.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image

from genlab.config.schema import DatasetConfig
from genlab.data.base import Images, ImageSet
from genlab.data.records import ImageRecords
from genlab.errors import DataError

# ITU-R 601-2 luma, the weights Pillow's convert("L") uses
LUMA_WEIGHTS = np.array([299, 587, 114], dtype=np.uint32)


def fit_to_config(images: ImageSet, config: DatasetConfig) -> ImageSet:
    """Apply max_examples, channels and image_size/resize to both splits; refuse an empty split."""
    require_images(images)
    train_images, train_labels = images.train_images, images.train_labels
    train_attributes = images.train_attributes
    if config.max_examples is not None:
        # slice first, so the conversions below touch only what is kept
        count = config.max_examples
        train_images = train_images.limit(count) if isinstance(train_images, ImageRecords) else train_images[:count]
        train_labels = None if train_labels is None else train_labels[:count]
        train_attributes = None if train_attributes is None else train_attributes[:count]
    return dataclasses.replace(
        images,
        train_images=fit_array(train_images, config),
        test_images=fit_array(images.test_images, config),
        train_labels=train_labels,
        train_attributes=train_attributes,
    )


def require_images(images: ImageSet) -> None:
    """Training needs training images and every render and evaluation needs test images."""
    for split, split_images in (("train", images.train_images), ("test", images.test_images)):
        if len(split_images) == 0:
            where = f" ({images.notes[0]})" if images.notes else ""
            raise DataError(f"{images.name}: the {split} split holds no images{where}")


def fit_array(images: Images, config: DatasetConfig) -> Images:
    if isinstance(images, ImageRecords):
        return _check_streamed(images, config)
    if config.channels is not None:
        images = convert_channels(images, config.channels)
    if config.image_size is not None:
        size = config.image_size
        images = pad_or_crop(images, size) if config.resize == "pad" else resize(images, size)
    return images


def _check_streamed(images: ImageRecords, config: DatasetConfig) -> ImageRecords:
    """Streaming sources fit their pictures while building the cache; never load them here."""
    height, width, channels = images.image_shape
    size_ok = config.image_size is None or (height, width) == (config.image_size, config.image_size)
    if not size_ok or (config.channels is not None and channels != config.channels):
        raise DataError(
            f"{images.path} holds {height}x{width}x{channels} images, but the config asks for "
            f"image_size={config.image_size} channels={config.channels}"
        )
    return images


def convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """Grey to RGB by repetition, RGB to grey by luma; unchanged when it already matches."""
    current = images.shape[-1]
    if current == channels:
        return images
    if current == 1 and channels == 3:
        return np.repeat(images, 3, axis=-1)
    if current == 3 and channels == 1:
        luma = (images.astype(np.uint32) @ LUMA_WEIGHTS + 500) // 1000
        return luma.astype(np.uint8)[..., np.newaxis]
    raise ValueError(f"cannot convert {current} channels to {channels}")


def pad_or_crop(images: np.ndarray, size: int) -> np.ndarray:
    """Centre every image on a black ``size`` x ``size`` canvas, cropping the centre when larger.

    Pixels are kept as they are (no interpolation), which is how 28x28 digits are
    usually made 32x32 for power-of-two networks.
    """
    for axis in (1, 2):
        images = _fit_axis(images, axis, size)
    return images


def _fit_axis(images: np.ndarray, axis: int, size: int) -> np.ndarray:
    length = images.shape[axis]
    if length < size:
        before = (size - length) // 2
        widths = [(0, 0)] * images.ndim
        widths[axis] = (before, size - length - before)
        return np.pad(images, widths)
    if length > size:
        start = (length - size) // 2
        return images.take(np.arange(start, start + size), axis=axis)
    return images


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to square, then scale each image to ``size`` x ``size``.

    Pillow's bilinear filter widens its support when shrinking, so downscaling
    averages over the whole source area instead of aliasing.
    """
    height, width = images.shape[1:3]
    if (height, width) == (size, size):
        return images
    images = pad_or_crop(images, min(height, width))
    out = np.empty((len(images), size, size, images.shape[-1]), dtype=np.uint8)
    for index, image in enumerate(images):
        out[index] = resize_image(image, size)
    return out


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """One HWC uint8 image scaled to ``size`` x ``size`` (keeps the channel axis)."""
    picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    scaled = np.asarray(picture.resize((size, size), Image.Resampling.BILINEAR))
    return scaled.reshape(size, size, image.shape[-1])

