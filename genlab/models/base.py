"""What every model offers the trainer and the render commands."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from genlab.config.schema import ConditionConfig
from genlab.errors import GenlabError
from genlab.models.nets import ConditionInput
from genlab.models.weight_average import copy_network

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
class Objective:
    """One optimizer's step in an update: it minimises the metric ``loss`` over ``variables()``."""

    loss: str
    optimizer: keras.optimizers.Optimizer
    variables: Callable[[], Sequence[tf.Variable]]


@dataclass(frozen=True)
class Update:
    """A forward pass and the optimizer steps it feeds, in order.

    ``metrics(batch, rng)`` returns means over the batch's images (the losses and what to log);
    the trainer may compute it on parts of the batch and average them, so it must not mix
    images. ``after(metrics, batch)`` runs once the optimizers have stepped, with the whole
    batch's metrics, and returns more metrics (a VQ-VAE's codebook averages and perplexity).
    """

    metrics: Callable[[Any, tf.random.Generator], dict]
    objectives: tuple[Objective, ...]
    after: Callable[[dict, Any], dict] | None = None


@dataclass(frozen=True)
class Phase:
    """A stretch of a run with updates of its own: the trainer runs the phases in order, on one
    step counter, so a run resumes inside any of them.

    ``trains`` and ``freezes`` name networks (keys of ``trackables``): the trainer checks that the
    phase's optimizers change no frozen network. A model that must write its whole step gives
    ``step`` instead of ``updates``; such a step is never split into micro-batches.
    """

    name: str
    steps: int
    updates: tuple[Update, ...]
    metric_names: tuple[str, ...]
    trains: tuple[str, ...] = ()
    freezes: tuple[str, ...] = ()
    step: StepFunction | None = None


class GenerativeModel:
    """Networks, optimizers, and what a training step optimizes (``updates``, ``phases``).

    Images inside a model are in ``pixel_range``; ``decode``, ``reconstruct`` and ``sample``
    return display images in [0, 1] whatever the model's range.

    What a model can do is said by its ``has_*`` flags and read from what it implements
    (``gives_likelihood``); the trainer and every command ask them, never the model's name: a
    model plugged in from another package is treated alike. Every method the commands call
    takes the images' conditions as its second argument (``encode(images, conditions)``,
    ``decode(codes, conditions)``, ...), None for an unconditional model.
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

    def updates(self) -> tuple[Update, ...]:
        """What one training step optimizes, in order (genlab.training.update runs it)."""
        raise NotImplementedError

    def networks(self) -> dict[str, keras.Model]:
        """The model's networks by name: the Keras models and layers (a VQ-VAE's quantizer) among ``trackables``."""
        return {name: value for name, value in self.trackables().items() if isinstance(value, keras.Layer)}

    # Networks the trainer's weight average (trainer.ema_decay) follows: those that draw samples.
    averaged_networks: tuple[str, ...] = ()

    def copy_network(self, name: str) -> keras.Model:
        """A copy of network ``name`` with weights of its own (the weight average's); same layers by default."""
        return copy_network(self.networks()[name])

    def phases(self, steps: int) -> tuple[Phase, ...]:
        """The run's phases in order; one by default: ``updates`` for the ``steps`` the trainer config gives."""
        return (Phase("train", steps, self.updates(), self.metric_names, trains=tuple(self.networks())),)

    def prior_ready(self) -> bool:
        """Whether ``sample`` can draw now (a learned prior may still be untrained)."""
        return self.has_prior

    # what ``log_likelihood`` gives: "exact" (a flow) or "bound" (a variational bound); "" when it gives none
    likelihood_kind: str = ""

    def log_likelihood(
        self, images: tf.Tensor, rng: tf.random.Generator, conditions: tf.Tensor | None = None
    ) -> tf.Tensor:
        """log p of 8-bit images, in nats per image: ``images`` hold the pixel values 0..255 (float32). A model of
        continuous values scores them dequantised, (x + u) / 256 with u uniform in [0, 1) from ``rng``, and adds
        the D log 256 the change of scale costs, so every family's number is one quantity (README, Evaluating).
        ``genlab evaluate`` reports its mean as ``nll`` and ``bits_per_dim`` over the whole test split."""
        raise NotImplementedError(f"model {self.name} gives no likelihood")

    @classmethod
    def gives_likelihood(cls) -> bool:
        """Whether the model implements ``log_likelihood`` (read from the code, not declared)."""
        return cls.log_likelihood is not GenerativeModel.log_likelihood

    def require_prior_ready(self) -> None:
        """A GenlabError saying how to train the prior when ``sample`` cannot draw yet."""
        if not self.prior_ready():
            raise GenlabError(f"this {self.name} model cannot draw samples yet: its prior is not trained")

    def sample(
        self, count: int, rng: np.random.Generator, conditions: tf.Tensor | None = None, options: Any = None
    ) -> tf.Tensor:
        """``count`` display images in [0, 1]: the one way every picture, render and evaluation draws from the
        model. ``options`` holds the model's sampling keys (its ``ModelSpec.sampling``, e.g. temperature; None:
        their defaults); a conditional model draws under ``conditions``, one row per image. Random choices come
        from ``rng``, so a seed gives the same images. By default: ``decode`` of codes from ``prior_codes``."""
        temperature = getattr(options, "temperature", 1.0)
        codes = tf.constant(self.prior_codes(rng, count, temperature))
        return self.decode(codes, conditions)

    def decode(self, codes: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        raise NotImplementedError

    def encode(self, images: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        raise NotImplementedError(f"model {self.name} has no encoder")

    def prior_codes(self, rng: np.random.Generator, count: int, temperature: float = 1.0) -> np.ndarray:
        """``count`` codes from the prior, a standard normal, with its spread scaled by ``temperature``."""
        return (temperature * rng.standard_normal((count, self.latent_dim))).astype(np.float32)

    def reconstruct(self, images: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        return self.decode(self.encode(images, conditions), conditions)

    def batch_norm_pass(self, batch: Any, rng: np.random.Generator) -> None:
        """Run every network the commands use once on a training batch, with the inputs training gives it;
        precise batch norm (genlab.models.precise_batch_norm) pools batch norm's statistics over these passes.

        By default: the encoder and decoder of a reconstruction (the decoder of prior codes for a model
        without an encoder), and the discriminator on the images.
        """
        images, conditions = split_batch(batch)
        if self.has_encoder:
            self.reconstruct(images, conditions)
        elif self.has_prior and self.prior_ready():
            self.decode(self.prior_codes(rng, int(images.shape[0])), conditions)
        if self.has_discriminator:
            self.discriminate(images, conditions)

    def to_display(self, images: tf.Tensor) -> tf.Tensor:
        low, high = self.pixel_range
        return tf.clip_by_value((tf.cast(images, tf.float32) - low) / (high - low), 0.0, 1.0)


def call_network(network: keras.Model, inputs: tf.Tensor, conditions: tf.Tensor | None, training: bool) -> tf.Tensor:
    """``network`` on its input, with the conditions beside it for a conditional network."""
    if conditions is None:
        return network(inputs, training=training)
    # Keras takes a list of tensors, not a mix of tensors and numpy arrays
    return network([tf.convert_to_tensor(inputs), tf.cast(conditions, tf.float32)], training=training)
