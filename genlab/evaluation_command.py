"""What `genlab evaluate` and `genlab report` share before any model work: the config's keys and
ranges, and the paths it names, all checked before TensorFlow is imported."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from genlab.commands import checked_config
from genlab.errors import GenlabError
from genlab.restore import find_checkpoint

HINTS = {
    "checkpoint": ": a run directory or <run>/checkpoints/ckpt-N",
    "dir": ": a sweep directory or any directory holding run directories",
}


def checked(cfg: DictConfig, command: str) -> Any:
    """The typed config, after naming any required or unknown key and checking every range."""
    config = checked_config(cfg, command, HINTS)
    check_inception_weights(config)
    return config


def check_inception_weights(config: Any) -> None:
    """A weights file given for InceptionV3 features must be a file (a missing one is named later)."""
    if config.inception_weights is None or config.features not in ("inception", "both"):
        return
    path = Path(config.inception_weights).expanduser()
    if path.is_dir():
        raise GenlabError(
            f"inception_weights={config.inception_weights}: {path.resolve()} is a directory, not a weights file"
        )


def check_runs_dir(config: Any) -> None:
    """`genlab report`'s dir must be an existing directory."""
    directory = Path(config.dir).expanduser().resolve()
    if not directory.exists():
        raise GenlabError(f"dir={config.dir}: no such directory ({directory})")
    if not directory.is_dir():
        raise GenlabError(f"dir={config.dir}: {directory} is a file, not a directory")


def run_evaluate(cfg: DictConfig) -> None:
    config = checked(cfg, "evaluate")
    find_checkpoint(config.checkpoint)  # a wrong path fails before TensorFlow is imported
    from genlab.evaluation import Evaluator, format_table, metrics_path

    evaluation = Evaluator(config).evaluate(config.checkpoint)
    print(format_table(evaluation), file=sys.stdout)
    print(f"metrics: {metrics_path(evaluation.run_dir)}", file=sys.stdout, flush=True)


def run_report(cfg: DictConfig) -> None:
    config = checked(cfg, "report")
    check_runs_dir(config)
    from genlab.reporting import report

    report(config)
