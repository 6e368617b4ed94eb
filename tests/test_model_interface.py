"""What a model declares and what the trainer derives from it: the update, splitting, frozen phases."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from genlab.api import train_config  # noqa: E402
from genlab.models import build_model  # noqa: E402
from genlab.models.base import Objective, Phase, Update  # noqa: E402
from genlab.models.optimizers import build_optimizer  # noqa: E402
from genlab.training import micro_batches  # noqa: E402
from genlab.training.networks import check_frozen, has_batch_norm, model_must_not_split  # noqa: E402
from genlab.training.update import run_phase_step, run_update  # noqa: E402
from genlab.errors import ConfigError, GenlabError  # noqa: E402


def tiny_model(*overrides: str):
    config = train_config(["latent_dim=2", *overrides])
    model = build_model(config.model, (8, 8, 1), lambda: build_optimizer(config.optimizer), ())
    model.build_optimizers()
    return config, model


def test_batch_norm_is_found_in_the_networks_whatever_the_config_says() -> None:
    """Nested models and wrapped layers count; a network ported with its own batch norm (no batch_norm key) too."""
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization()])
    outer = keras.Sequential([keras.Input((4,)), inner, keras.layers.Dense(2)])
    assert not has_batch_norm([plain]) and has_batch_norm([outer]) and has_batch_norm([plain, inner])
    # what the plan then does, for any network found so
    plan = micro_batches.plan(None, 128, batch_norm=has_batch_norm([outer]), on_cpu_alone=True, cores=8)
    assert plan == micro_batches.MicroBatchPlan(1, None)  # whole batches, every core per op
    with pytest.raises(ConfigError, match="trainer.micro_batches=2"):
        micro_batches.plan(2, 128, batch_norm=True, on_cpu_alone=True, cores=8)


def test_the_trainer_reads_batch_norm_from_the_built_model() -> None:
    config = train_config(["model=gan", "latent_dim=2"])  # DCGAN's generator has batch norm
    assert model_must_not_split(config, (28, 28, 1), ())
    config = train_config(["model=gan", "latent_dim=2", "model.generator.batch_norm=false"])
    assert not model_must_not_split(config, (28, 28, 1), ())
    assert not model_must_not_split(train_config(["model=mlp_vae"]), (28, 28, 1), ())  # a plug-in without any


def test_a_gan_steps_its_critic_alone_then_both_networks_from_one_pass() -> None:
    _, gan = tiny_model("model=gan", "model.critic_steps=2", "model.generator.widths=[8,4]",
                        "model.generator.reshape_channels=4", "model.discriminator.widths=[4,8]")
    (phase,) = gan.phases(1)
    assert [[objective.loss for objective in update.objectives] for update in phase.updates] == [["d_loss"], ["d_loss", "g_loss"]]
    metrics = run_phase_step(phase, tf.random.uniform([6, 8, 8, 1], -1.0, 1.0, seed=1), tf.random.Generator.from_seed(2), ())
    assert int(gan.discriminator_optimizer.iterations) == 2 and int(gan.generator_optimizer.iterations) == 1
    assert set(gan.metric_names) <= set(metrics)


def test_one_pass_feeding_two_optimizers_in_parts_gives_the_whole_batch_update() -> None:
    """Each optimizer gets the gradient of its own loss of the whole batch, whatever the parts (here 3 uneven)."""
    images = tf.random.uniform([7, 3], seed=3)
    results = []
    for sizes in ((), (3, 2, 2)):
        first, second = tf.Variable([1.0, -2.0, 0.5]), tf.Variable([0.3, 0.2, -0.1])

        def metrics(batch: tf.Tensor, rng: tf.random.Generator) -> dict:
            scores = tf.reduce_sum(batch * first, axis=1) * tf.reduce_sum(batch * second, axis=1)
            return {"a": tf.reduce_mean(tf.square(scores)), "b": tf.reduce_mean(tf.sin(scores))}

        objectives = (Objective("a", keras.optimizers.SGD(0.1), lambda: [first]), Objective("b", keras.optimizers.SGD(0.1), lambda: [second]))
        values = run_update(Update(metrics, objectives), images, tf.random.Generator.from_seed(0), sizes)
        results.append(([float(values["a"]), float(values["b"])], first.numpy(), second.numpy()))
    for whole, parts in zip(results[0], results[1]):
        np.testing.assert_allclose(parts, whole, rtol=1e-6, atol=1e-7)
    assert not np.allclose(results[0][1], [1.0, -2.0, 0.5])  # it did step


def test_after_sees_the_whole_batch_once_the_optimizers_have_stepped() -> None:
    variable = tf.Variable(1.0)
    optimizer = keras.optimizers.SGD(learning_rate=0.5)
    seen = []

    def after(metrics: dict, batch: tf.Tensor) -> dict:
        seen.append((float(variable.numpy()), int(batch.shape[0])))
        return {"doubled": 2.0 * metrics["loss"]}

    update = Update(lambda batch, rng: {"loss": variable * tf.reduce_mean(batch)}, (Objective("loss", optimizer, lambda: [variable]),), after)
    metrics = run_update(update, tf.ones([6, 1]), tf.random.Generator.from_seed(0), (3, 3))
    assert seen == [(0.5, 6)] and float(metrics["doubled"]) == pytest.approx(2.0)


def test_a_phase_that_changes_a_network_it_freezes_is_refused() -> None:
    _, vqvae = tiny_model("model=vqvae", "model.encoder.widths=[4]", "model.decoder.widths=[4]",
                          "model.num_embeddings=4", "model.prior.filters=4", "model.prior.residual_blocks=1")
    phases = vqvae.phases(3)
    assert [(phase.name, phase.trains, phase.freezes) for phase in phases] == [
        ("vqvae", ("encoder", "decoder", "quantizer"), ("prior",)),
        ("prior", ("prior",), ("encoder", "decoder", "quantizer")),
    ]
    for phase in phases:
        check_frozen(vqvae, phase)
    wrong = Phase("prior", 3, phases[0].updates, phases[0].metric_names, trains=("prior",), freezes=("encoder",))
    with pytest.raises(GenlabError, match="phase prior freezes encoder but its loss optimizer changes"):
        check_frozen(vqvae, wrong)


def test_every_installed_model_does_what_it_claims() -> None:
    """Each registered model (genlab's and the example packages') is built and every capability it claims is
    called: a step of each phase, sampling with its own sampling keys, encode/decode, posterior, discriminator,
    likelihood; the networks it averages are among its networks."""
    from genlab.config.models import model_specs
    from genlab.config.sampling import sampling_options

    shape = (28, 28, 1)
    images = tf.random.uniform([4, *shape], seed=7)
    assert {"ae", "vae", "gan", "vqvae", "mlp_vae", "dense_flow"} <= set(model_specs())
    for name in model_specs():
        config = train_config([f"model={name}", "latent_dim=4"])
        model = build_model(config.model, shape, lambda: build_optimizer(config.optimizer), ())
        model.build_optimizers()
        assert set(model.averaged_networks) <= set(model.networks()), name
        rng = tf.random.Generator.from_seed(1)
        low, high = model.pixel_range
        for phase in model.phases(2):
            metrics = run_phase_step(phase, low + images * (high - low), rng, ())
            assert set(phase.metric_names) <= set(metrics) and all(np.isfinite(float(metrics[key])) for key in phase.metric_names), name
        if model.prior_ready():
            drawn = np.asarray(model.sample(3, np.random.default_rng(0), None, sampling_options(name, {})))
            assert drawn.shape == (3, *shape) and 0.0 <= drawn.min() and drawn.max() <= 1.0, name
        if model.has_encoder:
            codes = np.asarray(model.encode(images))
            assert codes.shape == (4, model.latent_dim) and np.asarray(model.decode(codes)).shape == (4, *shape), name
        if model.has_posterior:
            mean, log_variance = model.posterior(images)
            assert np.asarray(model.decoder_logits(mean)).shape == (4, *shape) and mean.shape == log_variance.shape, name
        if model.has_discriminator:
            assert np.asarray(model.discriminate(images)).shape == (4, 1), name
        if model.gives_likelihood():
            assert model.likelihood_kind in ("exact", "bound"), name
            log_p = np.asarray(model.log_likelihood(tf.round(images * 255.0), rng))
            assert log_p.shape == (4,) and np.isfinite(log_p).all(), name
