"""The evidence lower bound and the importance-weighted negative log-likelihood of a VAE.

For an image x with posterior q(z|x) = N(mean, diag(exp(log_variance))), prior p(z) = N(0, I)
and decoder likelihood p(x|z), each of k posterior samples z_j gives a log importance weight

    log w_j = log p(x|z_j) + log p(z_j) - log q(z_j|x).

The ELBO estimate is the mean of the log w_j (beta = 1, whatever beta the model was trained
with); the importance-weighted bound (Burda et al. 2016) is log (1/k sum_j w_j). By Jensen's
inequality it is never below the ELBO of the same samples, and it approaches log p(x) as k grows,
so -IWAE is the negative log-likelihood estimate. Both are in nats per image.

Likelihoods of images in [0, 1], given the decoder's logits:
- ``bce``: Bernoulli with means sigmoid(logits) (the sigmoid cross-entropy the model trains with;
  an exact likelihood of binarized images, and the usual continuous relaxation for grey levels);
- ``mse``: Gaussian with means sigmoid(logits) and the fixed variance 1/2, the variance under which
  the model's summed squared error plus KL is exactly the negative ELBO (up to a constant).
  This is a density of intensities in [0, 1]: it compares mse runs with each other, not with
  bce runs or with published bits per dimension of 8-bit images.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import tensorflow as tf

LIKELIHOODS = ("bce", "mse")
GAUSSIAN_VARIANCE = 0.5
LOG_2PI = math.log(2.0 * math.pi)

# codes (M, D) [, conditions (M, C)] -> logits (M, H, W, C)
LogitsFunction = Callable[..., tf.Tensor]
# images [, conditions] -> (mean, log_variance)
PosteriorFunction = Callable[..., "tuple[tf.Tensor, tf.Tensor]"]


def log_likelihood_of_error(kind: str, error: tf.Tensor, values: int) -> tf.Tensor:
    """log p(x|z) of an image of ``values`` values from its reconstruction error summed over them: the
    Bernoulli NLL (bce) or the squared error (mse), as the models train with (genlab.models.ae)."""
    if kind == "bce":
        return -error
    if kind == "mse":
        return -error / (2.0 * GAUSSIAN_VARIANCE) - 0.5 * values * (LOG_2PI + math.log(GAUSSIAN_VARIANCE))
    raise ValueError(f"unknown likelihood {kind!r}; known: {', '.join(LIKELIHOODS)}")


def log_likelihood(images: tf.Tensor, logits: tf.Tensor, kind: str) -> tf.Tensor:
    """log p(x|z) per image (summed over its values) of images in [0, 1]."""
    images = tf.cast(images, tf.float32)
    logits = tf.cast(logits, tf.float32)
    if kind == "bce":
        per_value = tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=logits)
    elif kind == "mse":
        per_value = tf.square(images - tf.sigmoid(logits))
    else:
        raise ValueError(f"unknown likelihood {kind!r}; known: {', '.join(LIKELIHOODS)}")
    per_image = tf.reshape(per_value, [tf.shape(per_value)[0], -1])
    return log_likelihood_of_error(kind, tf.reduce_sum(per_image, axis=1), int(per_image.shape[1]))


def log_normal(values: tf.Tensor, mean: tf.Tensor, log_variance: tf.Tensor) -> tf.Tensor:
    """log N(values; mean, diag(exp(log_variance))), summed over the last axis."""
    return -0.5 * tf.reduce_sum(
        LOG_2PI + log_variance + tf.square(values - mean) * tf.exp(-log_variance), axis=-1
    )


def log_weights(
    images: tf.Tensor,
    mean: tf.Tensor,
    log_variance: tf.Tensor,
    noise: tf.Tensor,
    logits_of: LogitsFunction,
    kind: str,
    conditions: tf.Tensor | None = None,
) -> tf.Tensor:
    """log w of M (image, posterior, noise) rows: z = mean + exp(log_variance / 2) * noise; a conditional
    model's decoder also gets each row's condition (the likelihood is then log p(x | y))."""
    codes = mean + tf.exp(0.5 * log_variance) * noise
    prior = log_normal(codes, tf.zeros_like(codes), tf.zeros_like(codes))
    posterior = log_normal(codes, mean, log_variance)
    logits = logits_of(codes, conditions)
    return log_likelihood(images, logits, kind) + prior - posterior


def bounds_from_log_weights(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ELBO, importance-weighted bound) per image, from (N, k) log weights."""
    weights = np.asarray(weights, dtype=np.float64)
    largest = weights.max(axis=1, keepdims=True)
    log_mean = largest[:, 0] + np.log(np.mean(np.exp(weights - largest), axis=1))
    return weights.mean(axis=1), log_mean


def kl_to_standard_normal(mean: Any, log_variance: Any) -> Any:
    """KL(N(mean, exp(log_variance)) || N(0, I)) per latent dimension, of tensors or numpy arrays alike."""
    exp = np.exp if isinstance(log_variance, np.ndarray) else tf.exp
    return 0.5 * (mean * mean + exp(log_variance) - 1.0 - log_variance)


def kl_per_dimension(mean: np.ndarray, log_variance: np.ndarray) -> np.ndarray:
    """KL(q(z|x) || N(0, I)) of each latent dimension, averaged over the images: shape (D,)."""
    return kl_to_standard_normal(np.asarray(mean, np.float64), np.asarray(log_variance, np.float64)).mean(axis=0)


def importance_log_weights(
    images: "np.ndarray",
    prepare: Callable[[np.ndarray], tf.Tensor],
    posterior_of: PosteriorFunction,
    logits_of: LogitsFunction,
    kind: str,
    k: int,
    rng: np.random.Generator,
    batch_size: int = 256,
    conditions: np.ndarray | None = None,
) -> np.ndarray:
    """(N, k) log importance weights of N images, ``batch_size`` decoder rows per call.

    ``images`` is anything sliceable (a numpy array, on-disk records); ``prepare`` turns a slice
    into the model's input in [0, 1]. The noise comes from ``rng`` image by image, so the numbers
    do not depend on ``batch_size``. ``conditions`` (one row per image) go to a conditional
    model's posterior and decoder.
    """
    compiled = tf.function(
        lambda images, mean, log_variance, noise, given=None: log_weights(
            images, mean, log_variance, noise, logits_of, kind, given
        )
    )
    images_per_call = max(1, batch_size // k)
    blocks = []
    for start in range(0, len(images), batch_size):
        inputs = prepare(images[start : start + batch_size])
        given = None if conditions is None else tf.constant(conditions[start : start + batch_size], tf.float32)
        mean, log_variance = posterior_of(inputs, given)
        latent_dim = int(mean.shape[-1])
        noise = rng.standard_normal((int(mean.shape[0]), k, latent_dim)).astype(np.float32)
        for first in range(0, int(mean.shape[0]), images_per_call):
            last = min(first + images_per_call, int(mean.shape[0]))
            rows = tf.repeat(inputs[first:last], k, axis=0)
            arguments = [
                rows,
                tf.repeat(mean[first:last], k, axis=0),
                tf.repeat(log_variance[first:last], k, axis=0),
                tf.constant(noise[first:last].reshape(-1, latent_dim)),
            ]
            if given is not None:
                arguments.append(tf.repeat(given[first:last], k, axis=0))
            weights = compiled(*arguments)
            blocks.append(np.asarray(weights, dtype=np.float64).reshape(last - first, k))
    return np.concatenate(blocks) if blocks else np.zeros((0, k))
