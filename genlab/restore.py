"""Rebuild a trained model from a run directory alone, for the render commands."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from genlab import run as rundir
from genlab.config import validate
from genlab.errors import GenlabError
from genlab.models import GenerativeModel
from genlab.state import build_state
from genlab.training_config import typed


@dataclass
class RestoredRun:
    run_dir: Path
    checkpoint: str
    config: Any
    info: dict
    model: GenerativeModel
    step: int


def find_checkpoint(checkpoint: str) -> tuple[Path, str]:
    """(run directory, checkpoint prefix) for a run directory or a ``<run>/checkpoints/ckpt-N`` prefix."""
    path = Path(checkpoint).expanduser().resolve()
    if path.is_dir():
        prefix = tf.train.latest_checkpoint(str(path / rundir.CHECKPOINT_DIR))
        if prefix is None:
            raise GenlabError(f"checkpoint={checkpoint}: no checkpoint in {path / rundir.CHECKPOINT_DIR}")
        return path, prefix
    if Path(f"{path}.index").is_file() and path.parent.name == rundir.CHECKPOINT_DIR:
        return path.parent.parent, str(path)
    raise GenlabError(
        f"checkpoint={checkpoint}: not a run directory nor a checkpoint prefix like <run>/checkpoints/ckpt-N"
    )


def restore_run(checkpoint: str) -> RestoredRun:
    """The run's model by genlab's own names from its saved config, with every variable restored."""
    run_dir, prefix = find_checkpoint(checkpoint)
    config = validate(typed(rundir.load_config(run_dir)))
    info = rundir.load_run_info(run_dir)
    image_shape = tuple(int(size) for size in info["image_shape"])
    state = build_state(config, image_shape, run_dir, loss_scaling=info.get("precision") == "mixed_float16")
    state.checkpoints.restore(prefix)
    return RestoredRun(run_dir, prefix, config, info, state.model, int(state.step.numpy()))
