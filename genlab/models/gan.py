"""DCGAN with the non-saturating loss and one optimizer per network."""
from __future__ import annotations

import tensorflow as tf

from genlab.config.schema import GANConfig
from genlab.models.micro_batches import mean_over_parts
from genlab.models import nets
from genlab.models.base import GenerativeModel, OptimizerFactory, apply_gradients, replica_share


def _bce(targets: float, logits: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), targets), logits=logits)
    )


class GAN(GenerativeModel):
    name = "gan"
    pixel_range = (-1.0, 1.0)  # tanh generator
    metric_names = ("d_loss", "g_loss", "d_accuracy_real", "d_accuracy_fake")
    has_encoder = False
    has_discriminator = True

    def __init__(self, config: GANConfig, image_shape: tuple[int, int, int], make_optimizer: OptimizerFactory):
        self.config = config
        self.latent_dim = config.latent_dim
        self.image_shape = image_shape
        self.generator = nets.decoder(config.latent_dim, image_shape, config.generator, name="generator")
        self.discriminator = nets.encoder(image_shape, config.discriminator, 1, name="discriminator")
        self.generator_optimizer = make_optimizer()
        self.discriminator_optimizer = make_optimizer()

    def trackables(self) -> dict[str, object]:
        return {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "generator_optimizer": self.generator_optimizer,
            "discriminator_optimizer": self.discriminator_optimizer,
        }

    def build_optimizers(self) -> None:
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)

    def train_step(self, images: tf.Tensor, rng: tf.random.Generator) -> dict[str, tf.Tensor]:
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            metrics = mean_over_parts(lambda part: self._metrics(part, rng), images, self.micro_batch_sizes)
            scaled_d_loss = self.discriminator_optimizer.scale_loss(replica_share(metrics["d_loss"]))
            scaled_g_loss = self.generator_optimizer.scale_loss(replica_share(metrics["g_loss"]))
        apply_gradients(
            self.discriminator_optimizer, discriminator_tape, scaled_d_loss, self.discriminator.trainable_variables
        )
        apply_gradients(self.generator_optimizer, generator_tape, scaled_g_loss, self.generator.trainable_variables)
        return metrics

    def _metrics(self, images: tf.Tensor, rng: tf.random.Generator) -> dict[str, tf.Tensor]:
        """Both losses and the discriminator's accuracies on ``images`` and as many fakes."""
        codes = rng.normal([tf.shape(images)[0], self.latent_dim])
        fakes = tf.tanh(self.generator(codes, training=True))
        real_logits = self.discriminator(images, training=True)
        fake_logits = self.discriminator(fakes, training=True)
        return {
            "d_loss": _bce(1.0 - self.config.label_smoothing, real_logits) + _bce(0.0, fake_logits),
            "g_loss": _bce(1.0, fake_logits),  # non-saturating: maximise log D(G(z))
            "d_accuracy_real": tf.reduce_mean(tf.cast(real_logits > 0, tf.float32)),
            "d_accuracy_fake": tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32)),
        }

    def discriminate(self, images: tf.Tensor) -> tf.Tensor:
        """The discriminator's logits (real > 0) for images in the model's pixel range."""
        return self.discriminator(images, training=False)

    def decode(self, codes: tf.Tensor) -> tf.Tensor:
        return self.to_display(tf.tanh(self.generator(codes, training=False)))
