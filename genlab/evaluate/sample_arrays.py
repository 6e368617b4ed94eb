"""The first images of an .npy or .npz array, read without the rest of the file.

An .npy is memory-mapped, so scoring the first n images of a large file reads (and holds) only
their pages. An .npz is a zip of .npy members, stored or compressed, which cannot be mapped:
its member is read as a stream, the header first, then only the bytes of the first n images
(decompression stops there). A Fortran-ordered array has its first images spread over the whole
member, so it is read whole.

A file that is not a numeric array (text named .npy, a damaged header, Python objects, which
would need unpickling) is one GenlabError saying so; numpy's own messages suggest
``allow_pickle``, which genlab never sets.
"""
from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np
from numpy.lib import format as npy_format

from genlab.errors import GenlabError

NPZ_KEY = "samples"  # the array an .npz holding several is read from
NUMERIC_KINDS = "biuf"  # booleans, integers, floats


class Header(NamedTuple):
    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype


def not_an_image_array(file: Path, why: str) -> GenlabError:
    return GenlabError(f"samples={file}: not a numeric image array ({why})")


def _read_header(stream: IO[bytes], file: Path) -> Header:
    try:
        version = npy_format.read_magic(stream)
    except ValueError:
        raise not_an_image_array(file, "not in numpy's .npy format") from None
    try:
        read = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        header = Header(*read(stream))
    except (ValueError, SyntaxError, TypeError):
        raise not_an_image_array(file, "its .npy header is damaged") from None
    if header.dtype.hasobject:
        raise not_an_image_array(file, "it holds Python objects, which genlab never unpickles")
    if header.dtype.kind not in NUMERIC_KINDS:
        raise not_an_image_array(file, f"it holds {header.dtype} values; images must hold numbers")
    if not header.shape:
        raise GenlabError(f"samples={file}: expected images of shape (N, H, W) or (N, H, W, C), got a single number")
    return header


def _npz_member(archive: zipfile.ZipFile, file: Path) -> str:
    names = [name.removesuffix(".npy") for name in archive.namelist() if name.endswith(".npy")]
    if not names:
        raise GenlabError(f"samples={file}: the .npz holds no arrays")
    if len(names) > 1 and NPZ_KEY not in names:
        raise GenlabError(f"samples={file}: the .npz holds {', '.join(names)}; name the images' array '{NPZ_KEY}'")
    return f"{NPZ_KEY if NPZ_KEY in names else names[0]}.npy"


def _check_length(file: Path, header: Header, offset: int, size: int) -> None:
    """A file cut short (a copy that stopped) is told from its size, before any of its data is read."""
    if size < offset + math.prod(header.shape) * header.dtype.itemsize:
        raise not_an_image_array(file, "the file ends before the array its header describes")


def array_header(file: Path) -> Header:
    """The shape and type of the images' array in ``file`` (.npy or .npz), from its header alone."""
    try:
        if file.suffix.lower() == ".npz":
            with zipfile.ZipFile(file) as archive:
                name = _npz_member(archive, file)
                with archive.open(name) as member:
                    header = _read_header(member, file)
                    _check_length(file, header, member.tell(), archive.getinfo(name).file_size)
                    return header
        with open(file, "rb") as stream:
            header = _read_header(stream, file)
            _check_length(file, header, stream.tell(), file.stat().st_size)
            return header
    except zipfile.BadZipFile:
        raise not_an_image_array(file, "not a zip archive, as an .npz is") from None
    except OSError as error:
        raise GenlabError(f"samples={file}: cannot be read ({error.strerror or error})") from None


def read_first(file: Path, limit: int | None = None) -> np.ndarray:
    """The first ``limit`` images (all, when None) of the array in ``file`` (.npy or .npz), in memory."""
    header = array_header(file)
    count = header.shape[0] if limit is None else min(limit, header.shape[0])
    shape = (count, *header.shape[1:])
    if math.prod(shape) == 0:
        return np.empty(shape, header.dtype)
    try:
        if file.suffix.lower() == ".npz":
            return _read_npz(file, header, shape)
        mapped = np.load(file, mmap_mode="r", allow_pickle=False)
        return np.array(mapped[:count])  # a copy of these images only; the mapping closes with ``mapped``
    except (ValueError, EOFError, zipfile.BadZipFile):  # the data is shorter than its header says
        raise not_an_image_array(file, "the file ends before the array its header describes") from None
    except OSError as error:
        raise GenlabError(f"samples={file}: cannot be read ({error.strerror or error})") from None


def _read_npz(file: Path, header: Header, shape: tuple[int, ...]) -> np.ndarray:
    with zipfile.ZipFile(file) as archive, archive.open(_npz_member(archive, file)) as member:
        _read_header(member, file)
        whole = header.fortran_order  # the first images of a Fortran-ordered array are not its first bytes
        wanted = math.prod(header.shape if whole else shape) * header.dtype.itemsize
        data = member.read(wanted)
    if len(data) < wanted:
        raise EOFError
    if whole:
        return np.frombuffer(data, header.dtype).reshape(header.shape, order="F")[: shape[0]].copy()
    return np.frombuffer(data, header.dtype).reshape(shape).copy()
