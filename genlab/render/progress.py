"""The training-progress GIF from a run's progress/ frames; needs no model and no TensorFlow."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from genlab import rundir
from genlab.errors import GenlabError
from genlab.render.grid import tile
from genlab.render.job import RenderJob

FRAME_NAME = re.compile(r"^step_(\d+)\.png$")


def progress_frames(directory: Path) -> list[tuple[int, Path]]:
    """(step, path) of every frame the trainer wrote, in step order."""
    if not directory.is_dir():
        return []
    frames = []
    for path in directory.iterdir():
        match = FRAME_NAME.match(path.name)
        if match:
            frames.append((int(match.group(1)), path))
    return sorted(frames)


def read_frame(path: Path) -> np.ndarray:
    """A frame as (H, W, C) uint8, grayscale kept as one channel."""
    with Image.open(path) as image:
        image = image.convert("L" if image.mode in ("1", "L", "I;16") else "RGB")
        pixels = np.asarray(image, dtype=np.uint8)
    return pixels[..., np.newaxis] if pixels.ndim == 2 else pixels


def same_size(pictures: list[np.ndarray], background: int = 255) -> list[np.ndarray]:
    """Pad pictures to the largest height, width and channel count (a resumed run may have changed its grid)."""
    height = max(picture.shape[0] for picture in pictures)
    width = max(picture.shape[1] for picture in pictures)
    channels = max(picture.shape[2] for picture in pictures)
    padded = []
    for picture in pictures:
        canvas = np.full((height, width, channels), background, np.uint8)
        canvas[: picture.shape[0], : picture.shape[1]] = picture  # one channel broadcasts to three
        padded.append(canvas)
    return padded


def render_progress(job: RenderJob) -> None:
    """Every frame up to the checkpoint's step, in step order, each labelled with its step."""
    config = job.config
    directory = job.run.run_dir / rundir.PROGRESS_DIR
    frames = [(step, path) for step, path in progress_frames(directory) if job.run.step is None or step <= job.run.step]
    if not frames:
        raise GenlabError(f"no progress frames (step_*.png) up to step {job.run.step} in {directory}")
    pictures = same_size([read_frame(path) for _, path in frames])
    if config.labels:
        steps = [step for step, _ in frames]
        # a caption wider than a narrow frame widens it: pad again so every frame keeps one size
        pictures = same_size(
            [tile(picture[np.newaxis], padding=0, caption=f"step {step:,}") for step, picture in zip(steps, pictures)]
        )
    job.write_gif(pictures, f"{job.name()}.gif", config.fps)
