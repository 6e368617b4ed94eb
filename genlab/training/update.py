"""The optimizer steps of a training step, made from what a model says it optimizes.

A model lists its updates (genlab.models.base.Update): a forward pass that returns metrics,
each a mean over the batch's images, and the optimizers that step on some of them. The
trainer alone computes the pass in micro-batches (genlab.training.micro_batches), gives
each replica its share of the loss, scales it for mixed precision and applies the
gradients, so a model never repeats that code and every family is split, distributed and
scaled the same way.
"""
from __future__ import annotations

from typing import Any, Sequence

import keras
import tensorflow as tf

from genlab.models.base import Phase, Update
from genlab.training.micro_batches import mean_over_parts


def replica_share(loss: tf.Tensor) -> tf.Tensor:
    """This replica's part of a loss averaged over its own images.

    Under a tf.distribute strategy the optimizer sums the replicas' gradients, so each
    replica contributes its mean divided by the number of replicas: the update is then
    the gradient of the mean over the global batch. Without a strategy this divides by 1.
    """
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync if context is not None else 1
    return loss if replicas == 1 else loss / replicas


def apply_gradients(
    optimizer: keras.optimizers.Optimizer, tape: tf.GradientTape, scaled_loss: tf.Tensor, variables: list
) -> None:
    """One optimizer update from a loss already passed through ``optimizer.scale_loss`` inside ``tape``.

    ``scale_loss`` is the identity unless mixed_float16 loss scaling is on; the optimizer
    unscales the gradients and skips steps whose gradients overflowed.
    """
    gradients = tape.gradient(scaled_loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))


def run_update(update: Update, batch: Any, rng: tf.random.Generator, part_sizes: Sequence[int]) -> dict[str, tf.Tensor]:
    """One forward pass of ``update`` over the batch (in parts) and its optimizer steps, in order; its metrics."""
    several = len(update.objectives) > 1
    with tf.GradientTape(persistent=several) as tape:
        metrics = mean_over_parts(lambda part: update.metrics(part, rng), batch, part_sizes)
        scaled = [objective.optimizer.scale_loss(replica_share(metrics[objective.loss])) for objective in update.objectives]
    for objective, scaled_loss in zip(update.objectives, scaled):
        apply_gradients(objective.optimizer, tape, scaled_loss, list(objective.variables()))
    if several:
        del tape  # a persistent tape keeps the forward pass alive until dropped
    if update.after is not None:
        metrics = {**metrics, **update.after(metrics, batch)}
    return metrics


def run_phase_step(phase: Phase, batch: Any, rng: tf.random.Generator, part_sizes: Sequence[int]) -> dict[str, tf.Tensor]:
    """One training step of ``phase``: its updates in order (the metrics of the last pass win), or the model's own
    whole step for a phase that writes one (never split into parts)."""
    if phase.step is not None:
        return phase.step(batch, rng)
    metrics: dict[str, tf.Tensor] = {}
    for update in phase.updates:
        metrics = {**metrics, **run_update(update, batch, rng, part_sizes)}
    return metrics
