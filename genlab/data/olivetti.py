"""Olivetti faces: 400 grayscale 64x64 pictures of 40 people (AT&T Laboratories Cambridge).

Read with scikit-learn's ``fetch_olivetti_faces`` (an optional dependency: pip install
genlab[faces]), which downloads the set once into dataset.path or scikit-learn's
data home. Each person's ten pictures are split the same way every time: with
dataset.test_fraction=0.2, eight train and two test pictures per person.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from genlab.config import DatasetConfig
from genlab.data.base import ImageSet
from genlab.errors import DataError

NAME = "olivetti"
SIDE = 64
NUM_PEOPLE = 40
SPLIT_SEED = 0  # the split never changes with the run's seed
INSTALL = "pip install scikit-learn (or pip install 'genlab[faces]')"


def fetch_faces(data_home: str | None, download: bool) -> Any:
    """scikit-learn's Olivetti bunch (``images`` in [0, 1], ``target`` person ids)."""
    try:
        from sklearn.datasets import fetch_olivetti_faces
    except ImportError:
        raise DataError(f"{NAME}: dataset=olivetti needs scikit-learn, which is not installed; {INSTALL}") from None
    try:
        return fetch_olivetti_faces(data_home=data_home, shuffle=False, download_if_missing=download)
    except OSError as error:  # not there with download off, or the download failed (URLError is an OSError)
        where = data_home or "scikit-learn's data home (~/scikit_learn_data, or $SCIKIT_LEARN_DATA)"
        reason = "download is off (dataset.download=false)" if not download else f"the download failed: {error}"
        raise DataError(
            f"{NAME}: the Olivetti faces are not in {where} and {reason}. "
            f"Allow the one-time download (dataset.download=true) or point dataset.path at a folder "
            f"where scikit-learn has stored them."
        ) from None


def load(config: DatasetConfig) -> ImageSet:
    faces = fetch_faces(config.path, config.download)
    images = np.asarray(faces.images, dtype=np.float32)
    labels = np.asarray(faces.target)
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE) or len(labels) != len(images):
        raise DataError(f"{NAME}: expected {SIDE}x{SIDE} faces with one person id each, got images {images.shape}")
    pixels = np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)[..., np.newaxis]
    labels = labels.astype(np.uint8)
    is_test = stratified_test_mask(labels, config.test_fraction, SPLIT_SEED)
    num_people = max(NUM_PEOPLE, int(labels.max()) + 1)
    return ImageSet(
        name=NAME,
        train_images=pixels[~is_test],
        test_images=pixels[is_test],
        train_labels=labels[~is_test],
        test_labels=labels[is_test],
        class_names=[f"person {person}" for person in range(num_people)],
        notes=[f"{NAME}: {int((~is_test).sum())} train and {int(is_test.sum())} test faces of {len(np.unique(labels))} people"],
    )


def stratified_test_mask(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """True for test pictures: round(test_fraction * n) of each label's n pictures (at least one when n >= 2)."""
    generator = np.random.default_rng(seed)
    is_test = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = int(round(test_fraction * len(members)))
        if len(members) >= 2:
            count = min(max(count, 1), len(members) - 1)
        is_test[generator.permutation(members)[:count]] = True
    return is_test
