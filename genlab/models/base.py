"""What every model offers the trainer and the render commands."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from genlab.config.schema import ConditionConfig
from genlab.models.nets import ConditionInput

OptimizerFactory = Callable[[], keras.optimizers.Optimizer]
# (batch, rng) -> metrics; a batch is the images, or (images, conditions) for a conditional model
StepFunction = Callable[[Any, tf.random.Generator], dict]


def split_batch(batch: Any) -> tuple[tf.Tensor, tf.Tensor | None]:
    """(images, conditions) of a training batch; conditions are None for an unconditional model."""
    if isinstance(batch, (tuple, list)):
        images, conditions = batch
        return images, conditions
    return batch, None


@dataclass(frozen=True)
class Phase:
    """A stretch of a run with a training step of its own: the trainer runs the phases in order,
    on one step counter, so a run resumes inside any of them."""

    name: str
    steps: int
    step: StepFunction  # (batch, rng) -> metrics
    metric_names: tuple[str, ...]


class GenerativeModel:
    """Networks, optimizers and one training step.

    Images inside a model are in ``pixel_range``; ``decode`` and ``reconstruct``
    return display images in [0, 1] whatever the model's range.

    What a model can do is said by its ``has_*`` flags, and the trainer and every command ask
    them, never the model's name: a model plugged in from another package is treated alike.
    """

    name: str = ""
    pixel_range: tuple[float, float] = (0.0, 1.0)
    metric_names: tuple[str, ...] = ()
    # encode(images) -> codes: reconstructions, latent scatter plots, traversals from a test image
    has_encoder: bool = True
    # prior_codes(...) draws codes to decode; without a prior, samples come from a Gaussian
    # fitted to the codes of training images (an autoencoder)
    has_prior: bool = True
    # posterior(images) -> (mean, log_variance) of a diagonal Gaussian with a KL to N(0, I) per
    # dimension, and decoder_logits(codes) scored by reconstruction_loss (bce or mse): the ELBO,
    # the importance-weighted likelihood, traversals ordered by KL
    has_posterior: bool = False
    # discriminate(images) -> logits, real > 0: the discriminator's accuracies in evaluation
    has_discriminator: bool = False
    # codes are (flattened) grids of codebook entries: commands that move along one code dimension
    # (traverse, manifold) do not apply
    has_discrete_codes: bool = False
    # every network also takes a condition vector per image (a one-hot class or 0/1 attributes, named by
    # condition_names): encode, decode, posterior, decoder_logits and discriminate take ``conditions``,
    # and training batches are (images, conditions)
    has_condition: bool = False
    condition_kind: str = ""  # class (one-hot) or attributes (0/1 each)
    condition_names: tuple[str, ...] = ()
    latent_dim: int
    # Sizes of the parts a training batch is computed in (genlab.models.micro_batches); one part by default.
    micro_batch_sizes: tuple[int, ...] = ()

    def _conditioned_on(self, condition: ConditionConfig | None, names: Sequence[str]) -> ConditionInput | None:
        """Set ``has_condition`` and ``condition_names`` from a model config's condition and the data set's
        names (genlab.data.conditions); the input the networks take, None for an unconditional model."""
        if condition is None or not condition.enabled:
            return None
        if not names:
            raise ValueError(f"a {self.name} conditioned by {condition.by} needs the names of its conditions")
        self.has_condition = True
        self.condition_kind = condition.by
        self.condition_names = tuple(str(name) for name in names)
        return ConditionInput(len(names), condition.embedding_dim)

    def trackables(self) -> dict[str, object]:
        """Networks and optimizers by name, for tf.train.Checkpoint."""
        raise NotImplementedError

    def build_optimizers(self) -> None:
        """Create optimizer slots now, so a checkpoint can be restored before the first step."""
        raise NotImplementedError

    def train_step(self, batch: Any, rng: tf.random.Generator) -> dict[str, tf.Tensor]:
        """One update from a batch (the images, or (images, conditions) when ``has_condition``)."""
        raise NotImplementedError

    def phases(self, steps: int) -> tuple[Phase, ...]:
        """The run's phases in order; one by default: ``train_step`` for the ``steps`` the trainer config gives."""
        return (Phase("train", steps, self.train_step, self.metric_names),)

    def prior_ready(self) -> bool:
        """Whether ``prior_codes`` can draw now (a learned prior may still be untrained)."""
        return self.has_prior

    def decode(self, codes: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        raise NotImplementedError

    def encode(self, images: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        raise NotImplementedError(f"model {self.name} has no encoder")

    def prior_codes(self, rng: np.random.Generator, count: int, temperature: float = 1.0) -> np.ndarray:
        """``count`` codes from the prior, a standard normal, with its spread scaled by ``temperature``."""
        return (temperature * rng.standard_normal((count, self.latent_dim))).astype(np.float32)

    def reconstruct(self, images: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        return with_conditions(self.decode, with_conditions(self.encode, images, conditions), conditions)

    def batch_norm_pass(self, batch: Any, rng: np.random.Generator) -> None:
        """Run every network the commands use once on a training batch, with the inputs training gives it;
        precise batch norm (genlab.models.precise_batch_norm) pools batch norm's statistics over these passes.

        By default: the encoder and decoder of a reconstruction (the decoder of prior codes for a model
        without an encoder), and the discriminator on the images.
        """
        images, conditions = split_batch(batch)
        if self.has_encoder:
            with_conditions(self.reconstruct, images, conditions)
        elif self.has_prior and self.prior_ready():
            with_conditions(self.decode, self.prior_codes(rng, int(images.shape[0])), conditions)
        if self.has_discriminator:
            with_conditions(self.discriminate, images, conditions)

    def to_display(self, images: tf.Tensor) -> tf.Tensor:
        low, high = self.pixel_range
        return tf.clip_by_value((tf.cast(images, tf.float32) - low) / (high - low), 0.0, 1.0)


def with_conditions(method: Callable[..., Any], inputs: Any, conditions: Any) -> Any:
    """``method(inputs)``, or ``method(inputs, conditions)`` for a conditional model: a model that takes
    no condition (one plugged in from another package) keeps its one-argument methods."""
    return method(inputs) if conditions is None else method(inputs, conditions)


def call_network(network: keras.Model, inputs: tf.Tensor, conditions: tf.Tensor | None, training: bool) -> tf.Tensor:
    """``network`` on its input, with the conditions beside it for a conditional network."""
    if conditions is None:
        return network(inputs, training=training)
    # Keras takes a list of tensors, not a mix of tensors and numpy arrays
    return network([tf.convert_to_tensor(inputs), tf.cast(conditions, tf.float32)], training=training)


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
