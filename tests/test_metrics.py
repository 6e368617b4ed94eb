"""The metric code against values worked out independently: closed forms, quadrature, numpy by hand."""
from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

from genlab.errors import GenlabError
from genlab.metrics.elbo import (
    GAUSSIAN_VARIANCE,
    bounds_from_log_weights,
    importance_log_weights,
    kl_per_dimension,
    log_likelihood,
)
from genlab.metrics.features import (
    INCEPTION_FILES,
    InceptionFeatures,
    classifier_cache_dir,
    classifier_key,
    dataset_labels,
    find_inception_weights,
)
from genlab.metrics.frechet import (
    frechet_distance,
    frechet_distance_of,
    kernel_inception_distance,
    polynomial_mmd2,
)
from genlab.metrics.reconstruction import mse_per_image, psnr_per_image
from genlab.render.grid import grid_layout
from genlab.evaluate.report import contact_sheet, markdown_table, natural, parse_overrides, varying_keys


def random_covariance(rng: np.random.Generator, dimension: int) -> np.ndarray:
    factor = rng.standard_normal((dimension, dimension))
    return factor @ factor.T + 0.1 * np.eye(dimension)


# ----------------------------------------------------------------------------- Fréchet distance


def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form() -> None:
    # commuting covariances: ||m1 - m2||^2 + sum (s1 - s2)^2 with s the standard deviations
    mean1, mean2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    std1, std2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    expected = 1.0 + 0.0 + 4.0 + (2.0**2 + 1.0**2 + 0.0)
    assert frechet_distance(mean1, np.diag(std1**2), mean2, np.diag(std2**2)) == pytest.approx(expected, rel=1e-10)
    assert frechet_distance(mean1, np.diag(std1**2), mean1, np.diag(std1**2)) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_of_full_covariances_matches_the_eigenvalues_of_their_product() -> None:
    # tr((S1 S2)^(1/2)) = sum of the square roots of the (real, positive) eigenvalues of S1 S2
    rng = np.random.default_rng(0)
    first, second = random_covariance(rng, 5), random_covariance(rng, 5)
    mean1, mean2 = rng.standard_normal(5), rng.standard_normal(5)
    trace_sqrt = np.sum(np.sqrt(np.linalg.eigvals(first @ second).real))
    expected = np.sum((mean1 - mean2) ** 2) + np.trace(first) + np.trace(second) - 2 * trace_sqrt
    assert frechet_distance(mean1, first, mean2, second) == pytest.approx(expected, rel=1e-9)
    # symmetric in its two Gaussians
    assert frechet_distance(mean2, second, mean1, first) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_samples_approaches_that_of_their_gaussians() -> None:
    rng = np.random.default_rng(1)
    mean1, mean2 = np.array([0.0, 0.0, 0.0]), np.array([0.5, -0.5, 1.0])
    first, second = random_covariance(rng, 3), random_covariance(rng, 3)
    samples1 = rng.multivariate_normal(mean1, first, size=200_000)
    samples2 = rng.multivariate_normal(mean2, second, size=200_000)
    expected = frechet_distance(mean1, first, mean2, second)
    assert frechet_distance_of(samples1, samples2) == pytest.approx(expected, rel=0.02)


def test_frechet_distance_takes_singular_covariances() -> None:
    rng = np.random.default_rng(2)
    few = rng.standard_normal((5, 20))  # fewer vectors than features
    distance = frechet_distance_of(few, few + 1.0)
    assert distance == pytest.approx(20.0, rel=1e-6)  # a shift by 1 in 20 dimensions, same covariance


# ----------------------------------------------------------------------------- KID


def test_polynomial_mmd2_matches_a_loop_over_pairs() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((6, 4)), rng.standard_normal((6, 4)) + 0.3

    def kernel(a: np.ndarray, b: np.ndarray) -> float:
        return (a @ b / 4 + 1.0) ** 3

    m = len(x)
    within_x = sum(kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    within_y = sum(kernel(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    across = sum(kernel(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    assert polynomial_mmd2(x, y) == pytest.approx(within_x + within_y - 2 * across, rel=1e-10)


def test_kid_of_the_same_distribution_is_near_zero_and_of_shifted_sets_positive() -> None:
    rng = np.random.default_rng(4)
    real = rng.standard_normal((1000, 16))
    same = rng.standard_normal((1000, 16))
    shifted = rng.standard_normal((1000, 16)) + 0.5
    identical, identical_std = kernel_inception_distance(real, real, np.random.default_rng(0), 20, 300)
    near, near_std = kernel_inception_distance(real, same, np.random.default_rng(0), 20, 300)
    far, far_std = kernel_inception_distance(real, shifted, np.random.default_rng(0), 20, 300)
    assert abs(identical) < 3 * identical_std + 1e-3
    assert abs(near) < 3 * near_std + 1e-3
    assert far > 0 and far > 10 * far_std and far > 20 * abs(near)
    # seeded: the same generator state gives the same numbers
    assert kernel_inception_distance(real, shifted, np.random.default_rng(0), 20, 300) == (far, far_std)


def test_kid_subsets_are_at_most_half_the_sets_so_their_spread_is_not_zero() -> None:
    rng = np.random.default_rng(5)
    _, spread = kernel_inception_distance(rng.standard_normal((40, 8)), rng.standard_normal((40, 8)), rng, 10, 1000)
    assert spread > 0


# ----------------------------------------------------------------------------- reconstruction


def test_mse_and_psnr_of_known_errors() -> None:
    originals = np.zeros((2, 4, 4, 1))
    rebuilt = np.stack([np.full((4, 4, 1), 0.1), np.zeros((4, 4, 1))])
    mse = mse_per_image(originals, rebuilt)
    np.testing.assert_allclose(mse, [0.01, 0.0], atol=1e-15)
    psnr = psnr_per_image(mse)
    assert psnr[0] == pytest.approx(20.0)
    assert psnr[1] == pytest.approx(100.0)  # a perfect reconstruction counts as 100 dB


# ----------------------------------------------------------------------------- ELBO and NLL


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def log_normal_np(values: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    return np.sum(-0.5 * np.log(2 * np.pi * variance) - (values - mean) ** 2 / (2 * variance), axis=-1)


class LinearDecoder:
    """Fixed decoder: logits = codes @ weights + bias, reshaped to images."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, image_shape: tuple[int, int, int]):
        self.weights, self.bias, self.image_shape = weights, bias, image_shape

    def numpy(self, codes: np.ndarray) -> np.ndarray:
        return codes @ self.weights + self.bias

    def __call__(self, codes: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        logits = tf.matmul(codes, tf.constant(self.weights, tf.float32)) + tf.constant(self.bias, tf.float32)
        return tf.reshape(logits, [-1, *self.image_shape])


def toy_posterior(images: tf.Tensor, conditions: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """A fixed 'encoder': mean and log-variance read off the first pixels."""
    flat = tf.reshape(tf.cast(images, tf.float32), [tf.shape(images)[0], -1])
    return flat[:, :2] * 2.0 - 1.0, flat[:, 2:4] - 1.0


def test_log_weights_match_a_hand_computation_in_numpy() -> None:
    rng = np.random.default_rng(6)
    images = rng.random((5, 2, 2, 1)).astype(np.float32)  # grey levels: the Bernoulli cross-entropy
    decoder = LinearDecoder(rng.standard_normal((2, 4)), rng.standard_normal(4), (2, 2, 1))
    k = 7
    weights = importance_log_weights(
        images, tf.constant, toy_posterior, decoder, "bce", k, np.random.default_rng(11), batch_size=256
    )

    flat = images.reshape(5, 4).astype(np.float64)
    mean, log_variance = flat[:, :2] * 2 - 1, flat[:, 2:4] - 1
    noise = np.random.default_rng(11).standard_normal((5, k, 2)).astype(np.float32).astype(np.float64)
    codes = mean[:, None] + np.exp(0.5 * log_variance)[:, None] * noise  # (5, k, 2)
    probabilities = sigmoid(decoder.numpy(codes))  # (5, k, 4)
    log_px_given_z = np.sum(
        flat[:, None] * np.log(probabilities) + (1 - flat[:, None]) * np.log(1 - probabilities), axis=-1
    )
    log_prior = log_normal_np(codes, 0.0, np.ones(2))
    log_posterior = log_normal_np(codes, mean[:, None], np.exp(log_variance)[:, None])
    expected = log_px_given_z + log_prior - log_posterior
    np.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-4)

    elbo, bound = bounds_from_log_weights(weights)
    np.testing.assert_allclose(elbo, expected.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(bound, np.log(np.mean(np.exp(expected), axis=1)), rtol=1e-5)
    assert np.all(-bound <= -elbo)  # IWAE NLL <= -ELBO, image by image (Jensen)

    # the noise is drawn image by image: the batch size does not change the numbers
    small_batches = importance_log_weights(
        images, tf.constant, toy_posterior, decoder, "bce", k, np.random.default_rng(11), batch_size=2
    )
    np.testing.assert_allclose(small_batches, weights, rtol=1e-6)


def test_one_importance_sample_gives_the_elbo_itself() -> None:
    weights = np.random.default_rng(8).standard_normal((10, 1)) * 5
    elbo, bound = bounds_from_log_weights(weights)
    np.testing.assert_allclose(bound, elbo)


def test_gaussian_likelihood_of_mse_models_has_the_fixed_variance() -> None:
    rng = np.random.default_rng(9)
    images = rng.random((3, 2, 2, 1))
    logits = rng.standard_normal((3, 2, 2, 1))
    got = log_likelihood(tf.constant(images, tf.float32), tf.constant(logits, tf.float32), "mse").numpy()
    means = sigmoid(logits).reshape(3, -1)
    expected = log_normal_np(images.reshape(3, -1), means, np.full(4, GAUSSIAN_VARIANCE))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # -log p = summed squared error + constant: the mse model's training loss is its negative ELBO
    np.testing.assert_allclose(
        -got - np.sum((images.reshape(3, -1) - means) ** 2, axis=1), 2 * math.log(math.pi), rtol=1e-5
    )


def test_importance_weighted_nll_approaches_the_true_likelihood_found_by_quadrature() -> None:
    # one latent dimension: log p(x) = log of an integral over z, done on a fine grid
    rng = np.random.default_rng(10)
    pixels = 6
    decoder = LinearDecoder(rng.standard_normal((1, pixels)) * 2.0, rng.standard_normal(pixels), (1, pixels, 1))
    image = (rng.random(pixels) < 0.5).astype(np.float64)
    grid = np.linspace(-12, 12, 200_001)
    probabilities = sigmoid(decoder.numpy(grid[:, None]))
    joint = np.exp(
        np.sum(image * np.log(probabilities) + (1 - image) * np.log(1 - probabilities), axis=1)
        - 0.5 * grid**2 - 0.5 * np.log(2 * np.pi)
    )
    evidence = np.trapezoid(joint, grid)
    log_px = np.log(evidence)
    posterior_mean = np.trapezoid(grid * joint, grid) / evidence
    posterior_variance = np.trapezoid((grid - posterior_mean) ** 2 * joint, grid) / evidence

    def nll_and_negative_elbo(mean: float, variance: float, k: int) -> tuple[float, float]:
        def posterior(images: tf.Tensor, conditions: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
            count = tf.shape(images)[0]
            return tf.fill([count, 1], float(mean)), tf.fill([count, 1], float(np.log(variance)))

        images = np.tile(image.reshape(1, 1, pixels, 1), (20, 1, 1, 1)).astype(np.float32)
        weights = importance_log_weights(images, tf.constant, posterior, decoder, "bce", k, np.random.default_rng(0), 4096)
        elbo, bound = bounds_from_log_weights(weights)
        return -float(bound.mean()), -float(elbo.mean())

    # a good posterior: the bound is tight already; a poor one: IWAE still gets close, the ELBO does not
    nll, negative_elbo = nll_and_negative_elbo(posterior_mean, posterior_variance, 500)
    assert nll == pytest.approx(-log_px, abs=0.02)
    assert negative_elbo >= -log_px - 0.02
    poor = (posterior_mean + 1.0, posterior_variance * 3.0)
    nll_1, negative_elbo_1 = nll_and_negative_elbo(*poor, 1)
    nll_500, negative_elbo_500 = nll_and_negative_elbo(*poor, 500)
    assert nll_1 == pytest.approx(negative_elbo_1)  # k = 1: the same number
    assert nll_500 < negative_elbo_500 - 0.2  # the importance-weighted bound is far tighter
    assert nll_500 == pytest.approx(-log_px, abs=0.05)
    assert negative_elbo_500 > -log_px  # and the ELBO stays a lower bound of log p(x)


def test_kl_per_dimension_and_its_collapsed_dimensions() -> None:
    mean = np.array([[1.0, 0.0], [-1.0, 0.0]])
    log_variance = np.array([[0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(kl_per_dimension(mean, log_variance), [0.5, 0.0])


# ----------------------------------------------------------------------------- feature spaces


def image_set(labels: np.ndarray | None = None, **extra: object) -> SimpleNamespace:
    rng = np.random.default_rng(0)
    return SimpleNamespace(
        name="toy",
        train_images=rng.integers(0, 256, (12, 8, 8, 1), dtype=np.uint8),
        test_images=rng.integers(0, 256, (6, 8, 8, 1), dtype=np.uint8),
        train_labels=labels,
        test_labels=None if labels is None else labels[:6],
        class_names=None,
        image_shape=(8, 8, 1),
        **extra,
    )


def test_labels_of_classes_attributes_and_none() -> None:
    labels = np.arange(12) % 3
    classes = dataset_labels(image_set(labels))
    assert classes.kind == "classes" and classes.outputs == 3
    attributes = np.random.default_rng(0).integers(0, 2, (12, 5), dtype=np.uint8)
    multi = dataset_labels(
        image_set(labels, attribute_names=list("abcde"), train_attributes=attributes, test_attributes=attributes[:6])
    )
    assert multi.kind == "attributes" and multi.outputs == 5 and multi.train.dtype == np.float32
    assert dataset_labels(image_set(None)) is None


def test_classifier_key_names_the_data_set_and_changes_with_its_images() -> None:
    data = image_set(np.arange(12) % 3)
    key = classifier_key(data, dataset_labels(data))
    assert key.startswith("toy-8x8x1-")
    assert classifier_key(data, dataset_labels(data)) == key
    data.train_images = data.train_images.copy()
    data.train_images[0] ^= 255
    assert classifier_key(data, dataset_labels(data)) != key


def test_classifier_cache_beside_the_data_else_in_the_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "data").mkdir()
    beside = classifier_cache_dir(SimpleNamespace(path=str(tmp_path / "data"), cache_dir=None))
    assert beside == tmp_path / "data" / ".genlab-cache" / "classifiers"
    assert classifier_cache_dir(SimpleNamespace(path=None, cache_dir=None)) == tmp_path / "xdg" / "genlab" / "classifiers"


def test_inception_weights_are_looked_for_locally_and_never_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert find_inception_weights(None) is None
    with pytest.raises(GenlabError, match="inception_weights=.*no such file"):
        find_inception_weights(str(tmp_path / "missing.h5"))
    cached = tmp_path / "keras" / "models" / INCEPTION_FILES[0]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert find_inception_weights(None) == cached


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras' own numpy 2 notice, once per layer
def test_inception_features_from_a_local_weights_file(tmp_path: Path) -> None:
    import keras

    weights = tmp_path / "inception.weights.h5"
    keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg").save_weights(weights)
    features = InceptionFeatures(weights, batch_size=4).features(np.random.default_rng(0).random((3, 28, 28, 1)))
    assert features.shape == (3, 2048) and np.all(np.isfinite(features))


# ----------------------------------------------------------------------------- report helpers


def test_varying_overrides_and_their_natural_order() -> None:
    runs = [parse_overrides(["model=vae", "beta=16"]), parse_overrides(["model=vae", "beta=4", "seed=1"])]
    assert varying_keys(runs) == ["beta", "seed"]
    assert sorted(["16", "4", "1.5"], key=natural) == ["1.5", "4", "16"]


def test_markdown_table_and_contact_sheet_geometry() -> None:
    text = markdown_table(["run", "beta", "nll"], [["a", "1", 80.123456], ["b", "4", None]])
    assert text.splitlines()[2] == "| [1](<a>) | 1 | 80.12 |"
    assert text.splitlines()[3] == "| [2](<b>) | 4 |  |"
    grids = [np.zeros((30, 40, 1), np.uint8), np.zeros((34, 38, 3), np.uint8)]
    sheet = contact_sheet(grids, None, 2)
    layout = grid_layout(2, (34, 40), 2, 2)
    assert sheet.shape == (layout.height, layout.width, 3)
