"""Each step's batch as micro-batches computed side by side on a CPU's cores.

TensorFlow runs one op at a time across all cores (intra-op threads), and the
convolutions of a small batch split badly across them: at batch 32 the VAE's
kernels leave a core idle much of the time. Split into parts whose forward and
backward passes do not depend on each other, the step gives each core a part of
its own (one intra-op thread per op, the parts on the inter-op threads), and
parts of at most ``PART_IMAGES`` images keep their activations in a core's cache.
The gradients are those of the whole batch's loss, summed once for one optimizer
update. Measured with scripts/bench.py on 2 cores: see the README's Performance section.

Batch norm normalises with its batch's statistics, so networks that use it are
never split: their micro-batches would each be normalised on their own.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import tensorflow as tf

from genlab.models.determinism import ordered_sum
from genlab.errors import ConfigError

PART_IMAGES = 32  # largest part auto makes: 16-32 images measured fastest on 2 cores
LANE_IMAGES = 16  # smallest share of a batch worth a core of its own
PARTS_PER_LANE = 4  # each part is a copy of the networks' ops in the traced graph: keep it small


@dataclass(frozen=True)
class MicroBatchPlan:
    parts: int
    intra_op_threads: int | None  # None: TensorFlow's default (every core for each op)

    def describe(self) -> str:
        if self.parts == 1:
            return ""
        threads = "" if self.intra_op_threads is None else f", {self.intra_op_threads} thread(s) per op"
        return f"{self.parts} micro-batches side by side{threads}"


def available_cores() -> int:
    """Cores this process may run on (a container or `taskset` may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def plan(setting: int | None, batch_size: int, batch_norm: bool, on_cpu_alone: bool, cores: int) -> MicroBatchPlan:
    """How many parts each step's batch runs as, and the intra-op threads that lets them run side by side.

    ``setting`` is trainer.micro_batches as a number, None for auto; ``batch_norm`` says the networks must not be
    split (found in them, genlab.training.networks); ``on_cpu_alone`` means no GPU and one replica, the only case
    ``auto`` splits (a GPU runs a whole batch in parallel already).
    """
    if setting is not None and setting > 1 and batch_norm:
        raise ConfigError(
            f"trainer.micro_batches={setting}: the model's networks use batch norm (or the model writes its own "
            "step), which would normalise each micro-batch with its own statistics; use trainer.micro_batches=1 or auto"
        )
    if setting is not None:
        threads = max(1, cores // setting) if on_cpu_alone and setting > 1 else None
        return MicroBatchPlan(setting, threads)
    if batch_norm or not on_cpu_alone or cores < 2:
        return MicroBatchPlan(1, None)
    lanes = min(cores, batch_size // LANE_IMAGES)
    if lanes < 2:
        return MicroBatchPlan(1, None)
    parts = lanes * min(PARTS_PER_LANE, math.ceil(batch_size / (lanes * PART_IMAGES)))
    return MicroBatchPlan(parts, max(1, cores // lanes))


def part_sizes(batch_size: int, parts: int) -> list[int]:
    """``parts`` sizes that differ by at most one and add up to ``batch_size``."""
    if not 1 <= parts <= batch_size:
        raise ConfigError(f"cannot split a batch of {batch_size} images into {parts} micro-batches")
    base, extra = divmod(batch_size, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def mean_over_parts(
    metrics_of: Callable[[Any], dict[str, tf.Tensor]], batch: Any, sizes: Sequence[int]
) -> dict[str, tf.Tensor]:
    """``metrics_of(batch)`` computed part by part and averaged with each part's share of the images.

    ``batch`` is a tensor of images or a nest of tensors with one row per image (images and
    their conditions), split alike. Every metric is a mean over images, so the weighted average
    is the whole batch's value and its gradient the whole batch's gradient; the parts are added
    in order, so the rounding is the same on every run. With one part this is just ``metrics_of(batch)``.
    """
    if len(sizes) <= 1:
        return metrics_of(batch)
    total = float(sum(sizes))
    pieces = [tf.split(tensor, list(sizes)) for tensor in tf.nest.flatten(batch)]
    parts = [tf.nest.pack_sequence_as(batch, [piece[index] for piece in pieces]) for index in range(len(sizes))]
    per_part = [metrics_of(part) for part in parts]
    return {
        name: ordered_sum([metrics[name] * (size / total) for metrics, size in zip(per_part, sizes)])
        for name in per_part[0]
    }
