"""Variational autoencoder with a beta-weighted KL term (beta=1: the plain VAE)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import tensorflow as tf

from genlab.config.schema import VAEConfig
from genlab.metrics.elbo import kl_to_standard_normal, log_likelihood_of_error
from genlab.models.ae import AutoEncoder, reconstruction_error
from genlab.models.base import call_network, split_batch


class VariationalAutoEncoder(AutoEncoder):
    name = "vae"
    metric_names = ("loss", "reconstruction", "kl", "elbo")
    has_prior = True  # a standard normal (the autoencoder it extends has none)
    has_posterior = True
    config: VAEConfig

    def code_units(self) -> int:
        return 2 * self.latent_dim  # mean and log-variance

    def posterior(
        self, images: tf.Tensor, conditions: tf.Tensor | None = None, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor]:
        mean, log_variance = tf.split(call_network(self.encoder, images, conditions, training), 2, axis=-1)
        return mean, log_variance

    def losses(self, batch: Any, rng: tf.random.Generator, training: bool) -> dict[str, tf.Tensor]:
        images, conditions = split_batch(batch)
        mean, log_variance = self.posterior(images, conditions, training=training)
        noise = rng.normal(tf.shape(mean), dtype=mean.dtype)
        codes = mean + tf.exp(0.5 * log_variance) * noise
        logits = call_network(self.decoder, codes, conditions, training)
        reconstruction = tf.reduce_mean(reconstruction_error(self.config.reconstruction_loss, images, logits))
        kl = tf.reduce_mean(tf.reduce_sum(kl_to_standard_normal(mean, log_variance), axis=-1))
        loss = self.weighted_reconstruction(reconstruction) + self.config.beta * kl
        # the ELBO under the likelihood genlab evaluate scores with (a Gaussian of variance 1/2 for mse)
        values = math.prod(self.image_shape)
        log_likelihood = log_likelihood_of_error(self.config.reconstruction_loss, reconstruction, values)
        return {"loss": loss, "reconstruction": reconstruction, "kl": kl, "elbo": log_likelihood - kl}

    @property
    def reconstruction_loss(self) -> str:
        """How decoder_logits score an image: bce (Bernoulli) or mse (Gaussian)."""
        return self.config.reconstruction_loss

    def decoder_logits(self, codes: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        return call_network(self.decoder, codes, conditions, training=False)

    def encode(self, images: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        return self.posterior(images, conditions)[0]

    def batch_norm_pass(self, batch: Any, rng: np.random.Generator) -> None:
        """The encoder on the images, the decoder on codes drawn from their posteriors, as in training."""
        images, conditions = split_batch(batch)
        mean, log_variance = self.posterior(images, conditions)
        noise = tf.constant(rng.standard_normal(tuple(mean.shape)), mean.dtype)
        self.decoder_logits(mean + tf.exp(0.5 * log_variance) * noise, conditions)
