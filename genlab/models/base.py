"""What every model offers the trainer and the render commands."""
from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

OptimizerFactory = Callable[[], keras.optimizers.Optimizer]


class GenerativeModel:
    """Networks, optimizers and one training step.

    Images inside a model are in ``pixel_range``; ``decode`` and ``reconstruct``
    return display images in [0, 1] whatever the model's range.
    """

    name: str = ""
    pixel_range: tuple[float, float] = (0.0, 1.0)
    metric_names: tuple[str, ...] = ()
    has_encoder: bool = True
    latent_dim: int
    # Sizes of the parts a training batch is computed in (genlab.models.micro_batches); one part by default.
    micro_batch_sizes: tuple[int, ...] = ()

    def trackables(self) -> dict[str, object]:
        """Networks and optimizers by name, for tf.train.Checkpoint."""
        raise NotImplementedError

    def build_optimizers(self) -> None:
        """Create optimizer slots now, so a checkpoint can be restored before the first step."""
        raise NotImplementedError

    def train_step(self, images: tf.Tensor, rng: tf.random.Generator) -> dict[str, tf.Tensor]:
        raise NotImplementedError

    def decode(self, codes: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def encode(self, images: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError(f"model {self.name} has no encoder")

    def reconstruct(self, images: tf.Tensor) -> tf.Tensor:
        return self.decode(self.encode(images))

    def to_display(self, images: tf.Tensor) -> tf.Tensor:
        low, high = self.pixel_range
        return tf.clip_by_value((tf.cast(images, tf.float32) - low) / (high - low), 0.0, 1.0)


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
