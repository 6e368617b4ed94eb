"""Olivetti faces: 400 grayscale 64x64 pictures of 40 people (AT&T Laboratories Cambridge).

Read from ``olivettifaces.mat``, the MATLAB file scikit-learn's ``fetch_olivetti_faces``
also downloads, with scipy (pip install 'genlab[faces]'). scikit-learn's own cache of it
(``olivetti*.pkz``) is a pickle and is never read: unpickling a file can run code.

The file is looked for in dataset.path (the file itself, or a folder holding it) alone
when set; otherwise in /usr/share/datasets/olivetti and ~/.keras/datasets/olivetti, then
downloaded there (checksum verified). It holds one 4096-value column per picture, ten
pictures per person in order; pixels are scaled as scikit-learn does (minimum to 0,
maximum to 1). Each person's pictures are split the same way every time: with
dataset.test_fraction=0.2, eight train and two test pictures per person.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genlab.config.schema import DatasetConfig
from genlab.data import locate
from genlab.data.base import ImageSet
from genlab.errors import DataError

NAME = "olivetti"
FILENAME = "olivettifaces.mat"
URL = "https://ndownloader.figshare.com/files/5976027"  # the copy scikit-learn downloads
SHA256 = "b612fb967f2dc77c9c62d3e1266e0c73d5fca46a4b8906c18e454d41af987794"
SIDE = 64
NUM_PEOPLE = 40
PICTURES_PER_PERSON = 10
SPLIT_SEED = 0  # the split never changes with the run's seed
INSTALL = "pip install scipy (or pip install 'genlab[faces]')"


def load(config: DatasetConfig) -> ImageSet:
    path = find_faces(config)
    images = read_faces(path)
    pixels = np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)[..., np.newaxis]
    labels = (np.arange(len(images)) // PICTURES_PER_PERSON).astype(np.uint8)
    is_test = stratified_test_mask(labels, config.test_fraction, SPLIT_SEED)
    return ImageSet(
        name=NAME,
        train_images=pixels[~is_test],
        test_images=pixels[is_test],
        train_labels=labels[~is_test],
        test_labels=labels[is_test],
        class_names=[f"person {person}" for person in range(NUM_PEOPLE)],
        notes=[
            f"{NAME}: reading {path}",
            f"{NAME}: {int((~is_test).sum())} train and {int(is_test.sum())} test faces of {NUM_PEOPLE} people",
        ],
    )


# ----------------------------------------------------------------------------- finding


def find_faces(config: DatasetConfig) -> Path:
    """The .mat file: dataset.path alone when set, else the usual places, else a download."""
    if config.path:
        return _from_configured_path(Path(config.path).expanduser())
    looked = locate.standard_dirs(NAME)
    for directory in looked:
        if (directory / FILENAME).is_file():
            return directory / FILENAME
    places = ", ".join(str(directory) for directory in looked)
    get_it = f"download {URL} as {FILENAME} into one of them or any folder and set dataset.path=FOLDER"
    if not config.download:
        raise DataError(f"{NAME}: {FILENAME} not found in {places} and download is off (dataset.download=false); {get_it}")
    target = locate.keras_datasets_dir() / NAME
    try:
        target.mkdir(parents=True, exist_ok=True)
        # Temporary name, checksum, then rename: an interrupted download leaves no half file.
        return locate._download_one(URL, target / FILENAME, SHA256)
    except OSError as error:
        raise DataError(f"{NAME}: cannot create {target}: {error.strerror or error}") from None
    except DataError as error:
        raise DataError(f"{NAME}: {FILENAME} not found in {places} and the download failed ({error}); {get_it}") from None


def _from_configured_path(path: Path) -> Path:
    """dataset.path may name the file or a folder holding it; no other copy replaces a wrong path."""
    if path.is_file():
        return path
    if (path / FILENAME).is_file():
        return path / FILENAME
    pickled = " (scikit-learn's olivetti*.pkz cache there is a pickle, which genlab does not read)" if (
        path.is_dir() and any(path.glob("olivetti*.pkz"))
    ) else ""
    raise DataError(
        f"{NAME}: {FILENAME} not found at {path} (dataset.path){pickled}; download {URL} as {FILENAME} "
        f"into that folder, or set dataset.path=null to use the usual places"
    )


# ----------------------------------------------------------------------------- reading


def read_faces(path: Path) -> np.ndarray:
    """(400, 64, 64) float32 faces in [0, 1], converted as scikit-learn converts the file."""
    try:
        from scipy.io import loadmat
    except ImportError:
        raise DataError(f"{NAME}: dataset=olivetti needs scipy to read {path}, which is not installed; {INSTALL}") from None
    try:
        faces = loadmat(str(path), variable_names=["faces"]).get("faces")
    except Exception as error:  # scipy raises many types for damaged files (ValueError, TypeError, zlib.error...)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{NAME}: cannot read {path}: {reason} (truncated or not a MATLAB file? fetch it again)") from None
    expected = (SIDE * SIDE, NUM_PEOPLE * PICTURES_PER_PERSON)
    if not isinstance(faces, np.ndarray) or faces.shape != expected or not np.issubdtype(faces.dtype, np.number):
        found = f"{faces.dtype} {faces.shape}" if isinstance(faces, np.ndarray) else "none"
        raise DataError(f"{NAME}: {path} has no {expected[0]}x{expected[1]} numeric 'faces' array (found: {found})")
    images = faces.T.astype(np.float32)
    if not np.isfinite(images).all() or not images.max() > images.min():
        raise DataError(f"{NAME}: {path} holds non-finite or constant pixel values; the file is damaged")
    images -= images.min()
    images /= images.max()
    return images.reshape(-1, SIDE, SIDE).transpose(0, 2, 1)  # MATLAB stores columns first


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
