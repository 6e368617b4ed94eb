"""The render commands as Hydra apps: compose and check the config, locate the run, render.

Everything up to locating the run (the config's types, ranges and required keys, the
checkpoint and output paths) is checked before TensorFlow is imported, so a wrong key or
path fails in a fraction of a second.
"""
from __future__ import annotations

from typing import Any, Callable

import hydra
from omegaconf import DictConfig

from genlab.commands.app import exit_on_user_error, hydra_command
from genlab.config.checks import validate
from genlab.config.render import register_render_schemas
from genlab.render.job import RenderJob
from genlab.render.renderers import RENDERERS, Renderer

register_render_schemas()

HINTS = {"checkpoint": ": a run directory or <run>/checkpoints/ckpt-N"}


def check_render_config(command: str, cfg: DictConfig) -> Any:
    """The typed config of ``genlab <command>``, or a ConfigError naming the key."""
    return validate(cfg, command, HINTS)


def run_render(command: str, renderer: Renderer, cfg: DictConfig) -> RenderJob:
    job = RenderJob(command, check_render_config(command, cfg))
    renderer(job)
    return job


def render_command(command: str, renderer: Renderer) -> Callable[[], None]:
    """The app of ``genlab <command>``, reading ``conf/<command>.yaml``."""

    @hydra.main(version_base="1.3", config_path="pkg://genlab.conf", config_name=command)
    def app(cfg: DictConfig) -> None:
        with exit_on_user_error():
            run_render(command, renderer, cfg)

    return hydra_command(command, app)


sample = render_command("sample", RENDERERS["sample"])
reconstruct = render_command("reconstruct", RENDERERS["reconstruct"])
progress = render_command("progress", RENDERERS["progress"])
traverse = render_command("traverse", RENDERERS["traverse"])
interpolate = render_command("interpolate", RENDERERS["interpolate"])
manifold = render_command("manifold", RENDERERS["manifold"])
latents = render_command("latents", RENDERERS["latents"])
arithmetic = render_command("arithmetic", RENDERERS["arithmetic"])
neighbours = render_command("neighbours", RENDERERS["neighbours"])
