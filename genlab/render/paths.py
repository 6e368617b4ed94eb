"""Pictures and GIFs along paths in latent space: traversals, interpolations, attribute arithmetic."""
from __future__ import annotations

import logging

import numpy as np

from genlab.errors import GenlabError
from genlab.render.gif import there_and_back
from genlab.render.grid import tile
from genlab.render.latent import INTERPOLATIONS, attribute_vector, sweep_values, traversal
from genlab.render.job import RenderJob, safe_name

log = logging.getLogger("genlab.render")

KL_EXAMPLES = 2000  # test images whose posteriors rank a VAE's dimensions by mean KL
ATTRIBUTE_EXAMPLES = 10000  # test images whose codes give the attribute vector


def number(value: float) -> str:
    """A short label for a latent value or a weight."""
    return f"{value:.3g}"


def _images(job: RenderJob, codes: np.ndarray, conditions: np.ndarray | None = None) -> np.ndarray:
    """Decode codes of shape (..., D) into display images of shape (..., H, W, C); ``conditions`` is one
    condition (1, C) for every code, or one per code (..., C)."""
    flat_codes = codes.reshape(-1, codes.shape[-1])
    if conditions is not None:
        conditions = np.asarray(conditions, np.float32).reshape(-1, conditions.shape[-1])
        if len(conditions) == 1:
            conditions = np.repeat(conditions, len(flat_codes), axis=0)
    flat = job.run.decode(flat_codes, conditions)
    return flat.reshape(*codes.shape[:-1], *flat.shape[1:])


# ----------------------------------------------------------------------------- traverse


def traversal_dims(job: RenderJob, max_rows: int) -> list[int]:
    """With a posterior, the dimensions by decreasing mean KL over test images (the ones the model
    uses); else the first ones."""
    if not job.run.model.has_posterior:
        return list(range(min(job.run.latent_dim, max_rows)))
    from genlab.metrics.elbo import kl_per_dimension

    images = job.run.test_images()[:KL_EXAMPLES]
    kl = kl_per_dimension(*job.run.posterior(images, job.run.conditions("test", np.arange(len(images)))))
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
        own = job.run.conditions("test", [config.index])
        condition, label = job.fixed_condition(None if own is None else own[0])
        base = job.run.encode(job.run.test_images([config.index]), own)[0]
        start = f"index{config.index}"
    else:
        log.info("a %s model has no encoder: the traversal starts from the zero vector", job.run.model.name)
        condition, label = job.fixed_condition()
        base = np.zeros(job.run.latent_dim, np.float32)
        start = "zero"
    if label is not None:
        start += f"_{safe_name(label)}"
    dims = list(config.dims) if config.dims is not None else traversal_dims(job, config.max_rows)
    values = sweep_values(config.columns, config.range)
    images = _images(job, traversal(base, dims, values), condition)  # (rows, columns, H, W, C)
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
    """From the code of test image a to that of b (a GAN: from the code of seed a to that of seed b).

    A conditional model decodes the whole path under one condition: the chosen one, else image a's.
    """
    config = job.config
    if job.run.model.has_encoder:
        job.check_index("a", config.a)
        job.check_index("b", config.b)
        own = job.run.conditions("test", [config.a, config.b])
        start, end = job.run.encode(job.run.test_images([config.a, config.b]), own)
        condition, label = job.fixed_condition(None if own is None else own[0])
    else:
        start, end = (np.random.default_rng(seed).standard_normal(job.run.latent_dim) for seed in (config.a, config.b))
        condition, label = job.fixed_condition()
    codes = INTERPOLATIONS[config.method](start, end, config.steps)
    images = _images(job, codes, condition)
    stem = job.name(f"{config.a}-{config.b}", config.method, None if label is None else safe_name(label))
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
    """code + alpha * (mean code with the attribute - mean code without) for images without it.

    A model conditioned on the attribute moves the condition instead: each image's code is decoded
    under its own condition + alpha * (the condition with the attribute - its own), so alpha 0 is
    the reconstruction and alpha 1 the same code with the condition swapped.
    """
    config = job.config
    attribute = str(config.attribute)
    check_attribute_name(job, attribute)
    job.require_encoder()
    has_attribute = attribute_flags(job, attribute)[:ATTRIBUTE_EXAMPLES]
    if has_attribute.all() or not has_attribute.any():
        raise GenlabError(f"attribute={attribute}: the test set needs images with and without it")
    images = job.run.test_images()[:ATTRIBUTE_EXAMPLES]
    own = job.run.conditions("test", np.arange(len(images)))
    codes = job.run.encode(images, own)
    candidates = np.flatnonzero(~has_attribute)
    chosen = np.sort(job.rng.choice(candidates, min(config.n, len(candidates)), replace=False))
    alphas = np.asarray(config.alphas, dtype=np.float32)
    repeated = np.repeat(codes[chosen][:, np.newaxis, :], len(alphas), axis=1)  # (images, alphas, D)
    if own is not None and attribute in job.run.model.condition_names:
        log.info("the model is conditioned on %s: alpha 0 keeps each image's condition, 1 swaps it", attribute)
        target = own[chosen].copy()
        if job.run.model.condition_kind == "class":
            target[:] = 0.0
        target[:, list(job.run.model.condition_names).index(attribute)] = 1.0
        start = own[chosen][:, np.newaxis, :]
        moved_conditions = start + alphas[np.newaxis, :, np.newaxis] * (target[:, np.newaxis, :] - start)
        pictures = _images(job, repeated, moved_conditions)  # (images, alphas, H, W, C)
    else:
        vector = attribute_vector(codes, has_attribute)
        moved = repeated + alphas[np.newaxis, :, np.newaxis] * vector
        conditions = None if own is None else np.repeat(own[chosen][:, np.newaxis, :], len(alphas), axis=1)
        pictures = _images(job, moved, conditions)
    alpha_labels = [f"{alpha:+.3g}" for alpha in alphas]
    grid = tile(
        pictures.reshape(-1, *pictures.shape[2:]),
        len(alphas),
        config.padding,
        column_labels=alpha_labels if config.labels else None,
    )
    stem = job.name(safe_name(attribute), f"seed{config.seed}")
    job.write_png(grid, f"{stem}.png")
    captions = [f"alpha {label}" if config.labels else None for label in alpha_labels]
    frames = [
        tile(pictures[:, column], len(chosen), config.padding, caption=caption)
        for column, caption in enumerate(captions)
    ]
    job.write_gif(frames, f"{stem}.gif", config.fps)
