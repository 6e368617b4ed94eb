"""Everything a checkpoint holds, built the same way for training and for rendering."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import keras
import tensorflow as tf

from genlab import rundir
from genlab.rundir.checkpoints import CheckpointStore
from genlab.models import GenerativeModel, build_model
from genlab.models.kernels import hand_written_kernels
from genlab.models.optimizers import build_optimizer
from genlab.config.schema import average_decay
from genlab.models.weight_average import WeightAverage


@dataclass
class TrainingState:
    model: GenerativeModel
    step: tf.Variable
    rng: tf.random.Generator
    checkpoints: CheckpointStore
    average: WeightAverage | None = None  # trainer.ema_decay: the sampling networks' moving average


def seed_generator_states(models: list[keras.Model]) -> list[tf.Variable]:
    """The state variables of Keras' seed generators (dropout, noise layers).

    tf.train.Checkpoint does not track them through the layers, and without them a
    resumed run would draw different dropout masks than an uninterrupted one.
    """
    states = []
    pending = list(models)
    while pending:
        layer = pending.pop(0)
        pending.extend(getattr(layer, "layers", []))
        for value in vars(layer).values():
            if isinstance(value, keras.random.SeedGenerator):
                states.append(value.state.value)
    return states


def build_state(
    config: Any,
    image_shape: tuple[int, int, int],
    run_dir: Path,
    loss_scaling: bool,
    owns_run_dir: bool = True,
    condition_names: Sequence[str] = (),
) -> TrainingState:
    """Model with built optimizers, step counter and RNG, tied to the run's checkpoints.

    A process that does not own the run directory (a non-chief worker) restores from
    its checkpoints but saves only to a scratch folder of its own. A conditional model
    needs the names of its conditions (genlab.data.conditions).
    """
    make_optimizer = lambda: build_optimizer(config.optimizer, loss_scaling)  # noqa: E731
    with hand_written_kernels(config.trainer.hand_written_kernels):
        model = build_model(config.model, image_shape, make_optimizer, condition_names)
        model.build_optimizers()
        decay = average_decay(config)
        average = WeightAverage(model, decay, getattr(config.trainer, "ema_start", 0)) if decay is not None else None
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    rng = tf.random.Generator.from_seed(config.seed)
    trackables = {**model.trackables(), **(average.trackables() if average is not None else {})}
    networks = [value for value in trackables.values() if isinstance(value, keras.Model)]
    checkpoints = CheckpointStore(
        run_dir / rundir.CHECKPOINT_DIR,
        config.trainer.max_to_keep,
        writes=owns_run_dir,
        step=step,
        rng=rng,
        seed_generators=seed_generator_states(networks),
        **trackables,
    )
    return TrainingState(model, step, rng, checkpoints, average)
