"""genlab's fused batch norm and Adam compute what Keras' layers and optimizer compute."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from genlab.models.fused_batch_norm import FusedBatchNormalization  # noqa: E402


def _paired_batch_norms(shape: tuple[int, ...], **options) -> tuple:
    plain, fused = keras.layers.BatchNormalization(**options), FusedBatchNormalization(**options)
    plain.build(shape)
    fused.build(shape)
    rng = np.random.default_rng(1)
    # non-trivial scale, offset and moving statistics, the same in both
    weights = [rng.normal(1.0, 0.3, w.shape).astype(np.float32) for w in plain.get_weights()]
    weights[-1] = np.abs(weights[-1])  # moving variance
    plain.set_weights(weights)
    fused.set_weights(weights)
    return plain, fused


def _train_calls(layer, batches: list[np.ndarray]) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Outputs and gradients (input, then trainable weights) of a training call per batch."""
    outputs, gradients = [], []
    for batch in batches:
        images = tf.constant(batch)
        with tf.GradientTape() as tape:
            tape.watch(images)
            output = layer(images, training=True)
            loss = tf.reduce_sum(tf.sin(output))  # a gradient that differs per element
        outputs.append(output.numpy())
        gradients.append([g.numpy() for g in tape.gradient(loss, [images, *layer.trainable_variables])])
    return outputs, gradients


@pytest.mark.parametrize(
    "shape",
    [(16, 7, 7, 8), (32, 30), (4, 5, 6), (1, 3, 3, 4), (1, 6)],
    ids=["images", "dense", "sequence", "one-image", "one-row"],
)
def test_fused_batch_norm_matches_keras_in_training_and_inference(shape: tuple[int, ...]) -> None:
    plain, fused = _paired_batch_norms(shape)
    rng = np.random.default_rng(2)
    batches = [rng.normal(2.0, 3.0, shape).astype(np.float32) for _ in range(3)]

    plain_outputs, plain_gradients = _train_calls(plain, batches)
    fused_outputs, fused_gradients = _train_calls(fused, batches)

    for ours, theirs in zip(fused_outputs, plain_outputs):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    for ours, theirs in zip(fused_gradients, plain_gradients):
        for our_gradient, their_gradient in zip(ours, theirs):
            scale = np.abs(their_gradient).max() + 1e-6
            np.testing.assert_allclose(our_gradient / scale, their_gradient / scale, atol=1e-4)
    # the moving statistics average the biased batch variance, as Keras does
    np.testing.assert_allclose(fused.moving_mean.numpy(), plain.moving_mean.numpy(), rtol=1e-5, atol=1e-6)
    # (the kernel's variance is exact up to float32 rounding of the squares: ~1e-5 of E[x^2] here)
    np.testing.assert_allclose(fused.moving_variance.numpy(), plain.moving_variance.numpy(), rtol=1e-5, atol=1e-4)
    assert not np.allclose(fused.moving_mean.numpy(), _paired_batch_norms(shape)[0].moving_mean.numpy())
    np.testing.assert_allclose(fused(batches[0], training=False), plain(batches[0], training=False), rtol=1e-5, atol=1e-5)


def test_fused_batch_norm_keeps_keras_code_where_the_kernel_cannot_go() -> None:
    """Normalizing over another axis (here channels first) must still be Keras' result."""
    shape = (8, 4, 5, 5)
    plain, fused = _paired_batch_norms(shape, axis=1)
    batch = np.random.default_rng(3).normal(size=shape).astype(np.float32)
    np.testing.assert_allclose(fused(batch, training=True), plain(batch, training=True), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fused.moving_variance.numpy(), plain.moving_variance.numpy(), rtol=1e-6)


def test_fused_batch_norm_under_mixed_precision_returns_the_compute_dtype() -> None:
    shape = (8, 4, 4, 3)
    batch = np.random.default_rng(4).normal(size=shape).astype(np.float16)
    plain = keras.layers.BatchNormalization(dtype="mixed_float16")
    fused = FusedBatchNormalization(dtype="mixed_float16")
    plain.build(shape)
    fused.build(shape)
    ours, theirs = fused(batch, training=True), plain(batch, training=True)
    assert ours.dtype == theirs.dtype == tf.float16
    assert fused.moving_mean.dtype == "float32"
    np.testing.assert_allclose(np.asarray(ours, np.float32), np.asarray(theirs, np.float32), atol=2e-3)


def test_checkpoints_of_keras_layers_restore_into_the_fused_ones(tmp_path) -> None:
    """Runs saved with Keras' BatchNormalization resume with genlab's fused version (and Adam's slots with it)."""
    shape = (4, 3, 3, 2)
    plain, fused = _paired_batch_norms(shape)
    _train_calls(plain, [np.random.default_rng(6).normal(size=shape).astype(np.float32)])
    plain_adam = keras.optimizers.Adam()
    plain_adam.build(plain.trainable_variables)
    plain_adam.apply_gradients(zip([tf.ones_like(v) for v in plain.trainable_variables], plain.trainable_variables))
    path = tf.train.Checkpoint(layer=plain, optimizer=plain_adam).write(str(tmp_path / "ckpt"))

    resumed_adam = keras.optimizers.Adam()
    resumed_adam.build(fused.trainable_variables)
    tf.train.Checkpoint(layer=fused, optimizer=resumed_adam).read(path).assert_consumed()

    for ours, theirs in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    for ours, theirs in zip(resumed_adam.variables, plain_adam.variables):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("chosen", [[], ["col2im"], ["fused_batch_norm"], ["col2im", "fused_batch_norm"]])
def test_trainer_hand_written_kernels_chooses_the_layers_and_optimizer_and_keeps_the_weights(chosen: list[str], tmp_path) -> None:
    """Each replacement is on exactly when listed; either way the model has Keras' variables, so a
    checkpoint of one build restores into the other and both compute the same images."""
    import keras
    import tensorflow as tf

    from genlab.config.schema import AdamConfig, ConvNetConfig, DeconvNetConfig, GANConfig
    from genlab.models import build_model
    from genlab.models.col2im_convolution import Col2ImConv2D, Col2ImConv2DTranspose
    from genlab.models.kernels import hand_written_kernels
    from genlab.models.optimizers import build_optimizer

    config = GANConfig(
        latent_dim=4,
        generator=DeconvNetConfig(widths=[8, 4], reshape_channels=8, batch_norm=True),
        discriminator=ConvNetConfig(widths=[4, 8], batch_norm=True),
    )

    def build(names: list[str]):
        with hand_written_kernels(names):
            model = build_model(config, (28, 28, 1), lambda: build_optimizer(AdamConfig()))
            model.build_optimizers()
        return model

    model = build(chosen)
    layers = [layer for network in (model.generator, model.discriminator) for layer in network.layers]
    assert any(isinstance(layer, (Col2ImConv2D, Col2ImConv2DTranspose)) for layer in layers) == ("col2im" in chosen)
    assert any(isinstance(layer, FusedBatchNormalization) for layer in layers) == ("fused_batch_norm" in chosen)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in layers)

    saved = tf.train.Checkpoint(**model.trackables()).write(str(tmp_path / "ckpt"))
    other = build(sorted({"col2im", "fused_batch_norm"} - set(chosen)))
    tf.train.Checkpoint(**other.trackables()).read(saved).assert_existing_objects_matched()
    codes = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(other.decode(codes)), np.asarray(model.decode(codes)), atol=1e-5)


def test_a_saved_config_listing_the_removed_fused_adam_still_loads() -> None:
    from genlab.config.schema import TrainerConfig

    trainer = TrainerConfig(hand_written_kernels=["col2im", "fused_batch_norm", "fused_adam"])
    assert trainer.hand_written_kernels == ["col2im", "fused_batch_norm"]
