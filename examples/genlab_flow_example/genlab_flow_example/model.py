"""A normalizing flow with dense affine couplings (Dinh et al. 2017's RealNVP, on flattened pixels).

The whole model: its networks, its loss, and the flow both ways. An image's pixel values are
dequantised, y = (x + u) / 256, and mapped by ``couplings`` invertible layers to a code z with a
standard normal prior, so log p(y) = log N(z) + the layers' log-determinants is exact. genlab's
trainer, checkpoints, weight average, renders and evaluation take it from here: its loss is one
Objective, its likelihood ``log_likelihood``, its samples the default ``decode`` of prior codes.
"""
from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from genlab.models.base import GenerativeModel, Objective, OptimizerFactory, Update

LOG_2PI = math.log(2.0 * math.pi)


def coupling_network(dimensions: int, hidden_units: list[int], name: str) -> keras.Model:
    """The kept half of the pixels -> (log-scale, shift) of the changed half; zero at the start (the identity)."""
    return keras.Sequential(
        [
            keras.Input((dimensions,)),
            *(keras.layers.Dense(units, activation="relu") for units in hidden_units),
            keras.layers.Dense(2 * dimensions, kernel_initializer="zeros"),
        ],
        name=name,
    )


class DenseFlow(GenerativeModel):
    name = "dense_flow"
    metric_names = ("loss", "bits_per_dim")  # loss: nats per dimension of the dequantised 8-bit images
    has_encoder = True  # encode(): an image's code, which decode() inverts exactly
    has_prior = True  # GenerativeModel's prior_codes(): a standard normal over the codes
    likelihood_kind = "exact"  # log_likelihood() is the flow's density, not a bound

    def __init__(self, config, image_shape: tuple[int, int, int], make_optimizer: OptimizerFactory):
        self.config = config
        self.image_shape = image_shape
        self.latent_dim = self.dimensions = math.prod(image_shape)
        names = [f"coupling_{index}" for index in range(config.couplings)]
        self.couplings = [coupling_network(self.dimensions, config.hidden_units, name) for name in names]
        self.averaged_networks = tuple(names)  # what trainer.ema_decay averages
        # Alternate halves (even and odd pixels): each layer changes the pixels the one before kept.
        parity = np.arange(self.dimensions) % 2
        self.masks = [tf.constant((parity == index % 2).astype(np.float32)) for index in range(config.couplings)]
        self.optimizer = make_optimizer()

    @property
    def variables(self) -> list:
        return [variable for network in self.couplings for variable in network.trainable_variables]

    def trackables(self) -> dict[str, object]:
        return {**{network.name: network for network in self.couplings}, "optimizer": self.optimizer}

    def build_optimizers(self) -> None:
        self.optimizer.build(self.variables)

    # ------------------------------------------------------------------ the flow

    def _scale_and_shift(self, network: keras.Model, kept: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        raw_scale, shift = tf.split(network(kept), 2, axis=-1)
        return self.config.max_log_scale * tf.tanh(raw_scale), shift

    def forward(self, values: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Dequantised images in [0, 1) -> (codes, log |det| of the map per image)."""
        x = tf.reshape(tf.cast(values, tf.float32), [-1, self.dimensions]) - 0.5
        log_determinant = tf.zeros(tf.shape(x)[:1])
        for network, mask in zip(self.couplings, self.masks):
            log_scale, shift = self._scale_and_shift(network, x * mask)
            x = x * mask + (1.0 - mask) * (x * tf.exp(log_scale) + shift)
            log_determinant += tf.reduce_sum((1.0 - mask) * log_scale, axis=-1)
        return x, log_determinant

    def inverse(self, codes: tf.Tensor) -> tf.Tensor:
        """Codes -> values in the images' space (the exact inverse of ``forward``)."""
        x = tf.cast(codes, tf.float32)
        for network, mask in reversed(list(zip(self.couplings, self.masks))):
            log_scale, shift = self._scale_and_shift(network, x * mask)  # the kept half is unchanged: same output
            x = x * mask + (1.0 - mask) * ((x - shift) * tf.exp(-log_scale))
        return tf.reshape(x + 0.5, [-1, *self.image_shape])

    def log_density(self, values: tf.Tensor) -> tf.Tensor:
        """log p of dequantised values in [0, 1)^D, per image (nats)."""
        codes, log_determinant = self.forward(values)
        return -0.5 * tf.reduce_sum(tf.square(codes) + LOG_2PI, axis=-1) + log_determinant

    # ------------------------------------------------------------------ what genlab calls

    def log_likelihood(self, images: tf.Tensor, rng: tf.random.Generator, conditions: tf.Tensor | None = None) -> tf.Tensor:
        """log p of 8-bit images (values 0..255): dequantised as genlab's convention says, D log 256 added."""
        noise = rng.uniform(tf.shape(images))
        return self.log_density((tf.cast(images, tf.float32) + noise) / 256.0) - self.dimensions * math.log(256.0)

    def losses(self, images: tf.Tensor, rng: tf.random.Generator) -> dict[str, tf.Tensor]:
        pixel_values = tf.round(tf.cast(images, tf.float32) * 255.0)  # the trainer gives images in [0, 1]
        nll = -tf.reduce_mean(self.log_likelihood(pixel_values, rng))
        return {"loss": nll / self.dimensions, "bits_per_dim": nll / (self.dimensions * math.log(2.0))}

    def updates(self) -> tuple[Update, ...]:
        return (Update(self.losses, (Objective("loss", self.optimizer, lambda: self.variables),)),)

    def encode(self, images: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        """The code of images in [0, 1], each pixel at the middle of its 8-bit bin."""
        return self.forward((tf.round(tf.cast(images, tf.float32) * 255.0) + 0.5) / 256.0)[0]

    def decode(self, codes: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        return tf.clip_by_value(self.inverse(codes), 0.0, 1.0)  # display images in [0, 1]
