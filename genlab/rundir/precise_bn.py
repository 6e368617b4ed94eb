"""A restored run's batch-norm statistics, recomputed in memory from a fixed set of training images
before anything is rendered or evaluated (genlab.models.precise_batch_norm does the computing).

The running averages a checkpoint holds lag its weights early in training, so pictures and numbers
in inference mode would show a worse model than the one trained. The images are the first ones of a
permutation fixed once and for all, in batches of the run's training batch size (batch statistics
depend on it), so every command on one checkpoint sees the same statistics. The checkpoint itself
is never written.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from genlab.config.render import PRECISE_BN_IMAGES
from genlab.errors import GenlabError


log = logging.getLogger("genlab.run")

SELECTION_SEED = 0  # the permutation the images are the first of: the same for every command and seed


@dataclass(frozen=True)
class BatchNormStatistics:
    """Where a restored model's batch-norm statistics come from, as said on the terminal and in metrics.json."""

    source: str  # none (the model has no batch norm), checkpoint (its running averages) or recomputed
    images: int = 0  # training images they were recomputed from
    note: str = ""  # the line said; empty for a model without batch norm


def fixed_training_indices(total: int, count: int) -> np.ndarray:
    """The first ``count`` (at most ``total``) of a fixed permutation of ``total`` training images."""
    return np.random.default_rng(SELECTION_SEED).permutation(total)[:count]


def usable_count(available: int, wanted: int, batch_size: int) -> tuple[int, int]:
    """(images, batch size): whole batches of ``batch_size`` only, as training has, unless fewer images than
    one batch are there, then one batch of them all."""
    count = min(available, wanted)
    if count < batch_size:
        return count, count
    return count - count % batch_size, batch_size


def _batches(run: Any, indices: np.ndarray, batch_size: int) -> Iterator[Any]:
    conditions = run.conditions("train")
    for start in range(0, len(indices), batch_size):
        chosen = np.sort(indices[start : start + batch_size])  # sorted: on-disk records are read in order
        images = run.scaled(run.data.train_images[chosen])
        yield images if conditions is None else (images, conditions[chosen])


def recompute_batch_statistics(run: Any, images: int | None) -> BatchNormStatistics:
    """Recompute the statistics of the run's model from ``images`` training images (None: keep the
    checkpoint's), and say so once in the log. ``run`` is a SavedRun (typed Any: saved_run imports this module)."""
    from genlab.models.precise_batch_norm import batch_norm_layers, recompute_batch_norm

    model = run.model
    found = batch_norm_layers(model)
    if not found:
        return BatchNormStatistics("none")
    if images is None:
        return _said(BatchNormStatistics(
            "checkpoint", note="batch norm: the checkpoint's running averages (precise_bn=true recomputes them "
            "from training images)",
        ))
    try:
        available = len(run.data.train_images)
    except GenlabError as error:
        return _said(BatchNormStatistics(
            "checkpoint", note=f"batch norm: the checkpoint's running averages; no training images to recompute "
            f"them from ({error})",
        ))
    if available == 0:
        return _said(BatchNormStatistics(
            "checkpoint", note="batch norm: the checkpoint's running averages; the data set has no training images"
        ))
    count, batch_size = usable_count(available, images, int(run.config.trainer.batch_size))
    done = recompute_batch_norm(model, _batches(run, fixed_training_indices(available, count), batch_size))
    layers = "statistics" if done.layers == done.found else f"statistics of {done.layers} of {done.found} layers"
    return _said(BatchNormStatistics(
        "recomputed", count, f"batch norm: {layers} recomputed from {count} training images "
        "(precise_bn=false keeps the checkpoint's running averages)",
    ))


def _said(statistics: BatchNormStatistics) -> BatchNormStatistics:
    log.info("%s", statistics.note)
    return statistics
