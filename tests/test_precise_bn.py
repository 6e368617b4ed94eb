"""Precise batch norm: a restored model's batch-norm statistics recomputed from a fixed set of training
images, in memory only; and the honest ELBOs (training's under evaluate's likelihood, evaluate's over
the whole test split)."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_genlab, train_presets
from genlab.models.precise_batch_norm import PooledMoments
from genlab.rundir.precise_bn import fixed_training_indices, usable_count

BATCH_NORM = ["model.encoder.batch_norm=true", "model.decoder.batch_norm=true", "model.reconstruction_loss=mse"]
TRAIN_IMAGES = 96  # the IDX fixture's


@pytest.fixture(scope="module")
def bn_runs(tmp_path_factory: pytest.TempPathFactory, idx_dataset_args: list[str]) -> dict[str, Path]:
    """Runs of 10 steps with batch norm (Keras' momentum 0.99: the running averages still lag far)."""
    workdir = tmp_path_factory.mktemp("precise-bn")
    presets = ["tiny_vae", "tiny_cvae", "tiny_vqvae"]
    runs = train_presets(presets, *idx_dataset_args, "trainer.steps=10", *BATCH_NORM, sweep=workdir / "runs", cwd=workdir)
    runs.update(train_presets(["tiny_gan"], *idx_dataset_args, "trainer.steps=10", sweep=workdir / "gan", cwd=workdir))
    return runs


def checkpoint_hashes(run_dir: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in (run_dir / "checkpoints").iterdir()
        if path.is_file()
    }


def mse(run, images) -> float:
    return float(np.mean((run.reconstruct(images, run.conditions("test")) - run.display(images)) ** 2))


# ----------------------------------------------------------------------------- plain numpy


def test_pooled_moments_are_those_of_all_values() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(3.0, 2.0, (50, 4))
    pooled = PooledMoments()
    for part in np.split(values, [7, 20, 21, 50]):
        if len(part):
            pooled.add(len(part), part.mean(axis=0), part.var(axis=0))
    np.testing.assert_allclose(pooled.mean, values.mean(axis=0))
    np.testing.assert_allclose(pooled.variance, values.var(axis=0))


def test_the_images_are_fixed_and_come_in_whole_training_batches() -> None:
    np.testing.assert_array_equal(fixed_training_indices(1000, 10), fixed_training_indices(1000, 10))
    assert len(set(fixed_training_indices(1000, 1000))) == 1000
    assert usable_count(60000, 1024, 128) == (1024, 128)
    assert usable_count(60000, 1024, 100) == (1000, 100)  # whole batches, as training has
    assert usable_count(50, 1024, 128) == (50, 50)  # fewer than a batch: one batch of them all


# ----------------------------------------------------------------------------- restored runs


def test_statistics_are_the_mean_and_variance_of_the_layer_inputs(bn_runs: dict[str, Path]) -> None:
    import keras

    from genlab.models.precise_batch_norm import batch_norm_layers
    from genlab.rundir.saved_run import SavedRun

    run = SavedRun(bn_runs["tiny_vae"], precise_bn_images=48)
    model = run.model
    assert run.batch_norm.source == "recomputed" and run.batch_norm.images == 48
    assert "statistics recomputed from 48 training images" in run.batch_norm.note
    first = batch_norm_layers(model)[0]
    assert first in model.encoder.layers
    # the first layer's inputs do not depend on how the images are batched: compare with all of them at once
    layer_inputs = keras.Model(model.encoder.inputs, first.input)
    images = run.scaled(run.data.train_images[fixed_training_indices(TRAIN_IMAGES, 48)])
    values = np.asarray(layer_inputs(images), np.float64).reshape(-1, first.moving_mean.shape[0])
    np.testing.assert_allclose(first.moving_mean.numpy(), values.mean(axis=0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(first.moving_variance.numpy(), values.var(axis=0), rtol=1e-4, atol=1e-7)


def test_recomputed_statistics_reconstruct_better_than_lagging_averages(bn_runs: dict[str, Path]) -> None:
    from genlab.rundir.restore import restore_run
    from genlab.rundir.saved_run import SavedRun

    before = checkpoint_hashes(bn_runs["tiny_vae"])
    precise, plain = SavedRun(bn_runs["tiny_vae"]), SavedRun(bn_runs["tiny_vae"], precise_bn=False)
    test = precise.test_images()
    assert mse(precise, test) < mse(plain, test)
    assert precise.batch_norm.images == TRAIN_IMAGES  # all there are (fewer than 1024)
    assert plain.batch_norm.source == "checkpoint" and "running averages" in plain.batch_norm.note
    # precise_bn=False: exactly the checkpoint's model
    checkpoint = restore_run(str(bn_runs["tiny_vae"])).model
    np.testing.assert_array_equal(plain.reconstruct(test), np.asarray(checkpoint.reconstruct(plain.scaled(test))))
    assert checkpoint_hashes(bn_runs["tiny_vae"]) == before  # in memory only


@pytest.mark.parametrize("preset", ["tiny_cvae", "tiny_vqvae", "tiny_gan"])
def test_every_kind_of_model_gets_the_same_statistics_each_time(bn_runs: dict[str, Path], preset: str) -> None:
    from genlab.models.precise_batch_norm import batch_norm_layers
    from genlab.rundir.saved_run import SavedRun

    statistics = []
    for _ in range(2):
        run = SavedRun(bn_runs[preset], precise_bn_images=32)
        layers = batch_norm_layers(run.model)
        assert layers and run.batch_norm.source == "recomputed" and run.batch_norm.images == 32
        assert run.batch_norm.note.startswith("batch norm: statistics recomputed")  # every layer reached
        statistics.append([np.concatenate([layer.moving_mean.numpy(), layer.moving_variance.numpy()]) for layer in layers])
    for first, second in zip(*statistics):
        np.testing.assert_array_equal(first, second)
    plain = SavedRun(bn_runs[preset], precise_bn=False)
    assert any(
        not np.allclose(layer.moving_mean.numpy(), recomputed[: layer.moving_mean.shape[0]])
        for layer, recomputed in zip(batch_norm_layers(plain.model), statistics[0])
    )
    if run.model.prior_ready():
        assert np.isfinite(run.sample(4)).all()


def test_without_training_images_the_running_averages_stay(bn_runs: dict[str, Path], tmp_path: Path) -> None:
    from genlab.data.base import ImageSet
    from genlab.rundir.saved_run import SavedRun

    plain = SavedRun(bn_runs["tiny_vae"], precise_bn=False)
    test = plain.test_images()
    emptied = ImageSet("mnist", np.zeros((0, *test.shape[1:]), np.uint8), np.asarray(test))
    run = SavedRun(bn_runs["tiny_vae"], data=emptied)
    run.model
    assert run.batch_norm.source == "checkpoint" and "no training images" in run.batch_norm.note
    np.testing.assert_array_equal(run.reconstruct(test), plain.reconstruct(test))

    gone = SavedRun(bn_runs["tiny_vae"])
    gone.config.dataset.path = str(tmp_path / "nowhere")
    gone.model
    assert gone.batch_norm.source == "checkpoint" and "no training images to recompute them from" in gone.batch_norm.note


def test_a_model_without_batch_norm_is_left_alone() -> None:
    import keras

    from genlab.config.schema import AEConfig
    from genlab.models.ae import AutoEncoder
    from genlab.models.precise_batch_norm import batch_norm_layers, recompute_batch_norm

    model = AutoEncoder(AEConfig(latent_dim=2), (28, 28, 1), lambda: keras.optimizers.Adam())
    assert batch_norm_layers(model) == []
    weights = [network.get_weights() for network in (model.encoder, model.decoder)]
    done = recompute_batch_norm(model, [np.zeros((4, 28, 28, 1), np.float32)])
    assert (done.layers, done.found) == (0, 0)
    for network, saved in zip((model.encoder, model.decoder), weights):
        for now, then in zip(network.get_weights(), saved):
            np.testing.assert_array_equal(now, then)


# ----------------------------------------------------------------------------- the ELBOs


def test_training_elbo_of_an_mse_model_is_under_evaluates_gaussian_likelihood(bn_runs: dict[str, Path]) -> None:
    import tensorflow as tf

    from genlab.metrics.elbo import log_likelihood
    from genlab.rundir.saved_run import SavedRun

    run = SavedRun(bn_runs["tiny_vae"], precise_bn=False)
    model = run.model
    assert model.reconstruction_loss == "mse"
    images = run.scaled(run.test_images(range(16)))
    metrics = model.losses(images, tf.random.Generator.from_seed(3), training=False)
    mean, log_variance = model.posterior(images)
    codes = mean + tf.exp(0.5 * log_variance) * tf.random.Generator.from_seed(3).normal(tf.shape(mean))
    expected = tf.reduce_mean(log_likelihood(images, model.decoder_logits(codes), "mse"))  # as evaluate scores it
    # the ELBO is that minus the KL (training's is exact; evaluate's, the same in expectation, is sampled)
    assert float(metrics["elbo"]) + float(metrics["kl"]) == pytest.approx(float(expected), rel=1e-6)
    assert float(metrics["elbo"]) < -(float(metrics["reconstruction"]) + float(metrics["kl"])) - 100  # its constant


def test_evaluate_says_what_its_numbers_cover(bn_runs: dict[str, Path], tmp_path: Path) -> None:
    run_dir = Path(shutil.copytree(bn_runs["tiny_vae"], tmp_path / "run"))
    before = checkpoint_hashes(run_dir)
    small = ["n=8", "k=2", "nll_n=8", "kid_subsets=2", "kid_subset_size=4", "precise_bn_images=32"]
    result = run_genlab("evaluate", f"checkpoint={run_dir}", *small, cwd=tmp_path)
    assert result.returncode == 0, result.output
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["settings"]["precise_bn"] is True and saved["settings"]["precise_bn_images"] == 32
    assert saved["counts"]["precise_bn_images"] == 32
    assert saved["counts"]["elbo_images"] == 32 and saved["counts"]["nll_images"] == 8  # the whole test split; a subset
    line = "batch norm: statistics recomputed from 32 training images (precise_bn=false keeps the checkpoint's running averages)"
    assert line in saved["notes"] and line in result.stderr and f"note: {line}" in result.stdout
    assert "ELBO on 32 test images; NLL (k=2) on 8 of them" in result.stdout
    assert "NLL, importance-weighted k=2, 8 test images (nats/image)" in result.stdout
    assert checkpoint_hashes(run_dir) == before
