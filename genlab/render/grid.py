"""Tile images into one picture, optionally with text labels, and write it: plain numpy and Pillow.

Geometry (every size in pixels): tiles sit ``padding`` apart and ``padding`` from the
edges of the tile area. Labels add bands outside that area: a caption band and a
column-label band above it, a row-label band left of it. :func:`grid_layout` computes
the whole geometry, so callers (and tests) can find any tile in a written picture.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from genlab.files import atomic_path

LABEL_GAP = 2  # pixels between a label band's edge and its text


def paired_rows(first: np.ndarray, second: np.ndarray, columns: int) -> np.ndarray:
    """Rows of ``first`` each followed by the matching row of ``second``; a short last row is
    filled with blank (white) images so the pairs stay aligned."""
    rows = []
    for start in range(0, len(first), columns):
        for images in (first[start : start + columns], second[start : start + columns]):
            blank = np.ones((columns - len(images), *images.shape[1:]), images.dtype)
            rows.append(np.concatenate([images, blank]))
    return np.concatenate(rows)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] (or uint8 already) as uint8."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


@functools.lru_cache(maxsize=1)
def label_font() -> ImageFont.ImageFont:
    """Pillow's built-in bitmap font: no font file to look for, the same pixels on every machine."""
    loader = getattr(ImageFont, "load_default_imagefont", None)
    return loader() if loader is not None else ImageFont.load_default()  # type: ignore[return-value]


def _printable(text: str) -> str:
    """The bitmap font covers Latin-1 only."""
    return text.encode("latin-1", "replace").decode("latin-1")


@functools.lru_cache(maxsize=1)
def line_height() -> int:
    return int(label_font().getbbox("Agjy|")[3])


def text_width(text: str) -> int:
    if not text:
        return 0
    left, _, right, _ = label_font().getbbox(_printable(text))
    return int(right - left)


@dataclass(frozen=True)
class GridLayout:
    """Where everything goes in a tiled picture."""

    count: int
    rows: int
    columns: int
    tile_height: int
    tile_width: int
    padding: int
    caption_band: int = 0  # height of the caption band at the very top
    column_band: int = 0  # height of the column-label band below it
    row_band: int = 0  # width of the row-label band at the left
    margin_left: int = 0  # extra space that centres the tiles under a caption wider than them
    margin_right: int = 0

    @property
    def top(self) -> int:
        """Pixels above the tile area."""
        return self.caption_band + self.column_band

    @property
    def left(self) -> int:
        """Pixels left of the tile area."""
        return self.margin_left + self.row_band

    @property
    def height(self) -> int:
        return self.top + self.rows * (self.tile_height + self.padding) + self.padding

    @property
    def width(self) -> int:
        return self.left + self.columns * (self.tile_width + self.padding) + self.padding + self.margin_right

    def origin(self, row: int, column: int) -> tuple[int, int]:
        """(y, x) of the top-left pixel of the tile at ``row``, ``column``."""
        return (
            self.top + self.padding + row * (self.tile_height + self.padding),
            self.left + self.padding + column * (self.tile_width + self.padding),
        )

    def tile_at(self, picture: np.ndarray, row: int, column: int) -> np.ndarray:
        """The pixels of one tile, cut out of a picture drawn with this layout."""
        y, x = self.origin(row, column)
        return picture[y : y + self.tile_height, x : x + self.tile_width]


def grid_layout(
    count: int,
    tile_shape: tuple[int, int],
    columns: int | None = None,
    padding: int = 2,
    row_labels: Sequence[str] | None = None,
    column_labels: Sequence[str] | None = None,
    caption: str | None = None,
) -> GridLayout:
    """The layout of ``count`` tiles of ``tile_shape`` (height, width), row by row.

    ``columns`` defaults to the smallest square that holds them all. Row labels need one
    entry per row, column labels one per column.
    """
    if count < 1:
        raise ValueError(f"a grid needs at least one image (got {count})")
    if padding < 0:
        raise ValueError(f"padding must be >= 0 (got {padding})")
    columns = columns or math.ceil(math.sqrt(count))
    if columns < 1:
        raise ValueError(f"columns must be >= 1 (got {columns})")
    rows = math.ceil(count / columns)
    if row_labels is not None and len(row_labels) != rows:
        raise ValueError(f"expected {rows} row labels, got {len(row_labels)}")
    if column_labels is not None and len(column_labels) != columns:
        raise ValueError(f"expected {columns} column labels, got {len(column_labels)}")
    band = LABEL_GAP + line_height()
    layout = GridLayout(
        count=count,
        rows=rows,
        columns=columns,
        tile_height=int(tile_shape[0]),
        tile_width=int(tile_shape[1]),
        padding=padding,
        caption_band=band if caption else 0,
        column_band=band if column_labels is not None else 0,
        row_band=LABEL_GAP + max(map(text_width, row_labels)) if row_labels is not None else 0,
    )
    shortfall = 2 * LABEL_GAP + text_width(caption or "") - layout.width
    if shortfall > 0:
        layout = replace(layout, margin_left=shortfall // 2, margin_right=shortfall - shortfall // 2)
    return layout


def tile(
    images: np.ndarray,
    columns: int | None = None,
    padding: int = 2,
    background: int = 255,
    *,
    row_labels: Sequence[str] | None = None,
    column_labels: Sequence[str] | None = None,
    caption: str | None = None,
) -> np.ndarray:
    """Lay N images (N, H, W, C) out row by row, ``padding`` pixels apart; returns an (H', W', C) uint8 picture.

    Without labels the picture is (rows*(H+padding)+padding, columns*(W+padding)+padding);
    labels add the bands described by :func:`grid_layout`.
    """
    images = to_uint8(images)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"expected a non-empty (N, H, W, C) array, got shape {images.shape}")
    count, height, width, channels = images.shape
    layout = grid_layout(count, (height, width), columns, padding, row_labels, column_labels, caption)
    canvas = np.full((layout.height, layout.width, channels), background, dtype=np.uint8)
    for index, image in enumerate(images):
        y, x = layout.origin(*divmod(index, layout.columns))
        canvas[y : y + height, x : x + width] = image
    if row_labels is None and column_labels is None and not caption:
        return canvas
    return _draw_labels(canvas, layout, background, row_labels, column_labels, caption)


def _draw_labels(
    canvas: np.ndarray,
    layout: GridLayout,
    background: int,
    row_labels: Sequence[str] | None,
    column_labels: Sequence[str] | None,
    caption: str | None,
) -> np.ndarray:
    channels = canvas.shape[-1]
    picture = Image.fromarray(canvas[..., 0] if channels == 1 else canvas)
    draw = ImageDraw.Draw(picture)
    ink = 0 if background >= 128 else 255
    fill = ink if channels == 1 else (ink,) * channels
    font = label_font()

    def write(x: float, y: int, text: str) -> None:
        draw.text((int(round(x)), y), _printable(text), fill=fill, font=font)

    if caption:
        write((layout.width - text_width(caption)) / 2, LABEL_GAP, caption)
    if column_labels is not None:
        for column, text in enumerate(column_labels):
            centre = layout.origin(0, column)[1] + layout.tile_width / 2
            write(centre - text_width(text) / 2, layout.caption_band + LABEL_GAP, text)
    if row_labels is not None:
        for row, text in enumerate(row_labels):
            middle = layout.origin(row, 0)[0] + layout.tile_height / 2
            write(layout.margin_left + LABEL_GAP, int(middle - line_height() / 2), text)
    drawn = np.asarray(picture, dtype=np.uint8)
    return drawn[..., np.newaxis] if channels == 1 else drawn


def save_png(picture: np.ndarray, path: str | Path) -> Path:
    """Write an (H, W, C) uint8 picture; written to a temporary name first so no half file is left."""
    picture = to_uint8(picture)
    if picture.ndim == 3 and picture.shape[-1] == 1:
        picture = picture[..., 0]
    with atomic_path(path) as temporary:
        Image.fromarray(picture).save(temporary, format="PNG")
    return Path(path)
