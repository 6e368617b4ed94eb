"""Variational autoencoder with a beta-weighted KL term (beta=1: the plain VAE)."""
from __future__ import annotations

import tensorflow as tf

from genlab.config.schema import VAEConfig
from genlab.models.ae import AutoEncoder, reconstruction_error


def kl_to_standard_normal(mean: tf.Tensor, log_variance: tf.Tensor) -> tf.Tensor:
    """KL(N(mean, exp(log_variance)) || N(0, I)) per latent dimension."""
    return 0.5 * (tf.square(mean) + tf.exp(log_variance) - 1.0 - log_variance)


class VariationalAutoEncoder(AutoEncoder):
    name = "vae"
    metric_names = ("loss", "reconstruction", "kl", "elbo")
    has_prior = True  # a standard normal (the autoencoder it extends has none)
    has_posterior = True
    config: VAEConfig

    def code_units(self) -> int:
        return 2 * self.latent_dim  # mean and log-variance

    def posterior(self, images: tf.Tensor, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        mean, log_variance = tf.split(self.encoder(images, training=training), 2, axis=-1)
        return mean, log_variance

    def losses(self, images: tf.Tensor, rng: tf.random.Generator, training: bool) -> dict[str, tf.Tensor]:
        mean, log_variance = self.posterior(images, training=training)
        noise = rng.normal(tf.shape(mean), dtype=mean.dtype)
        codes = mean + tf.exp(0.5 * log_variance) * noise
        logits = self.decoder(codes, training=training)
        reconstruction = tf.reduce_mean(reconstruction_error(self.config.reconstruction_loss, images, logits))
        kl = tf.reduce_mean(tf.reduce_sum(kl_to_standard_normal(mean, log_variance), axis=-1))
        loss = self.weighted_reconstruction(reconstruction) + self.config.beta * kl
        return {"loss": loss, "reconstruction": reconstruction, "kl": kl, "elbo": -(reconstruction + kl)}

    @property
    def reconstruction_loss(self) -> str:
        """How decoder_logits score an image: bce (Bernoulli) or mse (Gaussian)."""
        return self.config.reconstruction_loss

    def decoder_logits(self, codes: tf.Tensor) -> tf.Tensor:
        return self.decoder(codes, training=False)

    def encode(self, images: tf.Tensor) -> tf.Tensor:
        return self.posterior(images)[0]
