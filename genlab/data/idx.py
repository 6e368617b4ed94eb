"""The IDX format of MNIST and its drop-in replacements, and the loader they share.

An IDX file is: two zero bytes, a type byte (0x08 = uint8), a dimension count,
one big-endian uint32 per dimension, then the values. Every field is checked so
that a truncated or foreign file fails with its name instead of a reshape error.
Another IDX source needs only an :class:`IdxSource` and a two-line module.
"""
from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.config.schema import DatasetConfig
from genlab.data.base import ImageSet
from genlab.data.locate import Remote, locate_files
from genlab.errors import DataError

UINT8_TYPE = 0x08
GZIP_MAGIC = b"\x1f\x8b"

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILENAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


def read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic (whatever its name)."""
    try:
        raw = Path(path).read_bytes()
        return gzip.decompress(raw) if raw[:2] == GZIP_MAGIC else raw
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"cannot read {path}: {error} (truncated or corrupt download? delete it and fetch it again)") from None


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """A uint8 IDX array with ``ndim`` dimensions; DataError naming ``path`` if it is anything else."""
    data = read_bytes(path)
    header_size = 4 + 4 * ndim
    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise DataError(f"{path} is not an IDX file (bad magic number)")
    if data[2] != UINT8_TYPE or data[3] != ndim:
        raise DataError(f"{path}: expected a {ndim}-d uint8 IDX file, got type 0x{data[2]:02x} with {data[3]} dims")
    if len(data) < header_size:
        raise DataError(f"{path} is truncated (header cut short)")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    expected = header_size + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        raise DataError(f"{path}: header says {shape} ({expected} bytes) but the file has {len(data)} bytes (truncated or corrupt)")
    # a copy: arrays over ``bytes`` are read-only, and callers may scale in place
    return np.frombuffer(data, np.uint8, offset=header_size).reshape(shape).copy()


def read_images(path: Path) -> np.ndarray:
    """IDX images (N, H, W) as uint8 NHWC with one channel."""
    return read_idx(path, 3)[..., np.newaxis]


def read_labels(path: Path, num_classes: int) -> np.ndarray:
    labels = read_idx(path, 1)
    if labels.size and labels.max() >= num_classes:
        raise DataError(f"{path}: label {labels.max()} is out of range for {num_classes} classes")
    return labels


def read_split(images_path: Path, labels_path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    images = read_images(images_path)
    labels = read_labels(labels_path, num_classes)
    if len(images) != len(labels):
        raise DataError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    return images, labels


@dataclass(frozen=True)
class IdxSource:
    """Everything that tells one IDX dataset from another."""

    name: str
    class_names: tuple[str, ...]
    remote: Remote
    how_to_get: str


def load_idx_dataset(source: IdxSource, config: DatasetConfig) -> ImageSet:
    """Locate the four official files of ``source`` and read them into an ImageSet."""
    found = locate_files(source.name, FILENAMES, config, source.remote, source.how_to_get)
    num_classes = len(source.class_names)
    train_images, train_labels = read_split(found.files[TRAIN_IMAGES], found.files[TRAIN_LABELS], num_classes)
    test_images, test_labels = read_split(found.files[TEST_IMAGES], found.files[TEST_LABELS], num_classes)
    if train_images.shape[1:] != test_images.shape[1:]:
        raise DataError(f"{source.name}: train images are {train_images.shape[1:3]} but test images {test_images.shape[1:3]}")
    return ImageSet(
        name=source.name,
        train_images=train_images,
        test_images=test_images,
        train_labels=train_labels,
        test_labels=test_labels,
        class_names=list(source.class_names),
        notes=[found.note],
    )
