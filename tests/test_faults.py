"""A full disk and stop signals at any moment, through the real CLI: the command ends with one
line, leaves no temporary or half-written file, and the next run works."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
from PIL import Image

import fakedata
from conftest import GENLAB, Result, run_genlab, tiny_train_args

INTERRUPTED = "genlab: error: interrupted by {}; no file was left half-written"

# Without root (no tmpfs), each file the command writes is limited in size instead: a write past
# the limit fails with EFBIG, in Python and in TensorFlow alike, where a full disk fails with ENOSPC.
WITH_FILE_SIZE_LIMIT = (
    "import resource, sys; limit = int(sys.argv.pop(1)); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)); "
    "from genlab.cli import main; sys.argv[0] = 'genlab'; sys.exit(main())"
)


class SmallDisk:
    """A folder on a file system with little room left: a tmpfs of its own when the tests run as root."""

    SIZE = "8m"

    def __init__(self, path: Path):
        self.path = path
        path.mkdir()
        mount = ["mount", "-t", "tmpfs", "-o", f"size={self.SIZE}", "tmpfs", str(path)]
        self.mounted = os.geteuid() == 0 and subprocess.run(mount, capture_output=True).returncode == 0
        self.reason = os.strerror(28 if self.mounted else 27)  # ENOSPC, or EFBIG for the size limit
        self.room: int | None = None

    def fill(self, leave: int) -> None:
        """Leave ``leave`` bytes of room (without a tmpfs: let no file grow past ``leave`` bytes)."""
        self.free()
        self.room = leave
        if self.mounted:
            stat = os.statvfs(self.path)
            (self.path / "filler").write_bytes(bytes(stat.f_bavail * stat.f_frsize - leave))

    def free(self) -> None:
        self.room = None
        (self.path / "filler").unlink(missing_ok=True)

    def genlab(self, *args: str, cwd: Path) -> Result:
        """`genlab ARGS` with the room left as it is now."""
        if self.mounted or self.room is None:
            return run_genlab(*args, cwd=cwd)
        command = [sys.executable, "-c", WITH_FILE_SIZE_LIMIT, str(self.room), *args]
        completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    disk = SmallDisk(tmp_path / "disk")
    yield disk
    disk.unmount()


@pytest.fixture(scope="module")
def many_pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough small pictures that decoding them into the cache takes a moment, and no more."""
    return fakedata.write_many_pictures(tmp_path_factory.mktemp("pictures"), 3000, size=32)


def leftovers(directory: Path) -> list[Path]:
    """Temporary files and folders: atomic writes' ``.<pid>.tmp.<name>``, a cache's ``.part``, a save's ``_temp``."""
    return sorted({path for pattern in ("*.tmp*", "*.part", "*_temp*") for path in directory.rglob(pattern)})


def last_line(result: Result | str) -> str:
    text = result if isinstance(result, str) else result.stderr
    return text.strip().splitlines()[-1]


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([GENLAB, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(process: subprocess.Popen, found: Callable[[], bool], what: str) -> None:
    """Wait until ``found()`` says the phase to interrupt has started (never a fixed sleep)."""
    deadline = time.time() + 120
    while not found():
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            raise AssertionError(f"{what} never appeared: {process.communicate()}")
        time.sleep(0.01)


# ----------------------------------------------------------------------------- a full disk


def test_full_disk_while_training_keeps_the_last_checkpoint_and_resume_continues(
    small_disk: SmallDisk, trained_runs: dict[str, Path], tmp_path: Path
) -> None:
    run = small_disk.path / "run"
    shutil.copytree(trained_runs["vae"], run)  # 20 steps: ckpt-10 and ckpt-20
    checkpoint_size = sum(path.stat().st_size for path in (run / "checkpoints").glob("ckpt-20.*"))
    small_disk.fill(leave=checkpoint_size // 2)  # room for ten steps' pictures and logs, not for a checkpoint

    # as if the disk filled up while the run trained: the check at start would refuse it
    full = small_disk.genlab("train", f"resume={run}", "trainer.steps=40", "trainer.check_resources=false", cwd=tmp_path)
    checkpoints = run.resolve() / "checkpoints"
    assert full.returncode == 2, full.output
    assert last_line(full) == (
        f"genlab: error: {checkpoints}/ckpt-30: {small_disk.reason}; the run keeps {checkpoints}/ckpt-20. "
        f"Once there is space, continue with: genlab train resume={run.resolve()}"
    )
    assert "Traceback" not in full.output and "ResourceExhausted" not in full.output
    assert leftovers(small_disk.path) == []
    assert not list(checkpoints.glob("ckpt-30*"))

    small_disk.free()
    resumed = run_genlab("train", f"resume={run}", "trainer.steps=40", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.output
    assert f"resuming from {checkpoints}/ckpt-20" in resumed.output
    assert (checkpoints / "ckpt-40.index").is_file()
    steps = [json.loads(line)["step"] for line in (run / "history.jsonl").read_text().splitlines()]
    assert steps[-1] == 40 and steps == sorted(set(steps))


def test_full_disk_while_caching_data_or_writing_a_report_ends_with_one_line_naming_the_file(
    small_disk: SmallDisk, many_pictures: Path, trained_runs: dict[str, Path], tmp_path: Path
) -> None:
    runs = small_disk.path / "runs"
    shutil.copytree(trained_runs["vae"], runs / "vae")
    cache = small_disk.path / "cache"
    cache.mkdir()
    small_disk.fill(leave=64 * 1024)  # room for a log, not for the cache

    folder = ["dataset=folder", f"dataset.path={many_pictures}", "dataset.image_size=32", f"dataset.cache_dir={cache}"]
    caching = small_disk.genlab(*tiny_train_args("ae", folder, steps=5), f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert caching.returncode == 2, caching.output
    assert last_line(caching).startswith(f"genlab: error: folder: cannot write the image cache {cache}/folder-train-")
    assert last_line(caching).endswith(f".u8: {small_disk.reason}")
    assert list(cache.iterdir()) == []

    small_disk.fill(leave=512)  # less than the report's text
    report = small_disk.genlab("report", str(runs), "evaluate=false", cwd=tmp_path)
    assert report.returncode == 2, report.output
    assert last_line(report) == f"genlab: error: {runs}/report.md: {small_disk.reason}"
    assert "Traceback" not in caching.output + report.output
    assert leftovers(small_disk.path) == []


# ----------------------------------------------------------------------------- stop signals


def test_ctrl_c_while_decoding_the_data_leaves_no_partial_cache_and_the_next_run_rebuilds_it(
    many_pictures: Path, tmp_path: Path
) -> None:
    cache, run = tmp_path / "cache", tmp_path / "run"
    folder = ["dataset=folder", f"dataset.path={many_pictures}", "dataset.image_size=32", f"dataset.cache_dir={cache}"]
    args = [*tiny_train_args("ae", folder, steps=5), f"hydra.run.dir={run}"]
    process = start(args, tmp_path)
    wait_for(process, lambda: any(cache.glob(".*.part")), "the cache's .part file")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGINT
    assert last_line(stderr) == INTERRUPTED.format("SIGINT")
    assert "Traceback" not in stderr
    assert list(cache.iterdir()) == []
    assert list(run.iterdir()) == []  # the run had not started: nothing of it is left

    again = run_genlab(*args, cwd=tmp_path)
    assert again.returncode == 0, again.output
    assert re.search(r"folder train: decoding \d+ pictures into the cache", again.output)
    assert (run / "checkpoints" / "ckpt-5.index").is_file()
    assert sorted(path.suffix for path in cache.iterdir()) == [".json", ".json", ".u8", ".u8"]


def test_sigterm_while_rendering_leaves_only_whole_pictures_and_the_next_render_works(
    trained_runs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "pictures"
    args = ["traverse", f"checkpoint={trained_runs['vae']}", f"out={out}", "columns=41"]  # a GIF that takes a moment
    process = start(args, tmp_path)
    wait_for(process, out.exists, "the output folder")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM
    assert last_line(stderr) == INTERRUPTED.format("SIGTERM")
    assert "Traceback" not in stderr
    assert leftovers(out) == []
    for picture in out.iterdir():  # written before the signal: whole
        with Image.open(picture) as image:
            image.load()

    again = run_genlab(*args, cwd=tmp_path)
    assert again.returncode == 0, again.output
    written = [Path(line) for line in again.stdout.splitlines()]
    assert {path.suffix for path in written} == {".png", ".gif"} and all(path.is_file() for path in written)
