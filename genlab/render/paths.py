"""Pictures and GIFs along paths in latent space: traversals, interpolations, attribute arithmetic."""
from __future__ import annotations

import logging

import numpy as np

from genlab.errors import GenlabError
from genlab.render.gif import there_and_back
from genlab.render.grid import tile
from genlab.render.latent import INTERPOLATIONS, attribute_vector, sweep_values, traversal
from genlab.render.job import RenderJob

log = logging.getLogger("genlab.render")

KL_EXAMPLES = 2000  # test images whose posteriors rank a VAE's dimensions by mean KL
ATTRIBUTE_EXAMPLES = 10000  # test images whose codes give the attribute vector


def number(value: float) -> str:
    """A short label for a latent value or a weight."""
    return f"{value:.3g}"


def _images(job: RenderJob, codes: np.ndarray) -> np.ndarray:
    """Decode codes of shape (..., D) into display images of shape (..., H, W, C)."""
    flat = job.run.decode(codes.reshape(-1, codes.shape[-1]))
    return flat.reshape(*codes.shape[:-1], *flat.shape[1:])


# ----------------------------------------------------------------------------- traverse


def traversal_dims(job: RenderJob, max_rows: int) -> list[int]:
    """With a posterior, the dimensions by decreasing mean KL over test images (the ones the model
    uses); else the first ones."""
    if not job.run.model.has_posterior:
        return list(range(min(job.run.latent_dim, max_rows)))
    from genlab.metrics.elbo import kl_per_dimension

    kl = kl_per_dimension(*job.run.posterior(job.run.test_images()[:KL_EXAMPLES]))
    dims = [int(dim) for dim in np.argsort(-kl, kind="stable")[:max_rows]]
    log.info("dimensions by mean KL: %s", ", ".join(f"z{dim} ({kl[dim]:.3g})" for dim in dims))
    return dims


def render_traverse(job: RenderJob) -> None:
    """One row per dimension set from -range to +range around a starting code; a GIF sweeps every row at once."""
    job.require_continuous_codes()
    config = job.config
    if config.dims is not None:
        job.check_dims("dims", config.dims)
    if job.run.model.has_encoder:
        job.check_index("index", config.index)
        base = job.run.encode(job.run.test_images([config.index]))[0]
        start = f"index{config.index}"
    else:
        log.info("a %s model has no encoder: the traversal starts from the zero vector", job.run.model.name)
        base = np.zeros(job.run.latent_dim, np.float32)
        start = "zero"
    dims = list(config.dims) if config.dims is not None else traversal_dims(job, config.max_rows)
    values = sweep_values(config.columns, config.range)
    images = _images(job, traversal(base, dims, values))  # (rows, columns, H, W, C)
    dim_labels = [f"z{dim}" for dim in dims] if config.labels else None
    value_labels = [number(value) for value in values] if config.labels else None
    grid = tile(
        images.reshape(-1, *images.shape[2:]),
        config.columns,
        config.padding,
        row_labels=dim_labels,
        column_labels=value_labels,
    )
    job.write_png(grid, f"{job.name(start)}.png")
    frames = [
        tile(
            images[:, column],
            len(dims),
            config.padding,
            column_labels=dim_labels,
            caption=number(values[column]) if config.labels else None,
        )
        for column in there_and_back(range(config.columns))
    ]
    job.write_gif(frames, f"{job.name(start)}.gif", config.fps)


# ----------------------------------------------------------------------------- interpolate


def render_interpolate(job: RenderJob) -> None:
    """From the code of test image a to that of b (a GAN: from the code of seed a to that of seed b)."""
    config = job.config
    if job.run.model.has_encoder:
        job.check_index("a", config.a)
        job.check_index("b", config.b)
        start, end = job.run.encode(job.run.test_images([config.a, config.b]))
    else:
        start, end = (np.random.default_rng(seed).standard_normal(job.run.latent_dim) for seed in (config.a, config.b))
    codes = INTERPOLATIONS[config.method](start, end, config.steps)
    images = job.run.decode(codes)
    stem = job.name(f"{config.a}-{config.b}", config.method)
    job.write_png(tile(images, config.steps, config.padding), f"{stem}.png")
    weights = np.linspace(0.0, 1.0, config.steps)
    frames = [
        tile(images[index : index + 1], 1, config.padding, caption=f"{weights[index]:.2f}")
        for index in there_and_back(range(config.steps))
    ]
    job.write_gif(frames, f"{stem}.gif", config.fps)


# ----------------------------------------------------------------------------- arithmetic


def _unknown(attribute: str, dataset: object, valid: list[str]) -> str:
    choices = ", ".join(valid) if valid else "none (the data set has no classes or attributes)"
    return f"attribute={attribute} is not a class or attribute of {dataset}; valid: {choices}"


def check_attribute_name(job: RenderJob, attribute: str) -> None:
    """Refuse an unknown attribute from what the run recorded, before any model or data is loaded."""
    known = [str(name) for name in (job.run.info.get("class_names") or []) + (job.run.info.get("attribute_names") or [])]
    if known and attribute not in known:
        raise GenlabError(_unknown(attribute, job.run.info.get("name"), known))


def attribute_flags(job: RenderJob, attribute: str) -> np.ndarray:
    """Which test images have ``attribute``: a 0/1 attribute (CelebA) or a class name (labelled sets)."""
    data = job.run.data
    attribute_names = [str(name) for name in data.attribute_names or []]
    class_names = [str(name) for name in data.class_names or []]
    if attribute in attribute_names and data.test_attributes is not None:
        return np.asarray(data.test_attributes)[:, attribute_names.index(attribute)] == 1
    if attribute in class_names and data.test_labels is not None:
        return np.asarray(data.test_labels) == class_names.index(attribute)
    raise GenlabError(_unknown(attribute, data.name, class_names + attribute_names))


def render_arithmetic(job: RenderJob) -> None:
    """code + alpha * (mean code with the attribute - mean code without) for images without it."""
    config = job.config
    attribute = str(config.attribute)
    check_attribute_name(job, attribute)
    job.require_encoder()
    has_attribute = attribute_flags(job, attribute)[:ATTRIBUTE_EXAMPLES]
    if has_attribute.all() or not has_attribute.any():
        raise GenlabError(f"attribute={attribute}: the test set needs images with and without it")
    codes = job.run.encode(job.run.test_images()[:ATTRIBUTE_EXAMPLES])
    vector = attribute_vector(codes, has_attribute)
    candidates = np.flatnonzero(~has_attribute)
    chosen = np.sort(job.rng.choice(candidates, min(config.n, len(candidates)), replace=False))
    alphas = np.asarray(config.alphas, dtype=np.float32)
    moved = codes[chosen][:, np.newaxis, :] + alphas[np.newaxis, :, np.newaxis] * vector
    images = _images(job, moved)  # (images, alphas, H, W, C)
    alpha_labels = [f"{alpha:+.3g}" for alpha in alphas]
    grid = tile(
        images.reshape(-1, *images.shape[2:]),
        len(alphas),
        config.padding,
        column_labels=alpha_labels if config.labels else None,
    )
    stem = job.name(_safe(attribute), f"seed{config.seed}")
    job.write_png(grid, f"{stem}.png")
    captions = [f"alpha {label}" if config.labels else None for label in alpha_labels]
    frames = [
        tile(images[:, column], len(chosen), config.padding, caption=caption) for column, caption in enumerate(captions)
    ]
    job.write_gif(frames, f"{stem}.gif", config.fps)


def _safe(name: str) -> str:
    """An attribute name as part of a file name (class names may hold '/' or spaces)."""
    return "".join(character if character.isalnum() or character in "-." else "_" for character in name)
