"""Plots of where a run's encoder puts the test images (matplotlib, loaded only by this command)."""
from __future__ import annotations

import numpy as np

from genlab.render.plots import code_histograms, scatter_codes
from genlab.render.job import RenderJob


def render_latents(job: RenderJob) -> None:
    """A scatter of test codes on two dimensions, coloured by class, and per-dimension histograms."""
    job.require_continuous_codes()
    config = job.config
    job.check_dims("dims", config.dims)
    job.require_encoder()
    test_images = job.run.test_images()
    count = min(config.n, len(test_images))
    indices = np.sort(job.rng.choice(len(test_images), count, replace=False))
    codes = job.run.encode(test_images[indices], job.run.conditions("test", indices))
    labels = job.run.data.test_labels[indices] if job.run.data.test_labels is not None else None
    kind = "posterior means" if job.run.model.has_posterior else "codes"
    title = f"{job.run.model.name} step {job.run.step}: {kind} of {count} test images"
    dims = (config.dims[0], config.dims[1])
    scatter = scatter_codes(codes, dims, labels, job.run.data.class_names, title)
    job.write_figure(scatter, f"{job.name('scatter', f'seed{config.seed}')}.png")
    job.write_figure(code_histograms(codes, title), f"{job.name('histograms', f'seed{config.seed}')}.png")
