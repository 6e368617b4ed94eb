"""CIFAR-10, the official *binary* version: 50,000 train and 10,000 test 32x32 RGB images.

Only the binary version is read (``cifar-10-binary.tar.gz`` or its extracted
``cifar-10-batches-bin/``): the python version is a pickle, and unpickling a
downloaded file can run arbitrary code. Each record is 1 label byte followed by
the 1024 red, 1024 green and 1024 blue bytes of a row-major 32x32 image.
"""
from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

import numpy as np

from genlab.config.schema import DatasetConfig
from genlab.data.base import ImageSet
from genlab.data.locate import Remote, download, keras_datasets_dir, not_found
from genlab.errors import DataError

NAME = "cifar10"
ARCHIVE = "cifar-10-binary.tar.gz"
FOLDER = "cifar-10-batches-bin"
TRAIN_FILES = tuple(f"data_batch_{index}.bin" for index in range(1, 6))
TEST_FILE = "test_batch.bin"
META_FILE = "batches.meta.txt"
SIDE = 32
RECORD_SIZE = 1 + 3 * SIDE * SIDE
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
REMOTE = Remote(("https://www.cs.toronto.edu/~kriz/",), {ARCHIVE: "c32a1d4ab5d03f1284b67883e8d87530"})
HOW_TO_GET = (
    "download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz "
    "(the binary version; the python version is not read)"
)


def load(config: DatasetConfig) -> ImageSet:
    location = find_cifar(config)
    files = read_archive(location) if location.is_file() else read_folder(location)
    train = [parse_records(files[name], where(location, name)) for name in TRAIN_FILES]
    test_images, test_labels = parse_records(files[TEST_FILE], where(location, TEST_FILE))
    return ImageSet(
        name=NAME,
        train_images=np.concatenate([images for images, _ in train]),
        test_images=test_images,
        train_labels=np.concatenate([labels for _, labels in train]),
        test_labels=test_labels,
        class_names=parse_class_names(files.get(META_FILE), where(location, META_FILE)),
        notes=[f"{NAME}: reading {location}"],
    )


# ----------------------------------------------------------------------------- finding


def find_cifar(config: DatasetConfig) -> Path:
    """The archive or the extracted folder: dataset.path alone when set, else the Keras cache, else download."""
    if config.path:
        return _from_configured_path(Path(config.path).expanduser())
    keras = keras_datasets_dir()
    looked = [keras, keras / NAME]
    for directory in looked:
        found = _in_directory(directory)
        if found is not None:
            return found
    if not config.download:
        raise not_found(NAME, [ARCHIVE], looked, "download is off (dataset.download=false)", HOW_TO_GET)
    try:
        return download(NAME, ARCHIVE, REMOTE, keras / NAME)
    except DataError as error:
        raise not_found(NAME, [ARCHIVE], looked, f"the download failed: {error}", HOW_TO_GET) from None


def _in_directory(directory: Path) -> Path | None:
    """The extracted folder (faster to read) or the archive inside ``directory``."""
    if (directory / FOLDER).is_dir():
        return directory / FOLDER
    if (directory / ARCHIVE).is_file():
        return directory / ARCHIVE
    return None


def _from_configured_path(path: Path) -> Path:
    """dataset.path may be the archive, a folder holding it or the extracted folder, or that folder itself."""
    if path.is_file():
        return path
    if path.is_dir():
        if (path / TRAIN_FILES[0]).is_file():
            return path
        found = _in_directory(path)
        if found is not None:
            return found
    raise DataError(
        f"{NAME}: neither {ARCHIVE} nor {FOLDER}/ found at {path} (dataset.path). "
        f"Point dataset.path at either, or set dataset.path=null to use the usual places; "
        f"to get them: {HOW_TO_GET}."
    )


# ----------------------------------------------------------------------------- reading

WANTED = (*TRAIN_FILES, TEST_FILE, META_FILE)


def where(location: Path, filename: str) -> str:
    """How to name one data file in an error: a path, or archive:member."""
    return f"{location}:{FOLDER}/{filename}" if location.is_file() else str(location / filename)


def read_folder(folder: Path) -> dict[str, bytes]:
    files = {}
    for name in WANTED:
        path = folder / name
        if path.is_file():
            files[name] = path.read_bytes()
        elif name != META_FILE:
            raise DataError(f"{NAME}: {path} is missing; {folder} should hold {', '.join(WANTED)}")
    return files


def read_archive(archive: Path) -> dict[str, bytes]:
    """The wanted members, read in one pass through the gzip stream without extracting anything."""
    files = {}
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for member in tar:
                name = _wanted_name(member)
                if name is not None:
                    files[name] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DataError(f"{NAME}: cannot read {archive}: {error} (truncated or not a .tar.gz? fetch it again)") from None
    missing = [name for name in WANTED if name not in files and name != META_FILE]
    if missing:
        raise DataError(
            f"{NAME}: {archive} has no {FOLDER}/{missing[0]}; is it the binary version ({ARCHIVE})?"
        )
    return files


def _wanted_name(member: tarfile.TarInfo) -> str | None:
    """The file name of a regular member at cifar-10-batches-bin/<name>, if it is one we read."""
    parts = Path(member.name).parts
    if parts and parts[0] == ".":
        parts = parts[1:]
    if member.isfile() and len(parts) == 2 and parts[0] == FOLDER and parts[1] in WANTED:
        return parts[1]
    return None


def parse_records(data: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Binary records -> (N, 32, 32, 3) uint8 images and (N,) labels."""
    if len(data) % RECORD_SIZE:
        raise DataError(
            f"{NAME}: {source} has {len(data)} bytes, not a whole number of {RECORD_SIZE}-byte records "
            f"(truncated, or not the binary version)"
        )
    records = np.frombuffer(data, np.uint8).reshape(-1, RECORD_SIZE)
    labels = records[:, 0].copy()
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise DataError(f"{NAME}: {source} has label {labels.max()}, but CIFAR-10 labels are 0..9")
    planes = records[:, 1:].reshape(-1, 3, SIDE, SIDE)  # channel-major: all red, then green, then blue
    return np.ascontiguousarray(planes.transpose(0, 2, 3, 1)), labels


def parse_class_names(data: bytes | None, source: str) -> list[str]:
    """One name per line in batches.meta.txt; the official names when the file is absent."""
    if data is None:
        return list(CLASS_NAMES)
    names = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    if len(names) != len(CLASS_NAMES):
        raise DataError(f"{NAME}: {source} lists {len(names)} class names, expected {len(CLASS_NAMES)}")
    return names
