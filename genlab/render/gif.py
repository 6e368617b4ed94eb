"""Animated GIFs from frames: fixed frame rate, looping forever, the same bytes for the same frames."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, TypeVar

import imageio.v3 as iio
import numpy as np

from genlab.files import atomic_path
from genlab.render.grid import to_uint8

GIF_TIME_UNIT_MS = 10  # GIF stores frame durations in hundredths of a second
MIN_FRAME_MS = 20  # browsers show shorter frames for 100 ms

Frame = TypeVar("Frame")


def frame_duration_ms(fps: float) -> int:
    """The duration of one frame at ``fps``, rounded to what a GIF can store."""
    if fps <= 0:
        raise ValueError(f"fps must be > 0 (got {fps})")
    return max(MIN_FRAME_MS, GIF_TIME_UNIT_MS * round(1000.0 / fps / GIF_TIME_UNIT_MS))


def there_and_back(frames: Sequence[Frame]) -> list[Frame]:
    """Forward, then backward without repeating either end: loops without a jump or a pause."""
    frames = list(frames)
    return frames + frames[-2:0:-1]


def save_gif(frames: Sequence[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write (H, W, C) pictures as a GIF that loops forever.

    Identical consecutive frames are stored once with their durations added (the GIF
    encoder does this), so distinct frames keep their count.
    """
    if len(frames) == 0:
        raise ValueError("a GIF needs at least one frame")
    pictures = [to_uint8(frame) for frame in frames]
    shapes = {picture.shape for picture in pictures}
    if len(shapes) != 1:
        raise ValueError(f"every frame of a GIF must have the same shape, got {sorted(shapes)}")
    stack = np.stack(pictures)
    if stack.ndim == 4 and stack.shape[-1] == 1:
        stack = stack[..., 0]
    duration = frame_duration_ms(fps)
    with atomic_path(path) as temporary:
        iio.imwrite(temporary, stack, extension=".gif", plugin="pillow", is_batch=True, duration=duration, loop=0)
    return Path(path)


def count_frames(path: str | Path) -> int:
    return int(iio.improps(path, index=None, plugin="pillow").shape[0])
