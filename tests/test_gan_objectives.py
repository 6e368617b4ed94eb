"""The GAN objectives against hand computations, and the network keys the presets need."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from genlab.config.schema import ConvNetConfig, DeconvNetConfig, GANConfig  # noqa: E402
from genlab.errors import ConfigError  # noqa: E402
from genlab.models import kernels, nets  # noqa: E402
from genlab.models.gan_losses import discriminator_loss, generator_loss, gradient_penalty  # noqa: E402
from genlab.models.weight_average import WeightAverage  # noqa: E402
from genlab.training import flops  # noqa: E402
from genlab.training.update import run_phase_step  # noqa: E402

REAL = np.array([[2.0], [-0.5], [0.25]], np.float32)
FAKE = np.array([[-1.5], [0.5], [3.0]], np.float32)


def softplus(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(x))


@pytest.mark.parametrize(
    ("kind", "d_expected", "g_expected"),
    [
        # -log sigmoid(r) = softplus(-r); -log(1 - sigmoid(f)) = softplus(f)
        ("non_saturating", softplus(-REAL).mean() + softplus(FAKE).mean(), softplus(-FAKE).mean()),
        # mean(max(0, 1 - r)) = (0 + 1.5 + 0.75) / 3; mean(max(0, 1 + f)) = (0 + 1.5 + 4) / 3
        ("hinge", 2.25 / 3 + 5.5 / 3, -FAKE.mean()),
        ("wasserstein", FAKE.mean() - REAL.mean(), -FAKE.mean()),
    ],
)
def test_losses_match_hand_values(kind: str, d_expected: float, g_expected: float) -> None:
    assert float(discriminator_loss(kind, tf.constant(REAL), tf.constant(FAKE))) == pytest.approx(d_expected, rel=1e-6)
    assert float(generator_loss(kind, tf.constant(FAKE))) == pytest.approx(g_expected, rel=1e-6)


def test_label_smoothing_lowers_the_real_target() -> None:
    smoothed = float(discriminator_loss("non_saturating", tf.constant(REAL), tf.constant(FAKE), 0.1))
    # BCE with target t: softplus(-r) * t + softplus(r) * (1 - t)
    expected = (0.9 * softplus(-REAL) + 0.1 * softplus(REAL)).mean() + softplus(FAKE).mean()
    assert smoothed == pytest.approx(expected, rel=1e-6)


def test_gradient_penalty_of_a_linear_critic_is_its_closed_form() -> None:
    """critic(x) = <w, x> + b has gradient w everywhere: the penalty is (||w|| - 1)^2 at any mix, and
    its gradient for w is 2 (||w|| - 1) w / ||w||: the penalty's own gradient reaches the weights."""
    rng = np.random.default_rng(0)
    weights = tf.Variable(rng.normal(size=(1, 4, 4, 1)).astype(np.float32))
    bias = tf.Variable(0.3)
    real = tf.constant(rng.normal(size=(5, 4, 4, 1)).astype(np.float32))
    fake = tf.constant(rng.normal(size=(5, 4, 4, 1)).astype(np.float32))
    mix = tf.constant(rng.uniform(size=(5, 1, 1, 1)).astype(np.float32))

    def critic(images):
        return tf.reduce_sum(images * weights, axis=[1, 2, 3])[:, None] + bias

    with tf.GradientTape() as tape:
        penalty = gradient_penalty(critic, real, fake, mix)
    norm = np.linalg.norm(weights.numpy())
    assert float(penalty) == pytest.approx((norm - 1.0) ** 2, rel=1e-5)
    np.testing.assert_allclose(tape.gradient(penalty, weights).numpy(), 2 * (norm - 1) * weights.numpy() / norm, rtol=1e-5)


def tiny_discriminator(chosen: list[str], **keys) -> "tf.keras.Model":
    net = ConvNetConfig(widths=[4, 8], activation="leaky_relu", **keys)
    with kernels.hand_written_kernels(chosen):
        return nets.encoder((8, 8, 1), net, 1, name="discriminator")


def test_gradient_penalty_through_the_col2im_layers_is_keras_own() -> None:
    """The discriminator's first layer takes one channel: its input gradient is genlab's col2im, whose
    own gradient the penalty needs."""
    ours, keras_own = tiny_discriminator(["col2im"]), tiny_discriminator([])
    keras_own.set_weights(ours.get_weights())
    rng = np.random.default_rng(1)
    real, fake = (tf.constant(rng.normal(size=(6, 8, 8, 1)).astype(np.float32)) for _ in range(2))
    mix = tf.constant(rng.uniform(size=(6, 1, 1, 1)).astype(np.float32))
    results = []
    for network in (ours, keras_own):
        with tf.GradientTape() as tape:
            penalty = gradient_penalty(lambda images: network(images, training=True), real, fake, mix)
        gradients = tape.gradient(penalty, network.trainable_weights)
        # a bias moves the scores, not their gradient: it gets none
        results.append((float(penalty), [np.zeros(w.shape) if g is None else g.numpy() for g, w in zip(gradients, network.trainable_weights)]))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-5)
    for mine, theirs in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)
    assert np.abs(results[0][1][0]).sum() > 0  # the first (col2im) layer's kernel gets the penalty's gradient


def test_spectral_norm_brings_every_kernel_to_a_largest_singular_value_of_one() -> None:
    network = tiny_discriminator(list(kernels.HAND_WRITTEN_KERNELS), spectral_norm=True)
    images = tf.random.normal([4, 8, 8, 1], seed=2)
    for _ in range(40):  # one power iteration per training call
        network(images, training=True)
    wrapped = [layer for layer in network.layers if isinstance(layer, tf.keras.layers.SpectralNormalization)]
    assert len(wrapped) == 3  # two convs and the dense layer
    for layer in wrapped:
        kernel = layer.layer.kernel.numpy()
        largest = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert largest == pytest.approx(1.0, abs=0.02), layer.name
    # FLOPs count a wrapped layer as the layer it wraps
    assert flops.forward_flops(network) == flops.forward_flops(tiny_discriminator([]))


def test_network_keys_build_what_they_say() -> None:
    valid = nets.encoder((28, 28, 1), ConvNetConfig(widths=[32, 64], padding="valid"), 4, name="encoder")
    assert [layer.output.shape[1] for layer in valid.layers if "conv" in layer.name] == [13, 6]  # 28 -> 13 -> 6

    slope = nets.encoder((8, 8, 1), ConvNetConfig(widths=[4], activation="leaky_relu", leaky_slope=0.3), 2, name="d")
    assert [layer.negative_slope for layer in slope.layers if isinstance(layer, tf.keras.layers.LeakyReLU)] == [0.3]

    no_bias = nets.decoder(3, (8, 8, 1), DeconvNetConfig(widths=[4], output_bias=False), name="g")
    assert not no_bias.layers[-2].use_bias and no_bias.layers[-2].filters == 1

    dense_encoder = nets.encoder((28, 28, 1), ConvNetConfig(widths=[]), 64, name="e", output_activation="relu")
    dense_decoder = nets.decoder(64, (28, 28, 1), DeconvNetConfig(widths=[]), name="d")
    assert dense_encoder.count_params() == 784 * 64 + 64 and dense_decoder.count_params() == 64 * 784 + 784
    codes = dense_encoder(tf.random.normal([2, 28, 28, 1]))
    assert float(tf.reduce_min(codes)) >= 0.0  # relu codes
    assert dense_decoder(codes).shape == (2, 28, 28, 1)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: GANConfig(latent_dim=2, loss="hinge", label_smoothing=0.1), "model.label_smoothing applies to the non_saturating"),
        (lambda: GANConfig(latent_dim=2, loss="least_squares"), "model.loss must be one of non_saturating, hinge, wasserstein"),
        (lambda: GANConfig(latent_dim=2, critic_steps=0), "model.critic_steps must be >= 1"),
        (lambda: GANConfig(latent_dim=2, ema_decay=1.0), "model.ema_decay must be in (0, 1)"),
        (lambda: GANConfig(latent_dim=2, gradient_penalty=-1.0), "model.gradient_penalty must be >= 0"),
        (lambda: DeconvNetConfig(padding="valid").check("model.decoder"), "model.decoder.padding must be same"),
        (lambda: ConvNetConfig(leaky_slope=1.5).check("model.encoder"), "model.encoder.leaky_slope must be in [0, 1)"),
    ],
)
def test_bad_values_are_refused_naming_the_key(build, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        build()


def tiny_gan(**keys):
    from genlab.config.schema import AdamConfig
    from genlab.models.gan import GAN
    from genlab.models.optimizers import build_optimizer

    config = GANConfig(
        latent_dim=2,
        generator=DeconvNetConfig(widths=[4], reshape_channels=4, batch_norm=True),
        discriminator=ConvNetConfig(widths=[4]),
        **keys,
    )
    gan = GAN(config, (8, 8, 1), lambda: build_optimizer(AdamConfig()))
    gan.build_optimizers()
    return gan


def test_critic_steps_and_the_generator_average() -> None:
    """Three discriminator updates per generator update; the average moves by (1 - decay) towards the
    weights after each update (batch norm's statistics too), the decay ramping up as (1 + t) / (10 + t)
    after t updates, and it is what the model draws with."""
    decay = 0.9
    gan = tiny_gan(loss="wasserstein", gradient_penalty=10.0, critic_steps=3)
    weight_average = WeightAverage(gan, decay)
    generator_ema = weight_average.trackables()["generator_ema"]
    assert "gradient_penalty" in gan.metric_names
    images = tf.random.uniform([4, 8, 8, 1], -1.0, 1.0, seed=3)
    rng = tf.random.Generator.from_seed(4)
    average = [weight.numpy() for weight in generator_ema.weights]
    (phase,) = gan.phases(2)
    for updates in (1, 2):
        metrics = run_phase_step(phase, images, rng, ())
        weight_average.update(tf.constant(updates, tf.int64))
        ramped = min(decay, (1 + updates) / (10 + updates))
        average = [ramped * mean + (1 - ramped) * weight.numpy() for mean, weight in zip(average, gan.generator.weights)]
        for expected, weight in zip(average, generator_ema.weights):
            np.testing.assert_allclose(weight.numpy(), expected, rtol=1e-6, atol=1e-7)
    assert int(gan.discriminator_optimizer.iterations) == 6 and int(gan.generator_optimizer.iterations) == 2
    assert np.isfinite(float(metrics["gradient_penalty"])) and float(metrics["gradient_penalty"]) >= 0.0
    assert not generator_ema.trainable_weights  # only the average changes it

    codes = tf.random.normal([3, 2], seed=5)
    raw = gan.decode(codes).numpy()
    with weight_average.in_use():  # what pictures and evaluation draw with
        drawn = gan.decode(codes).numpy()
    np.testing.assert_allclose(drawn, gan.to_display(tf.tanh(generator_ema(codes, training=False))).numpy())
    assert not np.allclose(drawn, raw)
    np.testing.assert_array_equal(gan.decode(codes).numpy(), raw)  # the raw weights are back after the block


def test_a_gan_without_the_new_keys_keeps_its_checkpoint_layout() -> None:
    gan = tiny_gan()
    assert set(gan.trackables()) == {"generator", "discriminator", "generator_optimizer", "discriminator_optimizer"}
    assert gan.metric_names == ("d_loss", "g_loss", "d_accuracy_real", "d_accuracy_fake")
