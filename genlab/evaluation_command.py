"""What `genlab evaluate` and `genlab report` share before any model work: required keys and config checks."""
from __future__ import annotations

import sys
from typing import Any

from omegaconf import DictConfig, OmegaConf

from genlab.config import validate
from genlab.errors import ConfigError
from genlab.restore import find_checkpoint

HINTS = {
    "checkpoint": ": a run directory or <run>/checkpoints/ckpt-N",
    "dir": ": a sweep directory or any directory holding run directories",
}


def checked(cfg: DictConfig, command: str) -> Any:
    """The typed config, after naming any required key the user left out."""
    for key in cfg:
        if OmegaConf.is_missing(cfg, key):
            raise ConfigError(f"{key}= is required{HINTS.get(str(key), '')} (genlab {command} {key}=...)")
    return validate(cfg)


def run_evaluate(cfg: DictConfig) -> None:
    config = checked(cfg, "evaluate")
    find_checkpoint(config.checkpoint)  # a wrong path fails before TensorFlow is imported
    from genlab.evaluation import Evaluator, format_table, metrics_path

    evaluation = Evaluator(config).evaluate(config.checkpoint)
    print(format_table(evaluation), file=sys.stdout)
    print(f"metrics: {metrics_path(evaluation.run_dir)}", file=sys.stdout, flush=True)
