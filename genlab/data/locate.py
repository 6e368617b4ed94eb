"""Finding a source's files on disk, and downloading them when nothing is found.

Order: ``dataset.path`` alone when set (a wrong path must fail, not be silently
replaced by some other copy); otherwise the Debian location, then the Keras cache,
then a checksum-verified download into the Keras cache. Every "not found" error
lists each place looked at and how to obtain the files.

The search roots are module-level so tests can point them at a temporary
directory; the downloader is ``fetch_url`` so tests can replace it.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from genlab.config.schema import DatasetConfig
from genlab.errors import DataError
from genlab.files import atomic_path

log = logging.getLogger(__name__)

DEBIAN_ROOT = Path("/usr/share/datasets")  # Debian's dataset-* packages install here
DOWNLOAD_TIMEOUT = 30.0  # seconds per connect/read; a stalled mirror fails fast
CHUNK_SIZE = 1 << 20


@dataclass(frozen=True)
class Remote:
    """Where a source's files can be downloaded from, and what they must hash to.

    ``base_urls`` are tried in order; each file name is appended to them.
    ``checksums`` maps file name to a hex md5 (32 digits) or sha256 (64 digits).
    """

    base_urls: tuple[str, ...]
    checksums: dict[str, str] = field(default_factory=dict)


@dataclass
class Found:
    """The files of one source, and a log line saying where they came from."""

    files: dict[str, Path]
    note: str


def keras_datasets_dir() -> Path:
    """The Keras cache, honouring KERAS_HOME as Keras does; read at call time so tests can set HOME."""
    keras_home = os.environ.get("KERAS_HOME")
    base = Path(keras_home) if keras_home else Path.home() / ".keras"
    return base / "datasets"


def dashed(name: str) -> str:
    """Debian and Keras spell dataset directories with '-' (fashion-mnist)."""
    return name.replace("_", "-")


def standard_dirs(name: str) -> list[Path]:
    """The usual places for a source's files when dataset.path is not set, in search order."""
    keras = keras_datasets_dir()
    candidates = [DEBIAN_ROOT / dashed(name), keras / name, keras / dashed(name)]
    return list(dict.fromkeys(candidates))  # fashion_mnist and fashion-mnist differ; mnist once


def find_file(directory: Path, filename: str) -> Path | None:
    """``directory/filename``, or its uncompressed twin when a ``.gz`` was gunzipped by hand."""
    candidates = [directory / filename]
    if filename.endswith(".gz"):
        candidates.append(directory / filename[: -len(".gz")])
    return next((path for path in candidates if path.is_file()), None)


def find_all(directory: Path, filenames: Sequence[str]) -> dict[str, Path] | None:
    """Every file in ``directory``, or None when any one is missing."""
    found = {name: find_file(directory, name) for name in filenames}
    if any(path is None for path in found.values()):
        return None
    return found  # type: ignore[return-value]


def locate_files(
    name: str,
    filenames: Sequence[str],
    config: DatasetConfig,
    remote: Remote | None,
    how_to_get: str,
) -> Found:
    """Find all ``filenames`` of source ``name``, downloading them if allowed.

    Raises DataError naming every place looked at and ``how_to_get`` when they
    cannot be found or fetched.
    """
    if config.path:
        return _from_configured_path(name, filenames, Path(config.path).expanduser())
    looked = standard_dirs(name)
    for directory in looked:
        files = find_all(directory, filenames)
        if files is not None:
            return Found(files, f"{name}: reading {directory}")
    if not config.download or remote is None:
        reason = "download is off (dataset.download=false)" if remote else "it cannot be downloaded automatically"
        raise not_found(name, filenames, looked, reason, how_to_get)
    target = keras_datasets_dir() / name
    try:
        files = download_missing(name, filenames, remote, target)
    except DataError as error:
        raise not_found(name, filenames, looked, f"the download failed: {error}", how_to_get) from None
    return Found(files, f"{name}: downloaded to {target}")


def _from_configured_path(name: str, filenames: Sequence[str], directory: Path) -> Found:
    if not directory.is_dir():
        what = "is a file" if directory.exists() else "does not exist"
        raise DataError(f"{name}: dataset.path={directory} {what}; it should be the folder holding {', '.join(filenames)}")
    files = find_all(directory, filenames)
    if files is None:
        missing = [f for f in filenames if find_file(directory, f) is None]
        raise DataError(
            f"{name}: {', '.join(missing)} not found in {directory} (dataset.path). "
            f"Put the files there, or set dataset.path=null to use the usual places."
        )
    return Found(files, f"{name}: reading {directory}")


def not_found(name: str, filenames: Sequence[str], looked: Sequence[Path], reason: str, how_to_get: str) -> DataError:
    """The error for files that are nowhere: what, where looked, why no download, how to get them."""
    return DataError(
        f"{name}: data files not found ({', '.join(filenames)}).\n"
        f"  looked in: {', '.join(str(path) for path in looked)}\n"
        f"  and {reason}.\n"
        f"  to get them: {how_to_get}; or put them in a folder and set dataset.path=DIR."
    )


def download_missing(name: str, filenames: Sequence[str], remote: Remote, target: Path) -> dict[str, Path]:
    """Download into ``target`` each file not already there; return all of them."""
    files = {}
    for filename in filenames:
        existing = find_file(target, filename)
        files[filename] = existing or download(name, filename, remote, target)
    return files


def download(name: str, filename: str, remote: Remote, target: Path) -> Path:
    """Fetch ``filename`` from the first mirror that gives the right checksum; raise DataError otherwise."""
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"cannot create {target}: {error.strerror or error}") from None
    failures = []
    for base_url in remote.base_urls:
        url = base_url + filename
        try:
            return _download_one(url, target / filename, remote.checksums.get(filename))
        except DataError as error:
            failures.append(str(error))
    raise DataError("; ".join(failures))


def _download_one(url: str, destination: Path, checksum: str | None) -> Path:
    """Download to a temporary file beside ``destination``; rename only once the checksum matches."""
    log.info("downloading %s", url)
    with atomic_path(destination) as temporary:
        try:
            fetch_url(url, temporary)
        except (OSError, ValueError) as error:  # URLError and timeouts are OSErrors
            raise DataError(f"{url}: {getattr(error, 'reason', None) or error}") from None
        if checksum is not None:
            actual = file_digest(temporary, algorithm_for(checksum))
            if actual != checksum.lower():
                raise DataError(f"{url}: checksum mismatch (got {actual}, expected {checksum})")
    return destination


def fetch_url(url: str, destination: Path) -> None:
    """Stream ``url`` into ``destination``. Replaced in tests: they never touch the network."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"refusing to fetch {url!r}")
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, open(destination, "wb") as out:
        shutil.copyfileobj(response, out, CHUNK_SIZE)


def algorithm_for(checksum: str) -> str:
    """md5 for the 32-digit sums most mirrors publish, sha256 for 64 digits."""
    return {32: "md5", 64: "sha256"}[len(checksum)]


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()
