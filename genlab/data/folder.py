"""Any folder of .jpg/.jpeg/.png images, found recursively under dataset.path.

Each image is centre-cropped (dataset.crop, or the largest square) and scaled to
dataset.image_size once, into an on-disk cache that later runs stream from.
First-level sub-folders become classes when there are at least two of them.
The train/test split hashes each file's path relative to the folder, so it stays
the same when files are added, removed or copied elsewhere.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from genlab.config.schema import DatasetConfig
from genlab.data.base import ImageSet
from genlab.data.cache import Settings, SplitSource, cached_split, choose_cache_dir, file_identity, skipped_notes
from genlab.errors import ConfigError, DataError

NAME = "folder"
EXTENSIONS = (".jpg", ".jpeg", ".png")
HOW_TO_SET = "set dataset.path=DIR to a folder of .jpg/.jpeg/.png images"


def load(config: DatasetConfig) -> ImageSet:
    root = check_root(config)
    if config.image_size is None:
        raise ConfigError("dataset.image_size must be set for dataset=folder (e.g. dataset.image_size=64)")
    found = find_images(root)
    if not found:
        raise DataError(f"{NAME}: no {'/'.join(EXTENSIONS)} images under {root}; {HOW_TO_SET}")
    labels, class_names, keep = class_labels(found)
    notes = []
    if not keep.all():
        notes.append(f"{NAME}: left out {int((~keep).sum())} image(s) lying outside the class folders")
    paths = [path for path, kept in zip(found, keep) if kept]
    labels = None if labels is None else labels[keep]
    is_test = split_mask(paths, config.test_fraction)

    settings = Settings(config.image_size, config.channels or 3, config.crop)
    cache_dir = choose_cache_dir(config.cache_dir, root)
    splits = {}
    for split, in_split in (("train", ~is_test), ("test", is_test)):
        positions = np.flatnonzero(in_split)
        if split == "train" and config.max_examples is not None:
            positions = positions[: config.max_examples]  # decode only what will be used
        cached = cached_split(split_source(root, [paths[i] for i in positions], split), settings, cache_dir, config.on_bad_image)
        splits[split] = (cached, None if labels is None else labels[positions][cached.kept])

    decoded = sum(len(cached.images) for cached, _ in splits.values())
    if not decoded:
        raise DataError(f"{NAME}: none of the {len(paths)} images under {root} could be decoded (e.g. {root / paths[0]})")
    notes.insert(0, f"{NAME}: {decoded} image{'' if decoded == 1 else 's'} from {root}")
    notes += skipped_notes(NAME, [cached for cached, _ in splits.values()])
    return ImageSet(
        name=NAME,
        train_images=splits["train"][0].images,
        test_images=splits["test"][0].images,
        train_labels=splits["train"][1],
        test_labels=splits["test"][1],
        class_names=class_names,
        notes=notes,
    )


def split_source(root: Path, paths: list[Path], split: str) -> SplitSource:
    def identity(position: int) -> str:
        try:
            return file_identity(paths[position].as_posix(), root / paths[position])
        except OSError as error:
            raise DataError(f"{NAME}: cannot read {root / paths[position]}: {error.strerror or error}") from None

    def read(position: int) -> bytes:
        with open(root / paths[position], "rb") as stream:
            return stream.read()

    return SplitSource(NAME, split, len(paths), lambda position: str(root / paths[position]), identity, read)


def check_root(config: DatasetConfig) -> Path:
    if not config.path:
        raise DataError(f"{NAME}: dataset.path is not set; {HOW_TO_SET}")
    root = Path(config.path).expanduser()
    if not root.exists():
        raise DataError(f"{NAME}: {root} does not exist; {HOW_TO_SET}")
    if not root.is_dir():
        raise DataError(f"{NAME}: {root} is not a directory; {HOW_TO_SET}")
    return root


def find_images(root: Path) -> list[Path]:
    """Image paths relative to ``root``, sorted; hidden files and folders (.git, ._x.jpg, the cache) are left out."""
    found = []
    for directory, subdirectories, filenames in os.walk(root):
        subdirectories[:] = [name for name in subdirectories if not name.startswith(".")]
        for filename in filenames:
            if not filename.startswith(".") and filename.lower().endswith(EXTENSIONS):
                found.append((Path(directory) / filename).relative_to(root))
    return sorted(found)


# ----------------------------------------------------------------------------- labels and split


def class_labels(paths: list[Path]) -> tuple[np.ndarray | None, list[str] | None, np.ndarray]:
    """Labels from first-level folder names when there are at least two; plus which paths to keep.

    With classes, images directly in the root belong to none and are left out.
    """
    classes = sorted({path.parts[0] for path in paths if len(path.parts) > 1})
    keep = np.ones(len(paths), dtype=bool)
    if len(classes) < 2:
        return None, None, keep
    index = {name: position for position, name in enumerate(classes)}
    labels = np.array([index.get(path.parts[0], -1) if len(path.parts) > 1 else -1 for path in paths], np.int64)
    keep = labels >= 0
    return labels.astype(np.uint8) if len(classes) <= 256 else labels, classes, keep


def split_mask(paths: list[Path], test_fraction: float) -> np.ndarray:
    """True for test images: a stable hash of the relative path below ``test_fraction``.

    With two or more images at least one goes to test and one stays in train, so a
    tiny folder still gets a test set.
    """
    position = np.array([path_hash(path) for path in paths])
    is_test = position < test_fraction
    if len(paths) >= 2:
        if not is_test.any():
            is_test[np.argmin(position)] = True
        if is_test.all():
            is_test[np.argmax(position)] = False
    return is_test


def path_hash(path: Path) -> float:
    """A uniform number in [0, 1) that depends only on the relative path."""
    digest = hashlib.sha256(path.as_posix().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
