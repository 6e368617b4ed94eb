"""A render command as a Hydra app: compose and check the config, locate the run, render.

Everything up to locating the run (the config's types, ranges and required keys, the
checkpoint and output paths) is checked before TensorFlow is imported, so a wrong key or
path fails in a fraction of a second.
"""
from __future__ import annotations

from typing import Any, Callable

import hydra
from omegaconf import DictConfig

from genlab.commands import checked_config, exit_on_user_error, hydra_command
from genlab.render_config import register_render_schemas
from genlab.render_job import RenderJob

Renderer = Callable[[RenderJob], None]

register_render_schemas()

HINTS = {"checkpoint": ": a run directory or <run>/checkpoints/ckpt-N"}


def check_render_config(command: str, cfg: DictConfig) -> Any:
    """The typed config of ``genlab <command>``, or a ConfigError naming the key."""
    return checked_config(cfg, command, HINTS)


def run_render(command: str, renderer: Renderer, cfg: DictConfig) -> RenderJob:
    job = RenderJob(command, check_render_config(command, cfg))
    renderer(job)
    return job


def render_app(command: str, renderer: Renderer) -> Callable[[], None]:
    """The ``main`` of ``genlab <command>``, reading ``conf/<command>.yaml``."""

    @hydra.main(version_base="1.3", config_path="pkg://genlab.conf", config_name=command)
    def app(cfg: DictConfig) -> None:
        with exit_on_user_error():
            run_render(command, renderer, cfg)

    return hydra_command(command, app)
