"""What every data source returns: a small, uniform description of an image set."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

from genlab.data.records import ImageRecords

# uint8 NHWC: in memory (small sets), or a file read on demand (large sets)
Images = Union[np.ndarray, ImageRecords]


@dataclass
class ImageSet:
    """Train and test images as uint8 NHWC arrays, in memory or as on-disk records.

    Scaling to the model's pixel range happens later, on the device, so the
    arrays stay four times smaller than float32 copies would be. Large sources
    give :class:`ImageRecords`, which read only the images asked for.
    Attributes (CelebA) are 0/1 uint8 arrays with one row per image, one column
    per name in ``attribute_names``.
    """

    name: str
    train_images: Images
    test_images: Images
    train_labels: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    class_names: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    attribute_names: list[str] | None = None
    train_attributes: np.ndarray | None = None
    test_attributes: np.ndarray | None = None

    def __post_init__(self) -> None:
        for split, images in (("train", self.train_images), ("test", self.test_images)):
            if not isinstance(images, (np.ndarray, ImageRecords)) or images.dtype != np.uint8 or images.ndim != 4:
                raise ValueError(
                    f"{self.name} {split} images must be uint8 NHWC, got "
                    f"{type(images).__name__} {getattr(images, 'dtype', None)} {getattr(images, 'shape', None)}"
                )
        for split, images, labels, attributes in (
            ("train", self.train_images, self.train_labels, self.train_attributes),
            ("test", self.test_images, self.test_labels, self.test_attributes),
        ):
            if labels is not None and len(labels) != len(images):
                raise ValueError(f"{self.name}: {len(labels)} {split} labels for {len(images)} images")
            if attributes is None:
                continue
            if self.attribute_names is None or attributes.shape != (len(images), len(self.attribute_names)):
                raise ValueError(
                    f"{self.name}: {split} attributes of shape {attributes.shape} do not match "
                    f"{len(images)} images and {len(self.attribute_names or [])} attribute names"
                )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        height, width, channels = self.train_images.shape[1:]
        return int(height), int(width), int(channels)

    @property
    def num_train(self) -> int:
        return int(self.train_images.shape[0])
