"""The VQ-VAE's quantiser and PixelCNN prior against hand computations."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from genlab.config.schema import ConvNetConfig, DeconvNetConfig, PixelCNNConfig, VQVAEConfig  # noqa: E402
from genlab.errors import GenlabError  # noqa: E402
from genlab.models.pixelcnn import pixelcnn, sample_indices  # noqa: E402
from genlab.models.quantizer import LAPLACE_EPSILON, VectorQuantizer, perplexity  # noqa: E402
from genlab.training.update import run_phase_step  # noqa: E402

CODEBOOK = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], np.float32)
VECTORS = np.array([[[0.2, -0.1], [0.9, 0.3]], [[0.1, 1.6], [0.6, 0.1]]], np.float32)  # a 2x2 grid of 2-vectors
NEAREST = np.array([[0, 1], [2, 1]])  # by hand: squared distances to each entry


def quantizer(update: str = "loss") -> VectorQuantizer:
    layer = VectorQuantizer(3, 2, update=update, decay=0.9)
    layer.codebook.assign(CODEBOOK)
    return layer


def test_nearest_entries_losses_and_straight_through_gradients() -> None:
    layer = quantizer()
    vectors = tf.Variable(VECTORS)
    weights = tf.constant(np.arange(8, dtype=np.float32).reshape(2, 2, 2))
    with tf.GradientTape(persistent=True) as tape:
        quantized = layer.discretize(vectors)
        decoded = tf.reduce_sum(quantized.codes * weights)  # a stand-in for the decoder
    np.testing.assert_array_equal(quantized.indices.numpy(), NEAREST)
    entries = CODEBOOK[NEAREST]
    np.testing.assert_allclose(quantized.codes.numpy(), entries)
    squared = np.mean((VECTORS - entries) ** 2)
    assert float(quantized.codebook_loss) == pytest.approx(squared) and float(quantized.commitment_loss) == pytest.approx(squared)
    np.testing.assert_allclose(quantized.usage.numpy(), [1 / 4, 2 / 4, 1 / 4])
    # straight through: the decoder's gradient reaches the encoder's vectors unchanged, not the codebook
    np.testing.assert_allclose(tape.gradient(decoded, vectors).numpy(), weights.numpy())
    assert tape.gradient(decoded, layer.codebook) is None
    # the codebook loss moves each entry towards its vectors: d/de_k = sum over its vectors of 2 (e_k - z) / (N * D)
    expected = np.zeros_like(CODEBOOK)
    for vector, index in zip(VECTORS.reshape(-1, 2), NEAREST.reshape(-1)):
        expected[index] += 2 * (CODEBOOK[index] - vector) / VECTORS.size
    np.testing.assert_allclose(tape.gradient(quantized.codebook_loss, layer.codebook).numpy(), expected, rtol=1e-6)
    # the commitment loss moves only the encoder's vectors
    assert tape.gradient(quantized.commitment_loss, layer.codebook) is None
    np.testing.assert_allclose(tape.gradient(quantized.commitment_loss, vectors).numpy(), 2 * (VECTORS - entries) / VECTORS.size, rtol=1e-6)


def test_moving_average_codebook_update() -> None:
    layer = quantizer("ema")
    quantized = layer.discretize(tf.constant(VECTORS))
    layer.update_averages(quantized.usage, quantized.entry_means, 4.0)
    counts = np.array([1.0, 2.0, 1.0])
    sums = np.zeros_like(CODEBOOK)
    for vector, index in zip(VECTORS.reshape(-1, 2), NEAREST.reshape(-1)):
        sums[index] += vector
    cluster, entry_sums = 0.1 * counts, 0.1 * sums  # decay 0.9 from zeros
    smoothed = (cluster + LAPLACE_EPSILON) / (cluster.sum() + 3 * LAPLACE_EPSILON) * cluster.sum()
    np.testing.assert_allclose(layer.codebook.numpy(), entry_sums / smoothed[:, None], rtol=1e-5)
    np.testing.assert_allclose(layer.codebook.numpy(), sums / counts[:, None], rtol=1e-3)  # each entry: its vectors' mean


def test_perplexity_counts_the_entries_in_use() -> None:
    assert float(perplexity(tf.constant([0.25] * 4))) == pytest.approx(4.0)
    assert float(perplexity(tf.constant([1.0, 0.0, 0.0]))) == pytest.approx(1.0, abs=1e-6)


def test_the_prior_never_sees_the_position_it_predicts_or_any_after_it() -> None:
    height, width, entries = 4, 5, 3
    network = pixelcnn((height, width), entries, PixelCNNConfig(filters=8, kernel_size=5, residual_blocks=2))
    rng = np.random.default_rng(0)
    one_hot = tf.Variable(tf.one_hot(rng.integers(0, entries, (2, height, width)), entries))
    for row in range(height):
        for column in range(width):
            with tf.GradientTape() as tape:
                logits = network(one_hot, training=False)[:, row, column]
            seen = np.abs(tape.gradient(logits, one_hot).numpy()).sum(axis=(0, 3))  # (H, W)
            order = np.arange(height * width).reshape(height, width)
            position = order[row, column]
            assert np.all(seen[order >= position] == 0), (row, column)
            # it does see its neighbours above and to the left (not everything before it: PixelCNN's blind spot)
            if row > 0:
                assert seen[row - 1, column] > 0, (row, column)
            if column > 0:
                assert seen[row, column - 1] > 0, (row, column)


def tiny_vqvae(prior_steps: int = 3):
    from genlab.config.schema import AdamConfig
    from genlab.models.optimizers import build_optimizer
    from genlab.models.vqvae import VQVAE

    config = VQVAEConfig(
        latent_dim=2,
        num_embeddings=8,
        encoder=ConvNetConfig(widths=[4, 8]),
        decoder=DeconvNetConfig(widths=[8, 4]),
        prior=PixelCNNConfig(steps=prior_steps, filters=8, kernel_size=3, residual_blocks=1),
    )
    model = VQVAE(config, (28, 28, 1), lambda: build_optimizer(AdamConfig()))
    model.build_optimizers()
    return model


def test_sampling_needs_a_trained_prior_then_gives_images_of_the_right_shape() -> None:
    model = tiny_vqvae()
    assert model.grid_shape == (7, 7, 2) and model.latent_dim == 98
    assert [phase.name for phase in model.phases(5)] == ["vqvae", "prior"]
    with pytest.raises(GenlabError, match="no trained prior"):
        model.prior_codes(np.random.default_rng(0), 2)
    images = tf.random.uniform([4, 28, 28, 1], seed=1)
    rng = tf.random.Generator.from_seed(2)
    autoencoder, prior = model.phases(5)
    assert float(run_phase_step(autoencoder, images, rng, ())["perplexity"]) >= 1.0
    assert np.isfinite(float(run_phase_step(prior, images, rng, ())["prior_loss"]))
    assert model.prior_ready()
    codes = model.prior_codes(np.random.default_rng(3), 3, temperature=0.8)
    assert codes.shape == (3, 98)
    entries = model.quantizer.codebook.numpy()
    assert all(np.isclose(entries, vector).all(axis=1).any() for vector in codes.reshape(-1, 2))  # codebook entries
    drawn = model.decode(tf.constant(codes)).numpy()
    assert drawn.shape == (3, 28, 28, 1) and 0.0 <= drawn.min() and drawn.max() <= 1.0
    again = model.prior_codes(np.random.default_rng(3), 3, temperature=0.8)
    np.testing.assert_array_equal(codes, again)  # the same seed draws the same grids
    np.testing.assert_array_equal(
        sample_indices(model.prior, np.random.default_rng(4), 2), sample_indices(model.prior, np.random.default_rng(4), 2)
    )
    reconstructed = model.decode(model.encode(images)).numpy()
    assert reconstructed.shape == (4, 28, 28, 1)


def test_the_prior_trains_as_long_as_the_vqvae_unless_told_and_not_at_all_with_zero() -> None:
    assert [(phase.name, phase.steps) for phase in tiny_vqvae(prior_steps=None).phases(5)] == [("vqvae", 5), ("prior", 5)]
    assert [(phase.name, phase.steps) for phase in tiny_vqvae(prior_steps=3).phases(5)] == [("vqvae", 5), ("prior", 3)]
    without = tiny_vqvae(prior_steps=0)
    assert [phase.name for phase in without.phases(5)] == ["vqvae"] and not without.prior_ready()
