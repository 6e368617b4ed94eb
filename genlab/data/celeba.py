"""CelebA, the official aligned release: 202,599 face pictures (178x218 JPEG) with 40 attributes.

Read as users have it on disk under dataset.path:
  img_align_celeba/ (the JPEGs) or img_align_celeba.zip (read in place, never extracted),
  list_attr_celeba.txt (a count line, the 40 attribute names, then one row of 1/-1 per picture),
  list_eval_partition.txt (one "name split" row per picture: 0 train, 1 validation, 2 test).
Pictures are centre-cropped (dataset.crop) and resized (dataset.image_size) once, into
an on-disk cache that later runs stream from. The validation split is not used.
"""
from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from genlab.config.schema import DatasetConfig
from genlab.data import locate
from genlab.data.base import ImageSet
from genlab.data.cache import Settings, SplitSource, cached_split, choose_cache_dir, file_identity, skipped_notes
from genlab.errors import ConfigError, DataError

NAME = "celeba"
IMAGES_FOLDER = "img_align_celeba"
IMAGES_ZIP = "img_align_celeba.zip"
ATTRIBUTES_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
SPLIT_CODES = {"train": 0, "validation": 1, "test": 2}
NUM_ATTRIBUTES = 40
HOW_TO_GET = (
    "CelebA cannot be downloaded automatically (it is shared through Google Drive); "
    'the README section "Getting CelebA" says where the official release and its mirrors are'
)
EXPECTED = f"{IMAGES_FOLDER}/ (or {IMAGES_ZIP}), {ATTRIBUTES_FILE} and {PARTITION_FILE}"


def load(config: DatasetConfig) -> ImageSet:
    if config.image_size is None:
        raise ConfigError("dataset.image_size must be set for dataset=celeba (e.g. dataset.image_size=64)")
    root = find_root(config)
    partition = read_partition(root / PARTITION_FILE)
    attributes = read_attributes(root / ATTRIBUTES_FILE)
    settings = Settings(config.image_size, config.channels or 3, config.crop)
    cache_dir = choose_cache_dir(config.cache_dir, root)
    with open_pictures(root) as pictures:
        check_complete(root, pictures, partition, attributes)
        splits = {}
        for split in ("train", "test"):
            names = [name for name, code in partition.items() if code == SPLIT_CODES[split]]
            if split == "train" and config.max_examples is not None:
                names = names[: config.max_examples]  # decode only what will be used
            if not names:
                raise DataError(f"{NAME}: {root / PARTITION_FILE} lists no {split} pictures (code {SPLIT_CODES[split]})")
            source = SplitSource(
                NAME, split, len(names),
                name=lambda i, names=names: pictures.describe(names[i]),
                identity=lambda i, names=names: pictures.identity(names[i]),
                read=lambda i, names=names: pictures.read(names[i]),
            )
            cached = cached_split(source, settings, cache_dir, config.on_bad_image)
            if not len(cached.images):
                raise DataError(f"{NAME}: none of the {len(names)} {split} pictures could be decoded (e.g. {source.name(0)})")
            splits[split] = (cached, attributes.of(names)[cached.kept])

    validation = sum(1 for code in partition.values() if code == SPLIT_CODES["validation"])
    notes = [
        f"{NAME}: {len(splits['train'][0].images)} train and {len(splits['test'][0].images)} test pictures "
        f"from {pictures.location} (the {validation} validation pictures are not used)"
    ]
    notes += skipped_notes(NAME, [cached for cached, _ in splits.values()])
    return ImageSet(
        name=NAME,
        train_images=splits["train"][0].images,
        test_images=splits["test"][0].images,
        notes=notes,
        attribute_names=attributes.names,
        train_attributes=splits["train"][1],
        test_attributes=splits["test"][1],
    )


# ----------------------------------------------------------------------------- finding


def missing_files(directory: Path) -> list[str]:
    missing = []
    if not (directory / IMAGES_FOLDER).is_dir() and not (directory / IMAGES_ZIP).is_file():
        missing.append(f"{IMAGES_FOLDER}/ (or {IMAGES_ZIP})")
    missing += [name for name in (ATTRIBUTES_FILE, PARTITION_FILE) if not (directory / name).is_file()]
    return missing


def find_root(config: DatasetConfig) -> Path:
    """The folder holding the release: dataset.path (or its celeba/ sub-folder), else the usual places."""
    if config.path:
        path = Path(config.path).expanduser()
        candidates = [path, path / NAME]
        for directory in candidates:
            if not missing_files(directory):
                return directory
        if not path.is_dir():
            raise DataError(f"{NAME}: {path} (dataset.path) is not a folder; it should hold {EXPECTED}. {HOW_TO_GET}.")
        raise DataError(
            f"{NAME}: incomplete dataset at {path} (dataset.path): {', '.join(missing_files(path))} not found. "
            f"Expected the official aligned release: {EXPECTED}. {HOW_TO_GET}."
        )
    looked = locate.standard_dirs(NAME)
    for directory in looked:
        if not missing_files(directory):
            return directory
    raise DataError(
        f"{NAME}: data files not found ({EXPECTED}).\n"
        f"  looked in: {', '.join(str(directory) for directory in looked)}\n"
        f"  to get them: {HOW_TO_GET}; then set dataset.path=DIR to the folder holding them."
    )


# ----------------------------------------------------------------------------- the pictures


class FolderPictures:
    """The JPEGs of img_align_celeba/."""

    def __init__(self, folder: Path):
        self.location = folder
        with os.scandir(folder) as entries:
            self.names = {entry.name for entry in entries if entry.name.lower().endswith(".jpg")}

    def __enter__(self) -> "FolderPictures":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def has(self, name: str) -> bool:
        return name in self.names

    def describe(self, name: str) -> str:
        return str(self.location / name)

    def identity(self, name: str) -> str:
        try:
            return file_identity(name, self.location / name)
        except OSError as error:
            raise DataError(f"{NAME}: cannot read {self.location / name}: {error.strerror or error}") from None

    def read(self, name: str) -> bytes:
        with open(self.location / name, "rb") as stream:
            return stream.read()


class ZipPictures:
    """The JPEGs inside img_align_celeba.zip, read in place.

    One ZipFile serves every decoding thread: reads of different members only
    share its file position under the ZipFile's own lock.
    """

    def __init__(self, archive: Path):
        self.location = archive
        try:
            self.zip = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise DataError(f"{NAME}: cannot read {archive}: {error} (truncated download? fetch it again)") from None
        first = next((info.filename for info in self.zip.infolist() if info.filename.lower().endswith(".jpg")), "")
        self.prefix = first[: first.rfind("/") + 1]  # img_align_celeba/ in the official zip

    def __enter__(self) -> "ZipPictures":
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def has(self, name: str) -> bool:
        try:
            self.zip.getinfo(self.prefix + name)
        except KeyError:
            return False
        return True

    def describe(self, name: str) -> str:
        return f"{self.location}:{self.prefix}{name}"

    def identity(self, name: str) -> str:
        info = self.zip.getinfo(self.prefix + name)
        return f"{name}|{info.file_size}|{info.CRC:08x}"

    def read(self, name: str) -> bytes:
        try:
            return self.zip.read(self.prefix + name)
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise OSError(f"broken zip member: {error}") from None


Pictures = Union[FolderPictures, ZipPictures]


def open_pictures(root: Path) -> Pictures:
    folder = root / IMAGES_FOLDER
    return FolderPictures(folder) if folder.is_dir() else ZipPictures(root / IMAGES_ZIP)


# ----------------------------------------------------------------------------- the text files


def _lines(path: Path) -> Iterator[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            yield from stream
    except OSError as error:
        raise DataError(f"{NAME}: cannot read {path}: {error.strerror or error}") from None


def read_partition(path: Path) -> dict[str, int]:
    """Picture name -> split code (0 train, 1 validation, 2 test), in file order."""
    partition = {}
    for number, line in enumerate(_lines(path), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise DataError(f"{NAME}: {path} line {number} is not 'NAME 0|1|2': {line[:80]!r}")
        if fields[0] in partition:
            raise DataError(f"{NAME}: {path} line {number} repeats the split of {fields[0]}")
        partition[fields[0]] = int(fields[1])
    if not partition:
        raise DataError(f"{NAME}: {path} is empty")
    return partition


@dataclass
class Attributes:
    names: list[str]
    rows: dict[str, int]  # picture name -> row of values
    values: np.ndarray  # (pictures, 40) uint8: 1 where the file says 1, 0 where it says -1

    def of(self, pictures: list[str]) -> np.ndarray:
        return self.values[[self.rows[name] for name in pictures]]


def read_attributes(path: Path) -> Attributes:
    """The file's 40 attribute names and one row per picture, as many rows as its first line says."""
    lines = _lines(path)
    count_line, names_line = next(lines, ""), next(lines, "")
    if not count_line.strip().isdigit():
        raise DataError(f"{NAME}: {path} line 1 is not the number of pictures: {count_line.strip()[:80]!r}")
    declared = int(count_line)
    names = names_line.split()
    if len(names) != NUM_ATTRIBUTES:
        raise DataError(f"{NAME}: {path} line 2 names {len(names)} attributes, expected {NUM_ATTRIBUTES}")
    rows: dict[str, int] = {}
    # Room for the declared rows, grown when there are more; a wrong count never reserves more than 40 MB.
    values = np.zeros((max(min(declared, 1 << 20), 1), NUM_ATTRIBUTES), dtype=np.uint8)
    allowed = {"1", "-1"}
    for number, line in enumerate(lines, start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != NUM_ATTRIBUTES + 1 or not allowed.issuperset(fields[1:]):
            raise DataError(f"{NAME}: {path} line {number} is not a name and {NUM_ATTRIBUTES} values of 1/-1")
        if fields[0] in rows:
            raise DataError(f"{NAME}: {path} line {number} repeats the row of {fields[0]}")
        if len(rows) == len(values):
            values = np.concatenate([values, np.zeros_like(values)])
        values[len(rows)] = [field == "1" for field in fields[1:]]
        rows[fields[0]] = len(rows)
    if len(rows) != declared:
        raise DataError(f"{NAME}: {path} line 1 says {declared} pictures, but the file has {len(rows)} rows")
    return Attributes(names, rows, values[: len(rows)])


def check_complete(root: Path, pictures: Pictures, partition: dict[str, int], attributes: Attributes) -> None:
    """Every picture of the partition file has its JPEG and its attribute row."""
    for what, present, where in (
        ("pictures", pictures.has, str(pictures.location)),
        ("attribute rows", attributes.rows.__contains__, str(root / ATTRIBUTES_FILE)),
    ):
        absent = [name for name in partition if not present(name)]
        if absent:
            raise DataError(
                f"{NAME}: incomplete dataset: {len(absent)} of the {len(partition)} {what} listed in "
                f"{root / PARTITION_FILE} are missing from {where} (e.g. {absent[0]}). "
                f"Expected the official aligned release: {EXPECTED}. {HOW_TO_GET}."
            )
