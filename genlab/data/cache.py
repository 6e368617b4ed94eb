"""The decoded-image cache of streaming sources (CelebA, image folders).

The first run decodes each split's pictures in threads (Pillow releases the GIL
while decoding and resizing), crops and resizes them, and writes them as one
records file per split; later runs read that file. A cache file's name carries a
hash of the source files' identity (names, sizes, dates) and of the crop, size
and channel settings, so changing either makes a new cache and leaves the old
one for the settings it was made with.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.data.decode import BadImage, decode_picture
from genlab.data.progress import Progress
from genlab.data.records import DATA_SUFFIX, ImageRecords, RecordsError, RecordsWriter
from genlab.errors import DataError

log = logging.getLogger("genlab.data")

CACHE_VERSION = 1  # bump when decoding changes what a cache holds
CACHE_FOLDER = ".genlab-cache"  # beside the data; hidden, so image folders never list it
STALE_PART_SECONDS = 600.0  # an unfinished cache file untouched this long belongs to a killed run
CHUNK = 256  # pictures decoded per batch of thread work: bounds memory while building
BAD_IMAGE_POLICIES = ("skip", "fail")


@dataclass(frozen=True)
class Settings:
    """What a cache's images are made into."""

    size: int
    channels: int
    crop: int | None

    def describe(self) -> str:
        crop = f"centre crop {self.crop}" if self.crop else "centre square"
        return f"{crop}, {self.size}x{self.size}x{self.channels}"


@dataclass
class SplitSource:
    """The pictures of one split, in order: how to name, identify and read picture i.

    Functions rather than lists, so a split of 200,000 pictures costs no extra memory.
    ``read`` is called from worker threads.
    """

    dataset: str  # source name, e.g. celeba
    split: str  # train or test
    count: int
    name: Callable[[int], str]  # what an error or log line calls it (a path, or archive:member)
    identity: Callable[[int], str]  # what enters the cache key (name, size and date, or checksum)
    read: Callable[[int], bytes]  # its encoded bytes


@dataclass
class CachedSplit:
    images: ImageRecords
    kept: np.ndarray  # bool per source picture: False where it was skipped as unreadable
    skipped: list[str]  # names of the skipped pictures
    skipped_reason: str  # why the first one could not be read


def cache_key(source: SplitSource, settings: Settings) -> str:
    digest = hashlib.sha256()
    header = {
        "version": CACHE_VERSION,
        "dataset": source.dataset,
        "split": source.split,
        "size": settings.size,
        "channels": settings.channels,
        "crop": settings.crop,
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for position in range(source.count):
        digest.update(b"\n" + source.identity(position).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:20]


def file_identity(name: str, path: Path) -> str:
    """A picture file's identity for the cache key: its name, size and modification time."""
    stat = path.stat()
    return f"{name}|{stat.st_size}|{stat.st_mtime_ns}"


def cached_split(source: SplitSource, settings: Settings, cache_dir: Path, on_bad_image: str) -> CachedSplit:
    """The split's decoded images: read from the cache, or decoded once and cached."""
    if on_bad_image not in BAD_IMAGE_POLICIES:
        raise DataError(f"dataset.on_bad_image must be one of {', '.join(BAD_IMAGE_POLICIES)} (got {on_bad_image!r})")
    size = settings.size
    path = cache_dir / (
        f"{source.dataset}-{source.split}-{size}x{size}x{settings.channels}-{cache_key(source, settings)}{DATA_SUFFIX}"
    )
    cached = _read_cache(path, source)
    if cached is not None:
        log.info("%s %s: reading cached images %s (%s)", source.dataset, source.split, path, settings.describe())
    else:
        log.info(
            "%s %s: decoding %d pictures into the cache %s (%s); later runs read it",
            source.dataset, source.split, source.count, path, settings.describe(),
        )
        cached = _build_cache(path, source, settings, on_bad_image)
    if cached.skipped and on_bad_image == "fail":
        raise _bad_image(source.dataset, cached.skipped[0], cached.skipped_reason)
    return cached


def _bad_image(dataset: str, name: str, reason: str) -> DataError:
    return DataError(
        f"{dataset}: cannot decode {name} ({reason}); "
        f"dataset.on_bad_image=fail stops here (skip leaves unreadable pictures out)"
    )


def skipped_notes(dataset: str, splits: list[CachedSplit]) -> list[str]:
    """One log line counting the skipped pictures of all splits, naming one and why."""
    skipped = [picture for cached in splits for picture in cached.skipped]
    if not skipped:
        return []
    reason = next(cached.skipped_reason for cached in splits if cached.skipped)
    return [f"{dataset}: skipped {len(skipped)} unreadable picture(s), e.g. {skipped[0]} ({reason})"]


def _read_cache(path: Path, source: SplitSource) -> CachedSplit | None:
    if not path.with_suffix(".json").is_file():
        return None
    try:
        images = ImageRecords(path)
    except (RecordsError, OSError) as error:
        log.warning("%s: ignoring an unusable cache file (%s); decoding again", source.dataset, error)
        return None
    skipped = _positions(images.info.get("skipped", []), source.count)
    declared = images.info.get("pictures")
    if skipped is None or declared != source.count or len(images) + len(skipped) != source.count:
        log.warning(
            "%s: cache %s does not match its source (it says %s pictures and holds %d; the source has %d); decoding again",
            source.dataset, path, declared, len(images), source.count,
        )  # fmt: skip
        return None
    kept = np.ones(source.count, dtype=bool)
    kept[skipped] = False
    return CachedSplit(images, kept, [source.name(i) for i in skipped], images.info.get("skipped_reason", ""))


def _positions(listed: object, count: int) -> list[int] | None:
    """A cache's list of skipped pictures, if it is one of distinct positions below ``count``."""
    if not isinstance(listed, list) or not all(isinstance(position, int) and 0 <= position < count for position in listed):
        return None
    return listed if len(set(listed)) == len(listed) else None


def _build_cache(path: Path, source: SplitSource, settings: Settings, on_bad_image: str) -> CachedSplit:
    _remove_stale_parts(path)
    kept = np.ones(source.count, dtype=bool)
    first_reason = ""
    label = f"{source.dataset} {source.split}: decoding"
    shape = (settings.size, settings.size, settings.channels)
    try:
        with RecordsWriter(path, shape) as writer, Progress(label, source.count) as progress:
            for position, image, reason in _decoded(source, settings):
                if image is None:
                    if on_bad_image == "fail":
                        raise _bad_image(source.dataset, source.name(position), reason)
                    kept[position] = False
                    first_reason = first_reason or reason
                else:
                    writer.write(image)
                progress.update(position + 1)
            skipped = np.flatnonzero(~kept)
            info = {
                "dataset": source.dataset,
                "split": source.split,
                "pictures": source.count,
                "settings": settings.describe(),
                "skipped": skipped.tolist(),
                "skipped_reason": first_reason,
                "made": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
            images = writer.finish(info)
    except OSError as error:
        raise DataError(f"{source.dataset}: cannot write the image cache {path}: {error.strerror or error}") from None
    return CachedSplit(images, kept, [source.name(i) for i in skipped], info["skipped_reason"])


def _decoded(source: SplitSource, settings: Settings) -> Iterator[tuple[int, np.ndarray | None, str]]:
    """(position, image or None, why not) for every picture, in order, decoded in threads."""

    def decode(position: int) -> tuple[int, np.ndarray | None, str]:
        try:
            data = source.read(position)
            return position, decode_picture(data, settings.size, settings.channels, settings.crop), ""
        except BadImage as error:
            return position, None, str(error)
        except OSError as error:
            return position, None, f"cannot read: {error.strerror or error}"

    workers = min(16, 2 * (os.cpu_count() or 1))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode")
    try:
        for start in range(0, source.count, CHUNK * workers):
            yield from pool.map(decode, range(start, min(start + CHUNK * workers, source.count)))
    finally:  # on a stop (Ctrl-C), the pictures not yet started are dropped rather than decoded first
        pool.shutdown(cancel_futures=True)


def _remove_stale_parts(path: Path) -> None:
    """Unfinished files of the same cache left by a killed run (a running build keeps touching its own)."""
    now = time.time()
    for part in path.parent.glob(f".{path.name}.*.part"):
        try:
            if now - part.stat().st_mtime > STALE_PART_SECONDS:
                part.unlink()
        except OSError:
            pass


# ----------------------------------------------------------------------------- where caches live


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "genlab"


def choose_cache_dir(configured: str | None, data_dir: Path) -> Path:
    """dataset.cache_dir when set; else a hidden folder beside the data, or the user cache when that is read-only."""
    if configured:
        directory = Path(configured).expanduser()
        if not _writable(directory):
            raise DataError(f"dataset.cache_dir: cannot write to {directory}")
        return directory
    beside = data_dir / CACHE_FOLDER
    if _writable(beside):
        return beside
    fallback = user_cache_dir()
    if not _writable(fallback):
        raise DataError(
            f"no writable place for the image cache ({beside} and {fallback} are read-only); set dataset.cache_dir=DIR"
        )
    log.info("%s is read-only: caching decoded images in %s", data_dir, fallback)
    return fallback


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError:
        return False
    return True
