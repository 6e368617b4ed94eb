"""A render command as a Hydra app: compose and check the config, locate the run, render."""
from __future__ import annotations

from typing import Callable

import hydra
from omegaconf import DictConfig, OmegaConf

from genlab.commands import exit_on_user_error
from genlab.config import validate
from genlab.errors import ConfigError
from genlab.render_config import register_render_schemas
from genlab.render_job import RenderJob

Renderer = Callable[[RenderJob], None]

register_render_schemas()


def run_render(command: str, renderer: Renderer, cfg: DictConfig) -> RenderJob:
    for key in cfg:
        if OmegaConf.is_missing(cfg, key):
            hint = ": a run directory or <run>/checkpoints/ckpt-N" if key == "checkpoint" else ""
            raise ConfigError(f"{key}= is required{hint} (genlab {command} {key}=...)")
    job = RenderJob(command, validate(cfg))
    renderer(job)
    return job


def render_app(command: str, renderer: Renderer) -> Callable[[], None]:
    """The ``main`` of ``genlab <command>``, reading ``conf/<command>.yaml``."""

    @hydra.main(version_base="1.3", config_path="pkg://genlab.conf", config_name=command)
    def main(cfg: DictConfig) -> None:
        with exit_on_user_error():
            run_render(command, renderer, cfg)

    return main
