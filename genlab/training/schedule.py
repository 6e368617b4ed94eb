"""How long a run trains and where its compiled calls end; no TensorFlow.

A run's budget is ``trainer.steps``, or ``trainer.epochs`` converted with the
number of training images. Each compiled call runs several optimizer steps
(``trainer.steps_per_loop``); logs, pictures and checkpoints are written between
calls, so a call must end at every step where one of them is due. With
``steps_per_loop: auto`` a call runs up to the next such step, at most
``AUTO_LOOP_STEPS`` steps, so every interval works as typed; a fixed number must
divide every interval (genlab.config checks it).
"""
from __future__ import annotations

import math
from typing import Any

from genlab.errors import ConfigError

# Longest call that auto makes: long enough that the host's work between calls is
# lost in the steps' time (scripts/bench.py), short enough for a lively progress line
# and a prompt stop on Ctrl-C.
AUTO_LOOP_STEPS = 50

INTERVALS = ("log_every", "image_every", "checkpoint_every")


def check_batch_size(batch_size: int, num_train: int) -> None:
    """A batch is drawn from the training images without repeats: it cannot hold more than there are."""
    if batch_size > num_train:
        raise ConfigError(
            f"trainer.batch_size must not exceed the number of training images ({num_train}) (got {batch_size})"
        )


def steps_per_epoch(batch_size: int, num_train: int) -> int:
    """Full batches in one pass over the training images (the last partial batch is not trained on)."""
    return max(1, num_train // batch_size)


def total_steps(trainer: Any, num_train: int) -> int:
    """``trainer.steps``, or ``trainer.epochs`` converted with the number of training images."""
    if trainer.epochs is None:
        return trainer.steps
    return max(1, math.ceil(trainer.epochs * steps_per_epoch(trainer.batch_size, num_train)))


def phases(model: Any, steps: int) -> tuple[tuple[str, int], ...]:
    """(name, steps) of each phase of a run whose model trains for ``steps``, as the model's config declares
    them (its ``phases(steps)``; a VQ-VAE's prior trains after it); one phase, ``train``, by default.

    The model's own ``phases`` (genlab.models.base) gives each of these its updates; the trainer checks
    that both agree, so the budget line, a finished run's step and resuming read the same declaration.
    """
    declared = getattr(model, "phases", None)
    return tuple((str(name), int(count)) for name, count in declared(steps)) if callable(declared) else (("train", steps),)


def phase_steps(model: Any, steps: int) -> tuple[int, ...]:
    """The steps of each phase (see ``phases``)."""
    return tuple(count for _, count in phases(model, steps))


def run_steps(trainer: Any, model: Any, num_train: int) -> int:
    """Where the step counter of a finished run stands: every phase's steps."""
    return sum(phase_steps(model, total_steps(trainer, num_train)))


def describe_budget(trainer: Any, num_train: int, model: Any = None) -> str:
    """``2000 steps of batch 128 (4.27 epochs of 60000 images; trainer.steps)``: what the run trains for and why,
    with ``, then 2000 steps of phase prior`` for a model trained in phases."""
    steps = total_steps(trainer, num_train)
    epochs = steps / steps_per_epoch(trainer.batch_size, num_train)
    source = "trainer.steps" if trainer.epochs is None else f"trainer.epochs={trainer.epochs:g}"
    later = "".join(f", then {count} steps of phase {name}" for name, count in phases(model, steps)[1:])
    return f"{steps} steps of batch {trainer.batch_size} ({epochs:.3g} epochs of {num_train} images; {source}){later}"


def loop_length(step: int, total: int, trainer: Any) -> int:
    """How many steps the compiled call starting after ``step`` runs: to the next step where something is due."""
    fixed = trainer.loop_steps()
    if fixed is not None:
        return min(fixed, total - step)
    due = [step + interval - step % interval for interval in (getattr(trainer, key) for key in INTERVALS)]
    return min(*due, step + AUTO_LOOP_STEPS, total) - step
