"""`genlab evaluate checkpoint=RUN` (a run's numbers on its test split: metrics.json, TensorBoard,
a table) and `genlab report DIR` (a table and a contact sheet comparing the runs under DIR).

Both check the config's keys and ranges, and the paths it names, before TensorFlow is imported.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from genlab.commands.app import exit_on_user_error, hydra_command
from genlab.config.checks import validate
from genlab.config.evaluate import register_evaluation_schemas
from genlab.config.store import register_schemas
from genlab.errors import GenlabError
from genlab import rundir
from genlab.rundir.outputs import check_output_path
from genlab.rundir.restore import find_checkpoint

register_schemas()  # the dataset group's schema, for `evaluate samples=... dataset=NAME`
register_evaluation_schemas()

HINTS = {
    "checkpoint": ": a run directory or <run>/checkpoints/ckpt-N",
    "dir": ": a sweep directory or any directory holding run directories",
}


def checked(cfg: DictConfig, command: str) -> Any:
    """The typed config, after naming any required or unknown key and checking every range."""
    config = validate(cfg, command, HINTS)
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
    if config.samples is not None:
        run_evaluate_samples(config)
        return
    run_dir, _ = find_checkpoint(config.checkpoint)  # a wrong path fails before TensorFlow is imported
    from genlab.evaluate.evaluator import Evaluator, format_table, metrics_path

    for written in (metrics_path(run_dir), run_dir / rundir.TENSORBOARD_DIR):  # a link in the run could lead anywhere
        check_output_path("checkpoint", config.checkpoint, written)
    if config.save_samples is not None:
        from genlab.evaluate.external_samples import require_new_folder

        require_new_folder("save_samples", config.save_samples)

    evaluation = Evaluator(config).evaluate(config.checkpoint, save_samples=config.save_samples)
    print(format_table(evaluation), file=sys.stdout)
    print(f"metrics: {metrics_path(evaluation.run_dir)}", file=sys.stdout, flush=True)


def run_evaluate_samples(config: Any) -> None:
    """`genlab evaluate samples=PATH dataset=NAME`: images made elsewhere, scored as a run's samples are."""
    from genlab.evaluate.external_samples import count_images, metrics_file, samples_source

    source = samples_source(config.samples)  # a wrong path fails before TensorFlow is imported
    check_output_path("samples", config.samples, metrics_file(source))  # the scores go beside the images
    if config.dataset.cache_dir:
        check_output_path("dataset.cache_dir", config.dataset.cache_dir)
    count_images(source)  # a file that is not an image array fails before TensorFlow too
    from genlab.evaluate.evaluator import Evaluator, format_table

    evaluation = Evaluator(config).evaluate_samples(config.samples, config.dataset)
    print(format_table(evaluation), file=sys.stdout)
    print(f"metrics: {metrics_file(source)}", file=sys.stdout, flush=True)


def run_report(cfg: DictConfig) -> None:
    config = checked(cfg, "report")
    check_runs_dir(config)
    check_output_path("dir", config.dir)  # report.md, report.csv, ... go into it
    from genlab.evaluate.report import report

    report(config)


@hydra.main(version_base="1.3", config_path="pkg://genlab.conf", config_name="evaluate")
def _evaluate_app(cfg: DictConfig) -> None:
    with exit_on_user_error():
        run_evaluate(cfg)


@hydra.main(version_base="1.3", config_path="pkg://genlab.conf", config_name="report")
def _report_app(cfg: DictConfig) -> None:
    with exit_on_user_error():
        run_report(cfg)


evaluate = hydra_command("evaluate", _evaluate_app)
report = hydra_command("report", _report_app)
