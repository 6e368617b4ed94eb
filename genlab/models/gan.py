"""GAN: a generator and a discriminator (a critic for the Wasserstein loss), one optimizer each.

``model.loss`` picks the objective (genlab.models.gan_losses): DCGAN's non-saturating
loss, SN-GAN's hinge loss or WGAN's critic loss; ``model.gradient_penalty`` adds
WGAN-GP's penalty, ``model.critic_steps`` trains the discriminator that many times per
generator step and ``model.discriminator.spectral_norm`` normalises its layers. The
trainer's weight average (``trainer.ema_decay``) follows the generator.
"""
from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from genlab.config.schema import GANConfig
from genlab.models import nets
from genlab.models.base import GenerativeModel, Objective, OptimizerFactory, Update, call_network, split_batch
from genlab.models.gan_losses import discriminator_loss, generator_loss, gradient_penalty
from genlab.models.weight_average import started_from


class GAN(GenerativeModel):
    name = "gan"
    pixel_range = (-1.0, 1.0)  # tanh generator
    has_encoder = False
    has_discriminator = True
    averaged_networks = ("generator",)

    def __init__(
        self,
        config: GANConfig,
        image_shape: tuple[int, int, int],
        make_optimizer: OptimizerFactory,
        condition_names: Sequence[str] = (),
    ):
        self.config = config
        self.latent_dim = config.latent_dim
        self.image_shape = image_shape
        condition = self._conditioned_on(config.condition, condition_names)
        self.generator = nets.decoder(config.latent_dim, image_shape, config.generator, "generator", condition)
        self.discriminator = nets.encoder(
            image_shape,
            config.discriminator,
            1,
            name="discriminator",
            condition=condition,
            projection=config.condition.discriminator == "projection",
        )
        self.generator_optimizer = make_optimizer()
        self.discriminator_optimizer = make_optimizer()
        self.metric_names = ("d_loss", "g_loss", "d_accuracy_real", "d_accuracy_fake")
        if config.gradient_penalty > 0:
            self.metric_names += ("gradient_penalty",)
        self._condition = condition

    def trackables(self) -> dict[str, object]:
        return {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "generator_optimizer": self.generator_optimizer,
            "discriminator_optimizer": self.discriminator_optimizer,
        }

    def copy_network(self, name: str) -> keras.Model:
        """The generator's average is built as runs before trainer.ema_decay built it, so their checkpoints load."""
        if name != "generator":
            return super().copy_network(name)
        copy = nets.decoder(self.latent_dim, self.image_shape, self.config.generator, "generator_ema", self._condition)
        return started_from(copy, self.generator)

    def build_optimizers(self) -> None:
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)

    def updates(self) -> tuple[Update, ...]:
        """critic_steps - 1 discriminator updates alone (fresh noise each), then one of both networks
        from the same forward pass, as with one critic step."""
        critic = Objective("d_loss", self.discriminator_optimizer, lambda: self.discriminator.trainable_variables)
        generator = Objective("g_loss", self.generator_optimizer, lambda: self.generator.trainable_variables)
        return (Update(self._metrics, (critic,)),) * (self.config.critic_steps - 1) + (
            Update(self._metrics, (critic, generator)),
        )

    def _metrics(self, batch: Any, rng: tf.random.Generator) -> dict[str, tf.Tensor]:
        """Both losses and the discriminator's accuracies on the batch's images and as many fakes.

        A conditional GAN's fakes get the conditions of the real images beside them, so both
        halves of the discriminator's batch have the same mix of conditions.
        """
        images, conditions = split_batch(batch)
        count = tf.shape(images)[0]
        codes = rng.normal([count, self.latent_dim])
        fakes = tf.tanh(call_network(self.generator, codes, conditions, training=True))
        real_logits = call_network(self.discriminator, images, conditions, training=True)
        fake_logits = call_network(self.discriminator, fakes, conditions, training=True)
        loss = self.config.loss
        metrics = {
            "d_loss": discriminator_loss(loss, real_logits, fake_logits, self.config.label_smoothing),
            "g_loss": generator_loss(loss, fake_logits),
            "d_accuracy_real": tf.reduce_mean(tf.cast(real_logits > 0, tf.float32)),
            "d_accuracy_fake": tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32)),
        }
        if self.config.gradient_penalty > 0:
            mix = rng.uniform([count, 1, 1, 1], dtype=fakes.dtype)
            critic = lambda mixed: call_network(self.discriminator, mixed, conditions, training=True)  # noqa: E731
            scale = self.discriminator_optimizer.scale_loss(tf.constant(1.0))  # 1 unless mixed_float16
            penalty = gradient_penalty(critic, tf.cast(images, fakes.dtype), fakes, mix, tf.stop_gradient(scale))
            metrics["gradient_penalty"] = penalty
            metrics["d_loss"] += self.config.gradient_penalty * penalty
        return metrics

    def discriminate(self, images: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        """The discriminator's logits (real > 0) for images in the model's pixel range."""
        return call_network(self.discriminator, images, conditions, training=False)

    def batch_norm_pass(self, batch: Any, rng: np.random.Generator) -> None:
        """The sampling generator on prior codes, and the discriminator on the images and on those fakes
        (separately, as in training), under the images' conditions."""
        images, conditions = split_batch(batch)
        codes = self.prior_codes(rng, int(images.shape[0]))
        fakes = tf.tanh(call_network(self.generator, codes, conditions, training=False))
        self.discriminate(images, conditions)
        self.discriminate(fakes, conditions)

    def decode(self, codes: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        return self.to_display(tf.tanh(call_network(self.generator, codes, conditions, training=False)))
