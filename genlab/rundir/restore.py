"""Rebuild a trained model from a run directory alone, for the render commands.

Locating a checkpoint reads only files, so a wrong path fails before TensorFlow is imported.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genlab import rundir
from genlab.config.checks import validate
from genlab.errors import GenlabError
from genlab.rundir.saved_config import typed

log = logging.getLogger("genlab.rundir.restore")

if TYPE_CHECKING:
    from genlab.models import GenerativeModel

_CHECKPOINT_FILE_SUFFIX = re.compile(r"\.(index|data-\d+-of-\d+)$")


@dataclass
class RestoredRun:
    run_dir: Path
    checkpoint: str
    config: Any
    info: dict
    model: "GenerativeModel"
    step: int
    averaged: bool = False  # the model's sampling networks hold their weights' moving average


def _available(directory: Path) -> str:
    names = [Path(prefix).name for prefix in rundir.list_checkpoints(directory)]
    return f"checkpoints in {directory}: {', '.join(names)}" if names else f"{directory} holds no checkpoint"


def find_checkpoint(checkpoint: str) -> tuple[Path, str]:
    """(run directory, checkpoint prefix) for a run directory or a ``<run>/checkpoints/ckpt-N`` prefix."""
    path = Path(checkpoint).expanduser().resolve()
    if path.is_dir():
        if path.name == rundir.CHECKPOINT_DIR and (path.parent / rundir.CONFIG_FILE).is_file():
            path = path.parent  # <run>/checkpoints means the run's latest checkpoint
        if not (path / rundir.CONFIG_FILE).is_file():
            raise GenlabError(
                f"checkpoint={checkpoint}: {path} is not a genlab run directory (no {rundir.CONFIG_FILE})"
            )
        prefix = rundir.latest_checkpoint(path / rundir.CHECKPOINT_DIR)
        if prefix is None:
            raise GenlabError(
                f"checkpoint={checkpoint}: the run has no checkpoint yet (nothing in {path / rundir.CHECKPOINT_DIR})"
            )
        return path, prefix
    if path.parent.name == rundir.CHECKPOINT_DIR and (path.parent.parent / rundir.CONFIG_FILE).is_file():
        path = path.with_name(_CHECKPOINT_FILE_SUFFIX.sub("", path.name))  # ckpt-N.index names ckpt-N
        if Path(f"{path}.index").is_file():
            return path.parent.parent, str(path)
        raise GenlabError(f"checkpoint={checkpoint}: no checkpoint {path.name}; {_available(path.parent)}")
    if not path.exists():
        raise GenlabError(f"checkpoint={checkpoint}: no such file or directory ({path})")
    raise GenlabError(
        f"checkpoint={checkpoint}: not a run directory nor a checkpoint prefix like <run>/checkpoints/ckpt-N"
    )


def load_run_config(run_dir: Path) -> Any:
    """The run's saved config as genlab's typed config object.

    A cache folder the config names is used only if it exists: a run received from
    someone else must not make genlab create folders where its sender chose.
    """
    config = validate(typed(rundir.load_config(run_dir)))
    cache_dir = config.dataset.cache_dir
    if cache_dir and not Path(cache_dir).expanduser().is_dir():
        log.info("dataset.cache_dir %s of the run does not exist here; caching in the default place", cache_dir)
        config.dataset.cache_dir = None
    return config


def run_condition_names(config: Any, info: dict) -> list[str]:
    """What the entries of a conditional run's condition vector stand for, from its run_info.json."""
    from genlab.config.schema import condition_of
    from genlab.data.conditions import condition_names

    condition = condition_of(config.model)
    if condition is None or not condition.enabled:
        return []
    return condition_names(condition, info.get("name", "?"), info.get("class_names"), info.get("attribute_names"))


def restore_run(checkpoint: str, average_weights: bool = True) -> RestoredRun:
    """The run's model by genlab's own names from its saved config, with every variable restored.

    A run trained with a weight average (trainer.ema_decay) samples with the averaged weights
    unless ``average_weights`` is false.
    """
    from genlab.rundir.state import build_state  # TensorFlow, only once the path is known to be good

    run_dir, prefix = find_checkpoint(checkpoint)
    config = load_run_config(run_dir)
    info = rundir.load_run_info(run_dir)
    image_shape = tuple(int(size) for size in info["image_shape"])
    # A render reads the run and never writes into it (not even to mend a damaged checkpoint state file).
    loss_scaling = info.get("precision") == "mixed_float16"
    state = build_state(
        config, image_shape, run_dir, loss_scaling, owns_run_dir=False, condition_names=run_condition_names(config, info)
    )
    try:
        if Path(checkpoint).expanduser().is_dir():  # "the run's latest": fall back past damaged ones
            prefix = state.checkpoints.restore_latest() or prefix
        else:
            state.checkpoints.restore(prefix)
    except GenlabError as error:
        raise GenlabError(
            f"{error} (the checkpoint does not match the model described by {run_dir / rundir.CONFIG_FILE})"
        ) from None
    averaged = state.average is not None and average_weights
    if averaged:
        state.average.copy_into_networks()
    return RestoredRun(run_dir, prefix, config, info, state.model, int(state.step.numpy()), averaged)
