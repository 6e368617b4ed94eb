"""A file of fixed-size uint8 images that reads like a read-only numpy array.

The data file holds N records of H*W*C bytes each, back to back; a small JSON
sidecar beside it says the shape and what the records were made from. Reads use
``os.pread`` for just the records asked for (no memory map), so resident memory
does not grow with the number of images in the file, and any number of threads
may read at once.

Files are written by :class:`RecordsWriter` into temporary names and renamed
into place data first, sidecar last: a sidecar exists only beside a complete
data file, so a killed run never leaves a partial file that looks finished.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from genlab.data.progress import Progress
from genlab.files import write_text_atomically

FORMAT = "genlab-image-records"
VERSION = 1
DATA_SUFFIX = ".u8"
SIDECAR_SUFFIX = ".json"


class RecordsError(Exception):
    """A records file is missing, incomplete or not in this format."""


def sidecar_path(data_path: Path) -> Path:
    return data_path.with_suffix(SIDECAR_SUFFIX)


class _OpenFile:
    """One read-only descriptor shared by a file and its views; closed when the last one is gone."""

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        weakref.finalize(self, os.close, self.fd)


class ImageRecords:
    """N images of shape (H, W, C), uint8, read from disk on demand.

    Indexing with an int, a slice or an integer (or boolean) array returns a
    numpy array; ``limit(n)`` returns a view of the first ``n`` records without
    reading anything. ``info`` is the sidecar's free-form metadata.
    """

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(self, path: str | os.PathLike, limit: int | None = None):
        self.path = Path(path)
        header = read_sidecar(self.path)
        self.image_shape: tuple[int, int, int] = tuple(int(size) for size in header["shape"][1:])  # type: ignore[assignment]
        self.record_size = int(np.prod(self.image_shape))
        stored = int(header["shape"][0])
        self._check_size(stored)
        self.count = stored if limit is None else max(0, min(int(limit), stored))
        self.info: dict[str, Any] = header.get("info", {})
        self._file = _OpenFile(self.path)

    def _check_size(self, stored: int) -> None:
        expected = stored * self.record_size
        actual = self.path.stat().st_size
        if actual != expected:
            raise RecordsError(f"{self.path} holds {actual} bytes, expected {expected} ({stored} records)")

    # ------------------------------------------------------------------ array-like surface

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.count, *self.image_shape)

    @property
    def nbytes(self) -> int:
        return self.count * self.record_size

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"ImageRecords({str(self.path)!r}, shape={self.shape})"

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            if not key:
                return self.read(np.arange(self.count))
            first, rest = key[0], key[1:]
            return self[first][(slice(None), *rest) if _keeps_axis(first) else rest]
        if isinstance(key, (int, np.integer)):
            return self.read(np.array([self._wrap(int(key))]))[0]
        if isinstance(key, slice):
            return self.read(np.arange(*key.indices(self.count)))
        if key is Ellipsis:
            return self.read(np.arange(self.count))
        indices = np.asarray(key)
        if indices.dtype == bool:
            if indices.shape != (self.count,):
                raise IndexError(f"boolean index of shape {indices.shape} does not match {self.count} records")
            return self.read(np.flatnonzero(indices))
        if not np.issubdtype(indices.dtype, np.integer) and indices.size:
            raise IndexError(f"records are indexed by integers, slices or boolean masks, not {indices.dtype}")
        return self.read(indices.reshape(-1)).reshape(*indices.shape, *self.image_shape)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """Every record in memory (what np.asarray and tf.constant call); avoid on large files."""
        images = self.read(np.arange(self.count))
        return images if dtype is None else images.astype(dtype)

    def __reduce__(self) -> tuple:
        return (ImageRecords, (str(self.path), self.count))

    def limit(self, count: int) -> "ImageRecords":
        """A view of the first ``count`` records (all of them when there are fewer)."""
        view = object.__new__(ImageRecords)
        view.__dict__.update(self.__dict__)
        view.count = max(0, min(int(count), self.count))
        return view

    # ------------------------------------------------------------------ reading

    def _wrap(self, index: int) -> int:
        if not -self.count <= index < self.count:
            raise IndexError(f"index {index} is out of range for {self.count} records")
        return index % self.count

    def read(self, indices: np.ndarray | Sequence[int]) -> np.ndarray:
        """The records at ``indices`` (any order, repeats allowed) as an (n, H, W, C) uint8 array.

        Consecutive indices are read with one system call per run.
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if indices.size and (indices.min() < -self.count or indices.max() >= self.count):
            bad = indices[(indices < -self.count) | (indices >= self.count)][0]
            raise IndexError(f"index {bad} is out of range for {self.count} records")
        indices = indices % max(self.count, 1)
        wanted, inverse = np.unique(indices, return_inverse=True)
        out = np.empty((len(wanted), *self.image_shape), np.uint8)
        flat = out.reshape(len(wanted), self.record_size)
        run_starts = np.flatnonzero(np.diff(wanted, prepend=-2) != 1)
        run_ends = np.append(run_starts[1:], len(wanted))
        for start, end in zip(run_starts, run_ends):
            self._read_run(int(wanted[start]), flat[start:end])
        if len(wanted) == len(indices) and np.array_equal(wanted, indices):
            return out
        return out[inverse.reshape(-1)]

    def _read_run(self, first: int, into: np.ndarray) -> None:
        view = memoryview(into).cast("B")
        offset, done = first * self.record_size, 0
        while done < len(view):
            if hasattr(os, "preadv"):  # straight into the output array, no intermediate bytes
                got = os.preadv(self._file.fd, [view[done:]], offset + done)
            else:
                chunk = os.pread(self._file.fd, len(view) - done, offset + done)
                view[done : done + len(chunk)] = chunk
                got = len(chunk)
            if not got:
                raise RecordsError(f"{self.path} ended early (truncated while in use?)")
            done += got


def _keeps_axis(index: Any) -> bool:
    """Whether indexing the first axis with ``index`` keeps that axis (everything but a plain int)."""
    return not isinstance(index, (int, np.integer))


def read_sidecar(data_path: Path) -> dict[str, Any]:
    path = sidecar_path(Path(data_path))
    try:
        header = json.loads(path.read_text())
    except FileNotFoundError:
        raise RecordsError(f"{path} is missing (the records file was never finished)") from None
    except (OSError, ValueError) as error:
        raise RecordsError(f"cannot read {path}: {error}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != VERSION:
        raise RecordsError(f"{path} is not a {FORMAT} v{VERSION} sidecar")
    shape = header.get("shape")
    if not (isinstance(shape, list) and len(shape) == 4 and all(isinstance(size, int) and size >= 0 for size in shape)):
        raise RecordsError(f"{path} has no valid shape")
    if not isinstance(header.get("info", {}), dict):
        raise RecordsError(f"{path} has no valid info")
    return header


# ----------------------------------------------------------------------------- writing


class RecordsWriter:
    """Append images of one shape to a new records file; ``finish`` puts it in place atomically.

    Use as a context manager, which makes the temporary file: leaving the block without
    ``finish`` (an error, a full disk, a stop signal) removes it.
    """

    def __init__(self, data_path: str | os.PathLike, image_shape: tuple[int, int, int]):
        self.data_path = Path(data_path)
        self.image_shape = tuple(int(size) for size in image_shape)
        self.count = 0
        self.data_path.parent.mkdir(parents=True, exist_ok=True)
        # Named before it exists, and made only on entering the block: a signal at any moment
        # finds either no file or one that leaving the block removes.
        unique = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._temporary = self.data_path.with_name(f".{self.data_path.name}.{unique}.part")
        self._stream: BinaryIO | None = None

    def __enter__(self) -> "RecordsWriter":
        try:
            self._stream = open(self._temporary, "xb", buffering=1 << 20)
        except BaseException:
            self.abort()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.abort()

    def write(self, images: np.ndarray) -> None:
        """One image (H, W, C) or a batch (n, H, W, C) of uint8."""
        images = np.asarray(images)
        if images.shape == self.image_shape:
            images = images[np.newaxis]
        if images.dtype != np.uint8 or images.shape[1:] != self.image_shape:
            raise ValueError(f"expected uint8 images of shape {self.image_shape}, got {images.dtype} {images.shape}")
        self._stream.write(np.ascontiguousarray(images).tobytes())
        self.count += len(images)

    def finish(self, info: dict[str, Any] | None = None) -> ImageRecords:
        """Flush, rename the data into place, then write the sidecar that marks it complete."""
        self._stream.flush()
        os.fsync(self._stream.fileno())
        self._stream.close()
        os.chmod(self._temporary, 0o644)  # mkstemp makes it private; a cache need not be
        header = {"format": FORMAT, "version": VERSION, "shape": [self.count, *self.image_shape], "info": info or {}}
        sidecar = sidecar_path(self.data_path)
        sidecar.unlink(missing_ok=True)  # an older sidecar must not describe the new data
        os.replace(self._temporary, self.data_path)
        try:
            write_text_atomically(sidecar, json.dumps(header, indent=1) + "\n")
        except BaseException:  # without its sidecar the data is never read: do not leave it taking the space
            self.data_path.unlink(missing_ok=True)
            raise
        return ImageRecords(self.data_path)

    def abort(self) -> None:
        """Remove the temporary file (a no-op once finished); what is still buffered for it is dropped."""
        try:
            with contextlib.suppress(OSError):  # closing flushes, which fails again on a full disk
                if self._stream is not None:
                    self._stream.close()
        finally:
            self._temporary.unlink(missing_ok=True)


def write_records(
    data_path: str | os.PathLike,
    images: Iterable[np.ndarray],
    image_shape: tuple[int, int, int] | None = None,
    total: int | None = None,
    info: dict[str, Any] | None = None,
    label: str = "writing images",
) -> ImageRecords:
    """A records file of every image of ``images`` (an array or any iterable of HWC/NHWC uint8 arrays).

    Shows a progress bar on a terminal and log lines otherwise.
    """
    if image_shape is None:
        array = np.asarray(images)
        image_shape, images, total = array.shape[1:], array, len(array)
    with RecordsWriter(data_path, image_shape) as writer, Progress(label, total) as progress:
        for image in images:
            writer.write(image)
            progress.update(writer.count)
        return writer.finish(info)
