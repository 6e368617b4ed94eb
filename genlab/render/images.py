"""Still pictures of a restored run: samples, reconstructions, the 2-D manifold."""
from __future__ import annotations

import logging

import numpy as np

from genlab.render.grid import tile
from genlab.render.latent import manifold
from genlab.render.job import RenderJob

log = logging.getLogger("genlab.render")


def render_sample(job: RenderJob) -> None:
    config = job.config
    images = job.run.decode(job.run.sample_codes(job.rng, config.n, config.temperature, config.fit_examples))
    job.write_png(tile(images, config.columns, config.padding), f"{job.name(f'seed{config.seed}')}.png")


def render_reconstruct(job: RenderJob) -> None:
    """Random test images (by seed) and their reconstructions, in alternating rows."""
    config = job.config
    job.require_encoder()
    test_images = job.run.test_images()
    count = min(config.n, len(test_images))
    if count < config.n:
        log.info("the test set has %d images: showing all of them", count)
    images = test_images[np.sort(job.rng.choice(len(test_images), count, replace=False))]
    originals = job.run.display(images)
    rebuilt = job.run.decode(job.run.encode(images))
    job.write_png(
        tile(paired_rows(originals, rebuilt, config.columns), config.columns, config.padding),
        f"{job.name(f'seed{config.seed}')}.png",
    )


def paired_rows(first: np.ndarray, second: np.ndarray, columns: int) -> np.ndarray:
    """Rows of ``first`` each followed by the matching row of ``second``; a short last row is
    filled with blank (white) images so the pairs stay aligned."""
    rows = []
    for start in range(0, len(first), columns):
        for images in (first[start : start + columns], second[start : start + columns]):
            blank = np.ones((columns - len(images), *images.shape[1:]), images.dtype)
            rows.append(np.concatenate([images, blank]))
    return np.concatenate(rows)


def render_manifold(job: RenderJob) -> None:
    """Two dimensions at standard-normal quantiles (dims[0] left to right, dims[1] bottom to top)."""
    job.require_continuous_codes()
    config = job.config
    job.check_dims("dims", config.dims)
    codes = manifold(job.run.latent_dim, tuple(config.dims), config.n)
    images = job.run.decode(codes)
    first, second = config.dims
    job.write_png(tile(images, config.n, config.padding), f"{job.name(f'dims{first}-{second}')}.png")
