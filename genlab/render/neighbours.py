"""`genlab neighbours`: each sample beside its nearest training images, to see whether a model copies.

Each row is one sample, then its ``k`` nearest training images in the domain classifier's features
(the space FD and precision/recall are measured in), then its ``k`` nearest in pixels. A sample
that equals one of its neighbours is a copy; neighbours that only share the kind of thing the
sample shows are what a model that generalises gives. The training images are read a chunk at a
time, so a large set is searched without holding it in memory.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterator

import numpy as np

from genlab.errors import GenlabError
from genlab.render.grid import tile
from genlab.render.job import RenderJob

log = logging.getLogger("genlab.render")

CHUNK = 2048  # training images read and compared at once


def _chunks(images: Any, indices: np.ndarray, transform: Callable[[np.ndarray], np.ndarray]) -> Iterator[np.ndarray]:
    for start in range(0, len(indices), CHUNK):
        yield transform(np.asarray(images[indices[start : start + CHUNK]], np.float32) / 255.0)


def render_neighbours(job: RenderJob) -> None:
    from genlab.metrics.manifold import k_nearest

    config, run = job.config, job.run
    train_images = run.data.train_images
    total = len(train_images)
    if total < config.k:
        raise GenlabError(f"k={config.k}: the training split has only {total} images")
    searched = total if config.train_n is None else min(config.train_n, total)
    indices = np.arange(total) if searched == total else np.sort(job.rng.choice(total, searched, replace=False))
    samples = run.sample_images(job.rng, config.n, run.sample_conditions(job.rng, config.n), job.sampling_options())

    spaces: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = []
    if config.features in ("domain", "both"):
        classifier = _domain_classifier(run)
        if classifier is None:
            log.warning("domain features: %s has no labels to train a classifier on; pixel neighbours only", run.data.name)
        else:
            spaces.append(("domain features", classifier.features))
    if config.features in ("pixels", "both") or not spaces:
        spaces.append(("pixels", lambda images: images.reshape(len(images), -1)))

    rows = [samples[:, None]]
    for space, transform in spaces:
        log.info("nearest of %d training images in %s", searched, space)
        found, distances = k_nearest(transform(samples), _chunks(train_images, indices, transform), config.k)
        rows.append(np.asarray(train_images[indices[found.ravel()]], np.float32).reshape(*found.shape, *samples.shape[1:]) / 255.0)
        log.info("%s: mean distance of a sample to its nearest training image %.4g", space, float(distances[:, 0].mean()))
    grid = np.concatenate(rows, axis=1).reshape(-1, *samples.shape[1:])
    described = " then ".join(f"{config.k} nearest in {space}" for space, _ in spaces)
    caption = f"each row: a sample, {described} (of {searched} training images)"
    job.write_png(tile(grid, 1 + config.k * len(spaces), config.padding, caption=caption), f"{job.name(f'seed{config.seed}')}.png")


def _domain_classifier(run: Any) -> Any:
    from genlab.metrics.features import domain_classifier

    return domain_classifier(run.data, run.config.dataset, run.batch_size)
