"""Each render command's work on a RenderJob, by command name (the CLI's apps and genlab.render)."""
from __future__ import annotations

from typing import Callable

from genlab.render.codes import render_latents
from genlab.render.images import render_manifold, render_reconstruct, render_sample
from genlab.render.job import RenderJob
from genlab.render.neighbours import render_neighbours
from genlab.render.paths import render_arithmetic, render_interpolate, render_traverse
from genlab.render.progress import render_progress

Renderer = Callable[[RenderJob], None]

RENDERERS: dict[str, Renderer] = {
    "sample": render_sample,
    "reconstruct": render_reconstruct,
    "progress": render_progress,
    "traverse": render_traverse,
    "interpolate": render_interpolate,
    "manifold": render_manifold,
    "latents": render_latents,
    "arithmetic": render_arithmetic,
    "neighbours": render_neighbours,
}
