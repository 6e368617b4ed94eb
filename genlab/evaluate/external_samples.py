"""Images made outside genlab, read and checked for scoring against a data set: a folder of PNG/JPEG
files, or an .npy/.npz array.

The images come back as uint8 (N, H, W, C) in the data set's shape, the form of its own test images,
so they go through exactly the feature extraction `genlab evaluate checkpoint=RUN` uses. Every way
the images can fail to fit (size, channels, value range, layout) is a one-line GenlabError naming
the file and what to change.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from genlab.errors import GenlabError
from genlab.evaluate.sample_arrays import array_header, read_first
from genlab.rundir.layout import CONFIG_FILE
from genlab.rundir.outputs import check_output_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARRAY_SUFFIXES = (".npy", ".npz")
GRAY_MODES = ("1", "L", "LA", "I", "I;16")  # Pillow's modes of grayscale pictures; the rest is read as RGB
JPEG_GRAY_TOLERANCE = 2  # levels by which a gray picture's channels may differ after JPEG's colour coding


def metrics_file(path: Path) -> Path:
    """Where the scores of the images at ``path`` go: a folder's metrics.json, or <file stem>.metrics.json."""
    return path / "metrics.json" if path.is_dir() else path.with_name(f"{path.stem}.metrics.json")


def samples_source(path: str | Path) -> Path:
    """``path`` resolved, when it is a folder or an .npy/.npz file (checked before any TensorFlow work)."""
    source = Path(path).expanduser()
    if not source.exists():
        raise GenlabError(f"samples={path}: no such file or directory ({source.resolve()})")
    if source.is_file() and source.suffix.lower() not in ARRAY_SUFFIXES:
        raise GenlabError(
            f"samples={path}: give a folder of PNG/JPEG images or an .npy/.npz array (got a {source.suffix or 'plain'} file)"
        )
    return source.resolve()


def load_samples(path: str | Path, image_shape: Sequence[int], limit: int | None = None) -> np.ndarray:
    """The first ``limit`` (all, when None) images at ``path`` as uint8 (N, H, W, C) fitting ``image_shape`` (H, W, C)."""
    source = samples_source(path)
    images = _read(source, limit)
    return _fitted(images, tuple(int(side) for side in image_shape), str(path))


def count_images(path: str | Path) -> int:
    """How many images ``path`` holds, from an array's header or a folder's file names (no pixel is read)."""
    source = samples_source(path)
    if source.is_dir():
        return len(_image_files(source))
    return array_header(source).shape[0]


def _read(source: Path, limit: int | None) -> np.ndarray:
    return _read_folder(source, limit) if source.is_dir() else read_first(source, limit)


def _image_files(folder: Path) -> list[Path]:
    files = sorted(path for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file())
    if not files:
        raise GenlabError(f"samples={folder}: no .png/.jpg/.jpeg images in the folder")
    return files


def _read_folder(folder: Path, limit: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    files = _image_files(folder)[:limit]
    images = []
    for file in files:
        try:
            with Image.open(file) as picture:
                array = np.asarray(picture.convert("L" if picture.mode in GRAY_MODES else "RGB"))
        except (OSError, UnidentifiedImageError) as error:
            raise GenlabError(f"samples: {file} cannot be read as an image ({error})") from None
        if images and array.shape != images[0].shape:
            raise GenlabError(
                f"samples: {file.name} is {_size(array.shape)} but {files[0].name} is {_size(images[0].shape)}; "
                "every image must have the same size"
            )
        images.append(array)
    return np.stack(images)


def _size(shape: Sequence[int]) -> str:
    return f"{shape[1]}x{shape[0]}" + (f"x{shape[2]}" if len(shape) == 3 else "")


def _fitted(images: np.ndarray, image_shape: tuple[int, int, int], where: str) -> np.ndarray:
    """``images`` as uint8 (N, H, W, C) of ``image_shape``, or a GenlabError saying what does not fit."""
    height, width, channels = image_shape
    if images.ndim == 3:  # (N, H, W): one channel
        images = images[..., None]
    if images.ndim != 4:
        raise GenlabError(
            f"samples={where}: expected images of shape (N, H, W) or (N, H, W, C), got an array of shape {images.shape}"
        )
    if len(images) < 1:
        raise GenlabError(f"samples={where}: the array holds no images")
    if images.shape[1:3] != (height, width):
        if images.shape[1] in (1, 3) and images.shape[2:4] == (height, width):
            raise GenlabError(
                f"samples={where}: shape {images.shape} looks channels-first (N, C, H, W); "
                "give (N, H, W, C), e.g. np.transpose(images, (0, 2, 3, 1))"
            )
        raise GenlabError(
            f"samples={where}: images are {images.shape[2]}x{images.shape[1]} pixels but the data set's are "
            f"{width}x{height}; resize them, or set dataset.image_size to their size"
        )
    images = _channels(images, channels, where)
    return _as_uint8(images, where)


def _channels(images: np.ndarray, channels: int, where: str) -> np.ndarray:
    given = images.shape[-1]
    if given == channels:
        return images
    if given == 3 and channels == 1:
        spread = np.ptp(images.astype(np.float64), axis=-1).max()
        if spread == 0:
            return images[..., :1]  # gray pictures saved as RGB
        if images.dtype == np.uint8 and spread <= JPEG_GRAY_TOLERANCE:
            return np.round(images.mean(axis=-1, keepdims=True)).astype(np.uint8)
        raise GenlabError(
            f"samples={where}: the images are in colour (3 channels) but the data set is grayscale (1 channel); "
            "give grayscale images, or set dataset.channels=3"
        )
    if given == 1 and channels == 3:
        raise GenlabError(
            f"samples={where}: the images are grayscale (1 channel) but the data set has 3 channels; "
            "give RGB images, or set dataset.channels=1"
        )
    raise GenlabError(f"samples={where}: images have {given} channels; the data set's have {channels}")


def _as_uint8(images: np.ndarray, where: str) -> np.ndarray:
    """uint8 kept as it is; other integers must lie in [0, 255]; floats in [0, 1] are scaled to 0..255."""
    if images.dtype == np.uint8:
        return images
    if images.dtype == np.bool_:
        return images.astype(np.uint8) * 255
    if images.dtype.kind in "ui":
        low, high = int(images.min()), int(images.max())
        if low < 0 or high > 255:
            raise GenlabError(f"samples={where}: integer pixel values must lie in [0, 255], got [{low}, {high}]")
        return images.astype(np.uint8)
    if not np.all(np.isfinite(images)):
        raise GenlabError(f"samples={where}: {int(np.sum(~np.isfinite(images)))} pixel values are NaN or infinite")
    low, high = float(images.min()), float(images.max())
    if low >= -1.0 - 1e-6 and low < -1e-6 and high <= 1.0 + 1e-6:
        raise GenlabError(
            f"samples={where}: float pixel values lie in [{low:.3g}, {high:.3g}]; genlab reads floats in [0, 1]: "
            "rescale images in [-1, 1] with (x + 1) / 2"
        )
    if low < -1e-6 or high > 1.0 + 1e-6:
        hint = " (images of 0..255 stored as floats: divide by 255, or store them as uint8)" if high <= 255.0 and low >= 0 else ""
        raise GenlabError(f"samples={where}: float pixel values must lie in [0, 1], got [{low:.3g}, {high:.3g}]{hint}")
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def require_new_folder(key: str, folder: str | Path) -> Path:
    """``folder`` resolved, when it does not exist yet or is an empty folder, and lies outside every
    run's checkpoints/ (genlab.rundir.outputs)."""
    target = check_output_path(key, folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise GenlabError(f"{key}={folder}: {target} exists and is not an empty folder; name a new one")
    return target


def write_sample_files(samples: np.ndarray, folder: str | Path) -> Path:
    """uint8 images (N, H, W, C) as numbered PNG files (00000.png, ...) in a new or empty ``folder``,
    in the order `evaluate samples=` reads them back."""
    from PIL import Image

    target = require_new_folder("save_samples", folder)
    target.mkdir(parents=True, exist_ok=True)
    digits = max(5, len(str(len(samples) - 1)))
    for number, image in enumerate(samples):
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(target / f"{number:0{digits}d}.png")
    return target


def preview(path: str | Path, count: int) -> np.ndarray:
    """The first ``count`` images at ``path`` as uint8 (N, H, W, C), in their own size (for a contact sheet)."""
    source = samples_source(path)
    images = _read(source, count)
    images = images[..., None] if images.ndim == 3 else images
    if images.ndim != 4:
        raise GenlabError(f"samples={path}: expected images of shape (N, H, W[, C]), got {images.shape}")
    return _as_uint8(images[:count], str(path))


def find_scores(directory: Path) -> list[Path]:
    """Every file at or below ``directory`` that holds, by its name and place, the scores of images made
    elsewhere: each <stem>.metrics.json, and each metrics.json outside a run directory (a run's own
    is its evaluation). Their content is checked when read (genlab.evaluate.metrics_files)."""
    found = set(directory.rglob("*.metrics.json"))
    found |= {path for path in directory.rglob("metrics.json") if not (path.parent / CONFIG_FILE).is_file()}
    return sorted(found)
