"""Still pictures of a restored run: samples, reconstructions, the 2-D manifold."""
from __future__ import annotations

import logging

import numpy as np

from genlab.render.conditions import rows_of_samples
from genlab.render.grid import paired_rows, tile
from genlab.render.latent import manifold
from genlab.render.job import RenderJob, safe_name

log = logging.getLogger("genlab.render")


def render_sample(job: RenderJob) -> None:
    """``n`` samples, drawn with the run's model's sampling keys; a conditional model's in one row per
    condition, the same noise in every row."""
    config = job.config
    options = job.sampling_options()
    rows = job.condition_rows()
    if rows is None:
        images = job.run.sample_images(job.rng, config.n, None, options, config.fit_examples)
        job.write_png(tile(images, config.columns, config.padding), f"{job.name(f'seed{config.seed}')}.png")
        return
    columns = config.columns or max(1, config.n // len(rows.labels))
    draw = lambda rng, conditions: job.run.sample_images(rng, columns, conditions, options, config.fit_examples)  # noqa: E731
    images = rows_of_samples(draw, rows, columns, job.rng)
    log.info("one row per condition: %s", ", ".join(rows.labels))
    grid = tile(images, columns, config.padding, row_labels=rows.labels)
    job.write_png(grid, f"{job.name(f'seed{config.seed}')}.png")


def render_reconstruct(job: RenderJob) -> None:
    """Random test images (by seed) and their reconstructions, in alternating rows."""
    config = job.config
    job.require_encoder()
    test_images = job.run.test_images()
    count = min(config.n, len(test_images))
    if count < config.n:
        log.info("the test set has %d images: showing all of them", count)
    indices = np.sort(job.rng.choice(len(test_images), count, replace=False))
    images = test_images[indices]
    originals = job.run.display(images)
    rebuilt = job.run.reconstruct(images, job.run.conditions("test", indices))
    job.write_png(
        tile(paired_rows(originals, rebuilt, config.columns), config.columns, config.padding),
        f"{job.name(f'seed{config.seed}')}.png",
    )


def render_manifold(job: RenderJob) -> None:
    """Two dimensions at standard-normal quantiles (dims[0] left to right, dims[1] bottom to top)."""
    job.require_continuous_codes()
    config = job.config
    job.check_dims("dims", config.dims)
    codes = manifold(job.run.latent_dim, tuple(config.dims), config.n)
    condition, label = job.fixed_condition()
    images = job.run.decode(codes, None if condition is None else np.repeat(condition, len(codes), axis=0))
    first, second = config.dims
    stem = job.name(f"dims{first}-{second}", None if label is None else safe_name(label))
    job.write_png(tile(images, config.n, config.padding), f"{stem}.png")
