"""The GAN objectives genlab trains with: the losses of each network, and the gradient penalty.

Every function takes the discriminator's raw outputs (logits; for the Wasserstein loss
the critic's scores) and returns a mean over the batch.
"""
from __future__ import annotations

from typing import Callable

import tensorflow as tf


def _bce(targets: float, logits: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), targets), logits=logits)
    )


def discriminator_loss(kind: str, real: tf.Tensor, fake: tf.Tensor, label_smoothing: float = 0.0) -> tf.Tensor:
    """non_saturating: -log D(x) - log(1 - D(G(z))) (real targets 1 - label_smoothing); hinge:
    max(0, 1 - D(x)) + max(0, 1 + D(G(z))); wasserstein: D(G(z)) - D(x)."""
    if kind == "non_saturating":
        return _bce(1.0 - label_smoothing, real) + _bce(0.0, fake)
    if kind == "hinge":
        return tf.reduce_mean(tf.nn.relu(1.0 - real)) + tf.reduce_mean(tf.nn.relu(1.0 + fake))
    if kind == "wasserstein":
        return tf.reduce_mean(fake) - tf.reduce_mean(real)
    raise ValueError(f"no GAN loss {kind!r}")


def generator_loss(kind: str, fake: tf.Tensor) -> tf.Tensor:
    """non_saturating: -log D(G(z)); hinge and wasserstein: -D(G(z))."""
    if kind == "non_saturating":
        return _bce(1.0, fake)
    if kind in ("hinge", "wasserstein"):
        return -tf.reduce_mean(fake)
    raise ValueError(f"no GAN loss {kind!r}")


def gradient_penalty(
    critic: Callable[[tf.Tensor], tf.Tensor],
    real: tf.Tensor,
    fake: tf.Tensor,
    mix: tf.Tensor,
    loss_scale: tf.Tensor | float = 1.0,
) -> tf.Tensor:
    """WGAN-GP's mean of (||grad_x critic(x)|| - 1)^2 at x = mix * real + (1 - mix) * fake, per image.

    ``mix`` holds one weight in [0, 1] per image (shape [batch, 1, 1, 1]). The gradient is
    taken inside the caller's tape, so the penalty's own gradient reaches the critic's weights.
    Under mixed_float16 the scores are multiplied by ``loss_scale`` (the optimizer's) before
    the gradient and the gradient divided by it after, so small float16 gradients survive.
    """
    mixed = mix * real + (1.0 - mix) * fake
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = critic(mixed) * loss_scale
    gradients = tf.cast(tape.gradient(scores, mixed), tf.float32) / tf.cast(loss_scale, tf.float32)
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=list(range(1, gradients.shape.rank))) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))
