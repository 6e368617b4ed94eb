"""Damaged checkpoints: training and rendering fall back to the newest checkpoint that restores."""
from __future__ import annotations

import json

import logging
import shutil
from pathlib import Path

import pytest

from conftest import run_genlab

pytestmark = pytest.mark.slow


def _data_file(checkpoints: Path, number: int) -> Path:
    return next(checkpoints.glob(f"ckpt-{number}.data-*"))


def truncate_data(checkpoints: Path) -> str:
    data = _data_file(checkpoints, 20)
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    return "ckpt-20"


def remove_data(checkpoints: Path) -> str:
    _data_file(checkpoints, 20).unlink()
    return "ckpt-20"


def flip_byte(checkpoints: Path) -> str:
    data = _data_file(checkpoints, 20)
    content = bytearray(data.read_bytes())
    content[len(content) // 3] ^= 0xFF
    data.write_bytes(bytes(content))
    return "ckpt-20"


def garbage_state(checkpoints: Path) -> str:
    (checkpoints / "checkpoint").write_text("this is {not a checkpoint state\n")
    return "checkpoint"


def empty_state(checkpoints: Path) -> str:
    (checkpoints / "checkpoint").write_text("")
    return "checkpoint"


DATA_DAMAGE = [truncate_data, remove_data, flip_byte]
STATE_DAMAGE = [garbage_state, empty_state]


@pytest.fixture
def run_copy(trained_runs: dict[str, Path], tmp_path: Path) -> Path:
    """A copy of the tiny trained VAE (checkpoints at steps 10 and 20) that a test may damage."""
    copy = tmp_path / "run"
    shutil.copytree(trained_runs["vae"], copy)
    return copy


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in folder.iterdir() if path.is_file()}


@pytest.mark.parametrize("damage", DATA_DAMAGE + STATE_DAMAGE, ids=lambda damage: damage.__name__)
def test_a_run_restores_from_the_newest_checkpoint_that_restores_and_is_not_written(
    damage, run_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What training's resume and every render do (genlab.rundir.checkpoints), here as a render does it: in place."""
    from genlab.rundir.restore import restore_run

    damaged = damage(run_copy / "checkpoints")
    before = snapshot(run_copy / "checkpoints")
    with caplog.at_level(logging.WARNING, logger="genlab"):
        restored = restore_run(str(run_copy))
    assert restored.step == (10 if damage in DATA_DAMAGE else 20)
    if damage in DATA_DAMAGE:
        assert damaged in caplog.text  # the warning names the damaged checkpoint
    assert snapshot(run_copy / "checkpoints") == before  # a render reads the run, even a damaged one


def test_training_resumes_past_a_damaged_checkpoint(run_copy: Path, tmp_path: Path) -> None:
    """Also past a history line the kill cut short: it is dropped with the lines after the restored step."""
    truncate_data(run_copy / "checkpoints")
    with open(run_copy / "history.jsonl", "a") as history:
        history.write('{"step": 25, "loss": 1.')  # cut short
    result = run_genlab("train", f"resume={run_copy}", "trainer.steps=30", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "ckpt-20" in result.output  # the warning names the damaged file
    assert "at step 10 of 30" in result.output
    assert (run_copy / "checkpoints" / "ckpt-30.index").exists()
    assert "Traceback" not in result.output
    steps = [json.loads(line)["step"] for line in (run_copy / "history.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 30  # each line whole, each step once, in order


def test_render_falls_back_past_a_damaged_checkpoint(run_copy: Path, tmp_path: Path) -> None:
    truncate_data(run_copy / "checkpoints")
    result = run_genlab("sample", f"checkpoint={run_copy}", "n=4", f"out={tmp_path / 'out'}", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "ckpt-20" in result.output and "step 10" in result.output
    explicit = run_genlab("sample", f"checkpoint={run_copy}/checkpoints/ckpt-20", "n=4", cwd=tmp_path)
    assert explicit.returncode != 0 and "ckpt-20" in explicit.output and "Traceback" not in explicit.output


def test_no_restorable_checkpoint_stops_naming_them_and_overwrites_nothing(run_copy: Path, tmp_path: Path) -> None:
    checkpoints = run_copy / "checkpoints"
    for index in checkpoints.glob("*.index"):
        index.write_bytes(b"")
    before = sorted(path.name for path in checkpoints.iterdir())
    result = run_genlab("train", f"resume={run_copy}", "trainer.steps=30", cwd=tmp_path)
    assert result.returncode != 0
    assert "ckpt-20" in result.output and "ckpt-10" in result.output and "Traceback" not in result.output
    assert sorted(path.name for path in checkpoints.iterdir()) == before


def test_leftover_temporary_save_folders_are_removed(run_copy: Path, tmp_path: Path) -> None:
    leftover = run_copy / "checkpoints" / "ckpt-30_temp"
    leftover.mkdir()
    (leftover / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"half")
    result = run_genlab("train", f"resume={run_copy}", "trainer.steps=30", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert not leftover.exists()
