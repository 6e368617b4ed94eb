"""A variational autoencoder with dense networks (Kingma and Welling 2014's MLP VAE).

The whole model: its networks, optimizer, one training step, and what it can do. genlab's
trainer, checkpoints, renders and evaluation take it from here, asking its ``has_*`` flags.
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf

from genlab.metrics.elbo import kl_to_standard_normal, log_likelihood_of_error
from genlab.models.ae import reconstruction_error
from genlab.models.base import GenerativeModel, Objective, OptimizerFactory, Update


def dense_network(input_shape: tuple[int, ...], hidden_units: list[int], outputs: int, name: str) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(),
            *(keras.layers.Dense(units, activation="relu") for units in hidden_units),
            keras.layers.Dense(outputs),
        ],
        name=name,
    )


class MLPVAE(GenerativeModel):
    name = "mlp_vae"
    metric_names = ("loss", "reconstruction", "kl", "elbo")  # what updates() return, logged by the trainer
    has_encoder = True  # encode(): reconstructions, latent plots, traversals from a test image
    has_prior = True  # prior_codes(): a standard normal (GenerativeModel's), for samples
    has_posterior = True  # posterior() and decoder_logits(): ELBO, likelihood, traversals ordered by KL
    averaged_networks = ("encoder", "decoder")  # what trainer.ema_decay averages

    def __init__(self, config, image_shape: tuple[int, int, int], make_optimizer: OptimizerFactory):
        self.config = config
        self.latent_dim = config.latent_dim
        self.image_shape = image_shape
        pixels = math.prod(image_shape)
        self.encoder = dense_network(image_shape, config.hidden_units, 2 * config.latent_dim, "encoder")
        self.decoder = keras.Sequential(
            [dense_network((config.latent_dim,), config.hidden_units[::-1], pixels, "dense"), keras.layers.Reshape(image_shape)],
            name="decoder",
        )
        self.optimizer = make_optimizer()

    # ------------------------------------------------------------------ training

    @property
    def variables(self) -> list:
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def trackables(self) -> dict[str, object]:
        """What a checkpoint saves and restores."""
        return {"encoder": self.encoder, "decoder": self.decoder, "optimizer": self.optimizer}

    def build_optimizers(self) -> None:
        self.optimizer.build(self.variables)

    def losses(self, images: tf.Tensor, rng: tf.random.Generator) -> dict[str, tf.Tensor]:
        mean, log_variance = self.posterior(images, training=True)
        codes = mean + tf.exp(0.5 * log_variance) * rng.normal(tf.shape(mean), dtype=mean.dtype)
        logits = self.decoder(codes, training=True)
        reconstruction = tf.reduce_mean(reconstruction_error(self.config.reconstruction_loss, images, logits))
        kl = tf.reduce_mean(tf.reduce_sum(kl_to_standard_normal(mean, log_variance), axis=-1))
        loss = reconstruction + self.config.beta * kl
        values = math.prod(self.image_shape)
        log_likelihood = log_likelihood_of_error(self.config.reconstruction_loss, reconstruction, values)
        return {"loss": loss, "reconstruction": reconstruction, "kl": kl, "elbo": log_likelihood - kl}

    def updates(self) -> tuple[Update, ...]:
        """One optimizer minimising the metric "loss" over both networks; genlab's trainer does the rest
        (splitting the batch, replicas, loss scaling, the weight average)."""
        return (Update(self.losses, (Objective("loss", self.optimizer, lambda: self.variables),)),)

    # ------------------------------------------------------------------ what the commands call

    # Every method the commands call takes the images' conditions too (None: this model has none).

    def posterior(self, images: tf.Tensor, conditions: tf.Tensor | None = None, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        mean, log_variance = tf.split(self.encoder(images, training=training), 2, axis=-1)
        return mean, log_variance

    @property
    def reconstruction_loss(self) -> str:
        return self.config.reconstruction_loss

    def decoder_logits(self, codes: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        return self.decoder(codes, training=False)

    def encode(self, images: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        return self.posterior(images)[0]

    def decode(self, codes: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        return tf.sigmoid(self.decoder(codes, training=False))  # display images in [0, 1]
