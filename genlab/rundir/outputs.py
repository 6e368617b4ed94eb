"""Where genlab may write: the one rule every command's output path is checked against.

A run's ``checkpoints/`` holds TensorFlow's files and the state file naming the latest one;
a picture or a table written among them could be taken for a checkpoint, or be deleted with
old ones. The path is resolved first (``~``, symbolic links, ``..``), so
``RUN/renders/../checkpoints/x`` or a link into a run's checkpoints is caught too. Only
files are read here: the check runs before TensorFlow is imported.
"""
from __future__ import annotations

import os
from pathlib import Path

from genlab.errors import ConfigError
from genlab.rundir.layout import CHECKPOINT_DIR, CHECKPOINT_STATE_FILE, CONFIG_FILE


def run_checkpoints_holding(path: str | os.PathLike) -> Path | None:
    """The run's ``checkpoints/`` directory that ``path`` (resolved) is or lies in, else None."""
    resolved = Path(path).expanduser().resolve()
    for candidate in (resolved, *resolved.parents):
        if candidate.name == CHECKPOINT_DIR and _is_run_checkpoints(candidate):
            return candidate
    return None


def _is_run_checkpoints(folder: Path) -> bool:
    # A run's (beside its saved config), or any folder TensorFlow's CheckpointManager writes to.
    return (folder.parent / CONFIG_FILE).is_file() or (folder / CHECKPOINT_STATE_FILE).is_file() or (
        folder.is_dir() and any(folder.glob("*.index"))
    )


def check_output_path(key: str, value: str | os.PathLike, target: str | os.PathLike | None = None) -> Path:
    """``target`` (by default ``value``, what ``key=value`` names) resolved, or a one-line error naming
    ``key`` when it lies in a run's checkpoints/ directory."""
    path = Path(value if target is None else target).expanduser().resolve()
    checkpoints = run_checkpoints_holding(path)
    if checkpoints is not None:
        what = "" if target is None else f" writes {path}, which is"
        raise ConfigError(
            f"{key}={value}:{what or f' {path} is'} inside a run's {CHECKPOINT_DIR}/ directory ({checkpoints}); "
            "genlab never writes there: choose another place"
        )
    return path
