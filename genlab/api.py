"""genlab from Python (a notebook): the objects and code paths the commands use.

    import genlab
    run = genlab.train(["model=vae", "trainer.steps=500"])    # as `genlab train model=vae ...`
    run = genlab.load_run("outputs/vae-fashion_mnist/2026-11-21_10-00-00")
    images = run.sample(16)                                     # (16, H, W, C) float32 in [0, 1]
    codes = run.encode(run.test_images(range(8)))
    pictures = genlab.render_run(run, "traverse", dims=[0, 1])  # as `genlab traverse ...`: {file: array}

Errors are GenlabError (ConfigError for a bad key or value, DataError for data) with the message the CLI prints.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from genlab.errors import ConfigError, GenlabError
from genlab.rundir.saved_run import BATCH_SIZE, PRECISE_BN_IMAGES, SavedRun


def load_run(
    path: str | Path,
    batch_size: int = BATCH_SIZE,
    precise_bn: bool = True,
    precise_bn_images: int = PRECISE_BN_IMAGES,
    average_weights: bool = True,
) -> SavedRun:
    """A run directory, or one checkpoint ``<run>/checkpoints/ckpt-N``, with its model restored.

    As in the commands, batch norm's statistics are recomputed from ``precise_bn_images`` training
    images (in memory only; ``run.batch_norm`` says what was done) unless ``precise_bn=False``, and a run
    trained with a weight average (trainer.ema_decay) draws with it unless ``average_weights=False``.
    """
    run = SavedRun(path, batch_size, precise_bn=precise_bn, precise_bn_images=precise_bn_images, average_weights=average_weights)
    run.model  # restored now: a checkpoint that does not match its config fails here, not later
    return run


def train(overrides: Sequence[str] = ()) -> SavedRun:
    """Train as ``genlab train OVERRIDES`` does, in this process; the trained (or resumed) run.

    A sweep (``-m``) is the command line's job; so is the exit code: a refused config or a
    failed run raises the error the CLI reports (ConfigError, DataError, GenlabError), its
    message the line the CLI prints after ``genlab: error:``.
    """
    from genlab import cli
    from genlab.commands import train as train_command
    from genlab.commands.app import CommandFailed

    overrides = [str(override) for override in overrides]
    if any(override in ("-m", "--multirun") for override in overrides):
        raise ConfigError("genlab.train() runs one job; run sweeps (-m) with the genlab command")
    done = len(train_command.finished_runs)
    argv = sys.argv
    try:
        code = cli.dispatch(["train", *overrides])
    except CommandFailed as stop:
        raise stop.error from None
    except SystemExit as stop:
        code = stop.code
    finally:
        sys.argv = argv  # Hydra reads its overrides from sys.argv
    if code not in (0, None) or len(train_command.finished_runs) == done:
        raise GenlabError(f"genlab train {' '.join(overrides)} failed (exit code {code})")
    return load_run(train_command.finished_runs[-1])


def render_run(run: SavedRun | str | Path, command: str, **keys: Any) -> dict[Path, np.ndarray]:
    """Render as ``genlab COMMAND checkpoint=RUN key=value ...`` does; every file written, read back.

    ``keys`` are the command's keys (``genlab COMMAND --help``), e.g. ``n=16``, ``dims=[0, 1]``,
    ``out="pictures"``. A PNG comes back as an (H, W, C) array, a GIF as its frames (T, H, W, C),
    float32 in [0, 1].
    """
    from genlab.render.job import RenderJob
    from genlab.render.renderers import RENDERERS

    if command not in RENDERERS:
        raise ConfigError(f"no render command {command!r}; choose one of {', '.join(RENDERERS)}")
    given = {"checkpoint": str(run)}
    if isinstance(run, SavedRun):  # the run's batch-norm statistics, unless the keys ask for others
        given = {
            "checkpoint": run.path,
            "precise_bn": run.precise_bn,
            "precise_bn_images": run.precise_bn_images,
            "average_weights": run.average_weights,
        }
    job = RenderJob(command, render_config(command, {**given, **keys}))
    if isinstance(run, SavedRun) and _same_statistics(run, job.run):
        job.run = run  # the model is restored and the data loaded already
    RENDERERS[command](job)
    return {written: read_picture(written) for written in job.written}


def _same_statistics(run: SavedRun, other: SavedRun) -> bool:
    def settings(saved: SavedRun) -> tuple:
        return saved.path, saved.precise_bn, saved.precise_bn_images, saved.average_weights

    return settings(run) == settings(other)


def train_config(overrides: Sequence[str] = ()) -> Any:
    """The typed, checked config ``genlab train OVERRIDES`` would run (ConfigError if it refuses them)."""
    from hydra import compose, initialize_config_module

    from genlab.config.checks import validate
    from genlab.config.store import register_schemas
    from genlab.rundir.layout import register_resolvers

    register_schemas()
    register_resolvers()
    with initialize_config_module(config_module="genlab.conf", version_base="1.3"):
        return validate(compose(config_name="train", overrides=[str(override) for override in overrides]), "train")


def render_config(command: str, keys: dict[str, Any]) -> Any:
    """The typed config of ``genlab COMMAND``, composed from its YAML like the CLI's, with ``keys`` set."""
    from hydra import compose, initialize_config_module
    from omegaconf.errors import OmegaConfBaseException

    from genlab.config.checks import unknown_key_message, validate
    from genlab.config.render import register_render_schemas

    register_render_schemas()
    with initialize_config_module(config_module="genlab.conf", version_base="1.3"):
        cfg = compose(config_name=command)
    for key, value in keys.items():
        if key not in cfg.keys():  # (`in` says no for a key still ??? )
            raise ConfigError(unknown_key_message(key, command, [str(name) for name in cfg.keys()]))
        try:
            cfg[key] = list(value) if isinstance(value, (tuple, range)) else value
        except OmegaConfBaseException as error:
            raise ConfigError(f"{key}: {str(error).splitlines()[0]}") from None
    return validate(cfg, command)


def read_picture(path: Path) -> np.ndarray:
    """A written PNG (H, W, C) or GIF (T, H, W, C) as float32 in [0, 1]."""
    from PIL import Image, ImageSequence

    with Image.open(path) as picture:
        frames = [np.asarray(frame.convert("RGB" if picture.mode not in ("L", "LA") else "L")) for frame in ImageSequence.Iterator(picture)]
    stacked = np.stack([frame if frame.ndim == 3 else frame[..., None] for frame in frames]).astype(np.float32) / 255.0
    return stacked if path.suffix.lower() == ".gif" else stacked[0]
