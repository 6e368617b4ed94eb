"""One encoded picture (JPEG, PNG, ...) to a square uint8 HWC array: decode, centre crop, resize."""
from __future__ import annotations

import io
import math
import struct

import numpy as np
from PIL import Image, ImageOps

# what Pillow raises on malformed files (the exceptions its own fuzzers treat as expected)
DECODE_ERRORS = (
    OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError, KeyError, TypeError,
    Image.DecompressionBombError,
)


class BadImage(Exception):
    """A file that is not a decodable picture; the message says why."""


def decode_picture(data: bytes, size: int, channels: int, crop: int | None = None) -> np.ndarray:
    """``data`` as a (size, size, channels) uint8 array.

    The centred ``crop`` x ``crop`` square (the largest centred square when None,
    or when the picture is smaller) is scaled to ``size`` x ``size``. Raises
    BadImage when Pillow cannot decode the file.
    """
    try:
        with Image.open(io.BytesIO(data)) as picture:
            width, height = picture.size
            side = min(width, height) if crop is None else min(crop, width, height)
            # JPEG only: decode at 1/2, 1/4 or 1/8 scale while the crop still spans `size` pixels
            factor = side / size
            picture.draft("L" if channels == 1 else "RGB", (math.ceil(width / factor), math.ceil(height / factor)))
            reduction = min(picture.size) / min(width, height)
            picture = ImageOps.exif_transpose(picture)  # phone photos store their rotation in EXIF
            picture = to_mode(picture, "L" if channels == 1 else "RGB")
            picture = centre_square(picture, max(1, round(side * reduction)))
            picture = picture.resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(picture, dtype=np.uint8).reshape(size, size, channels)
    except DECODE_ERRORS as error:
        raise BadImage(str(error) or type(error).__name__) from None


def to_mode(picture: Image.Image, mode: str) -> Image.Image:
    """Convert, laying transparent images on black instead of exposing whatever the hidden pixels hold.

    16-bit grey (PNG) is scaled to 8 bits; Pillow's own conversion would clip it to white.
    """
    if picture.mode.startswith("I;16") or picture.mode == "I":
        levels = np.asarray(picture, dtype=np.int64)
        picture = Image.fromarray((np.clip(levels, 0, 65535) // 257).astype(np.uint8))  # 2-D uint8: mode L
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        picture = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    return picture.convert(mode)


def centre_square(picture: Image.Image, side: int) -> Image.Image:
    """The centred ``side`` x ``side`` square of ``picture`` (at most its shorter side)."""
    width, height = picture.size
    side = min(side, width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return picture.crop((left, top, left + side, top + side))
