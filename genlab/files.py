"""Writing a file so that readers see the old one or the whole new one, never half of it.

A write that fails (a full disk, a read-only folder) raises an OSError naming the file
it was writing, which every command turns into one line.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary name beside ``path`` to write to; renamed over ``path`` when the block ends normally.

    The temporary name ends with ``path``'s own name, so writers that go by the extension
    (Pillow, imageio, Keras' ``.weights.h5``) see the right one. When the block raises,
    the temporary file is removed and ``path`` is left as it was; an OSError that names
    no file, or only the temporary one, is made to name ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{os.getpid()}.tmp.{path.name}")
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as error:
        # A full disk often shows only when a writer flushes or closes, where Python names no file.
        if error.filename is None or os.fspath(error.filename) == os.fspath(temporary):
            error.filename = str(path)
        raise
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_text(text)
    return Path(path)


def append_text(path: str | os.PathLike, text: str) -> None:
    """Add ``text`` at the end of ``path`` (made when missing): all of it, or nothing.

    A write that fails half-way (a full disk, a signal) cuts the file back to where it
    ended, so a log of one record per line never holds half a record.
    """
    data = memoryview(text.encode())
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        size = os.fstat(descriptor).st_size
        try:
            while data:
                data = data[os.write(descriptor, data) :]
        except BaseException as error:
            os.ftruncate(descriptor, size)
            if isinstance(error, OSError) and error.filename is None:
                error.filename = str(path)
            raise
    finally:
        os.close(descriptor)


# TensorFlow's errors about a file read "<path>; <the system's message>", e.g. "...; No space left on device".
_TENSORFLOW_FILE_ERROR = re.compile(r"^(?:\{\{[^}]*\}\}\s*)?(?P<path>.+?); (?P<reason>[^;]+?)(?:\s*\[Op:\w+\])?$")
_ERRNO_OF_MESSAGE = {os.strerror(code): code for code in errno.errorcode}


def failed_file(error: BaseException) -> OSError | None:
    """``error`` as an OSError naming the file it is about, or None when it is about no file.

    An OSError that names a file is itself; a TensorFlow error from writing or reading
    a file (a checkpoint, a TensorBoard events file) becomes an OSError with its path,
    its errno and the system's message.
    """
    if isinstance(error, OSError):
        return error if error.filename is not None else None
    if not type(error).__module__.startswith("tensorflow"):
        return None
    lines = str(getattr(error, "message", error)).strip().splitlines()
    match = _TENSORFLOW_FILE_ERROR.match(lines[0].strip()) if lines else None
    if match is None or match["reason"] not in _ERRNO_OF_MESSAGE:
        return None
    return OSError(_ERRNO_OF_MESSAGE[match["reason"]], match["reason"], match["path"])


def read_json(path: str | os.PathLike) -> object:
    """The JSON value in ``path``, or a GenlabError naming the file when it cannot be read, is empty,
    is not UTF-8 or not JSON (a run directory may hold a file cut short, or one from elsewhere)."""
    from genlab.errors import GenlabError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GenlabError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise GenlabError(f"cannot read {path}: {error.strerror or error}") from None
    if not text.strip():
        raise GenlabError(f"{path}: empty")
    try:
        return json.loads(text)
    except ValueError as error:
        raise GenlabError(f"{path}: not JSON ({error})") from None
