"""Deterministic autoencoder: image -> code -> image."""
from __future__ import annotations

import math
from typing import Any, Sequence

import tensorflow as tf

from genlab.config.schema import AEConfig
from genlab.models import nets
from genlab.models.base import GenerativeModel, Objective, OptimizerFactory, Update, call_network, split_batch


def reconstruction_error(kind: str, images: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Per-image error summed over pixels: Bernoulli NLL (bce) or squared error (mse)."""
    images = tf.cast(images, tf.float32)
    if kind == "bce":
        per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=logits)
    else:
        per_pixel = tf.square(tf.sigmoid(logits) - images)
    return tf.reduce_sum(per_pixel, axis=[1, 2, 3])


class AutoEncoder(GenerativeModel):
    name = "ae"
    metric_names = ("loss", "reconstruction")
    has_prior = False
    averaged_networks = ("encoder", "decoder")

    def __init__(
        self,
        config: AEConfig,
        image_shape: tuple[int, int, int],
        make_optimizer: OptimizerFactory,
        condition_names: Sequence[str] = (),
    ):
        self.config = config
        self.latent_dim = config.latent_dim
        self.image_shape = image_shape
        condition = self._conditioned_on(config.condition, condition_names)
        self.encoder = nets.encoder(
            image_shape,
            config.encoder,
            self.code_units(),
            name="encoder",
            output_activation=config.code_activation,
            condition=condition,
        )
        self.decoder = nets.decoder(config.latent_dim, image_shape, config.decoder, name="decoder", condition=condition)
        self.optimizer = make_optimizer()

    def code_units(self) -> int:
        return self.latent_dim

    @property
    def variables(self) -> list:
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def trackables(self) -> dict[str, object]:
        return {"encoder": self.encoder, "decoder": self.decoder, "optimizer": self.optimizer}

    def build_optimizers(self) -> None:
        self.optimizer.build(self.variables)

    def losses(self, batch: Any, rng: tf.random.Generator, training: bool) -> dict[str, tf.Tensor]:
        images, conditions = split_batch(batch)
        codes = call_network(self.encoder, images, conditions, training)
        logits = call_network(self.decoder, codes, conditions, training)
        reconstruction = tf.reduce_mean(reconstruction_error(self.config.reconstruction_loss, images, logits))
        return {"loss": self.weighted_reconstruction(reconstruction), "reconstruction": reconstruction}

    def weighted_reconstruction(self, reconstruction: tf.Tensor) -> tf.Tensor:
        """The loss term of a per-image summed error: weight x sum, or weight x mean over the image's values.

        The ``reconstruction`` metric stays the summed error either way, so the ELBO stays an ELBO.
        """
        if self.config.reconstruction_reduction == "mean":
            reconstruction = reconstruction / float(math.prod(self.image_shape))
        return self.config.reconstruction_weight * reconstruction

    def updates(self) -> tuple[Update, ...]:
        objective = Objective("loss", self.optimizer, lambda: self.variables)
        return (Update(lambda batch, rng: self.losses(batch, rng, training=True), (objective,)),)

    def encode(self, images: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        return call_network(self.encoder, images, conditions, training=False)

    def decode(self, codes: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        return tf.sigmoid(call_network(self.decoder, codes, conditions, training=False))
