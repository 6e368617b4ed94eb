"""Tile images into one picture and write it: plain numpy and Pillow."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] (or uint8 already) as uint8."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def tile(images: np.ndarray, columns: int | None = None, padding: int = 2, background: int = 255) -> np.ndarray:
    """Lay N images (N, H, W, C) out row by row, ``padding`` pixels apart; returns (rows*H', cols*W', C) uint8."""
    images = to_uint8(images)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"expected a non-empty (N, H, W, C) array, got shape {images.shape}")
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        background,
        dtype=np.uint8,
    )
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = padding + row * (height + padding), padding + column * (width + padding)
        canvas[top : top + height, left : left + width] = image
    return canvas


def save_png(picture: np.ndarray, path: str | Path) -> Path:
    """Write an (H, W, C) uint8 picture; written to a temporary name first so no half file is left."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = to_uint8(picture)
    if picture.ndim == 3 and picture.shape[-1] == 1:
        picture = picture[..., 0]
    temporary = path.with_name(f".{path.name}.tmp")
    Image.fromarray(picture).save(temporary, format="PNG")
    os.replace(temporary, path)
    return path
