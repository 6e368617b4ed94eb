"""The course presets in conf/experiment/: each composes, holds the course's facts, and trains a few steps."""
from __future__ import annotations

from pathlib import Path

import fakedata
import pytest
import yaml
from hydra import compose, initialize_config_module

from conftest import train_presets
from genlab.config.checks import validate
from genlab.config.store import register_schemas
from genlab.rundir.layout import register_resolvers
from genlab.training.schedule import phase_steps

CONF = Path(__file__).resolve().parents[1] / "conf"
PRESETS = sorted(path.stem for path in (CONF / "experiment").glob("*.yaml"))

register_schemas()
register_resolvers()

# What each preset must say (from the course notebooks and slides).
FACTS = {
    "mnist_cvae": {
        "model.name": "vae", "dataset.name": "mnist", "latent_dim": 2, "dataset.binarize": True,
        "model.encoder.widths": [32, 64], "model.decoder.widths": [64, 32], "model.reconstruction_loss": "bce",
        "trainer.batch_size": 32, "optimizer.learning_rate": 1e-4, "model.encoder.padding": "valid",
    },
    "mnist_dcgan": {
        "model.name": "gan", "dataset.name": "mnist", "latent_dim": 100, "trainer.batch_size": 256,
        "optimizer.learning_rate": 1e-4, "model.generator.reshape_channels": 256, "model.discriminator.dropout": 0.3,
        # the tutorial's LeakyReLU() keeps Keras' default slope, and its output layer has no bias
        "model.generator.leaky_slope": 0.3, "model.discriminator.leaky_slope": 0.3, "model.generator.output_bias": False,
    },
    "fashion_dense_ae": {
        "model.name": "ae", "dataset.name": "fashion_mnist", "latent_dim": 64, "model.encoder.widths": [],
        "model.decoder.widths": [], "model.code_activation": "relu", "model.reconstruction_loss": "mse",
        "model.reconstruction_reduction": "mean", "trainer.batch_size": 32, "trainer.epochs": 10,
    },
    "fashion_wgan_gp": {
        "model.name": "gan", "dataset.name": "fashion_mnist", "latent_dim": 128, "model.loss": "wasserstein",
        "model.gradient_penalty": 10.0, "model.critic_steps": 3, "trainer.batch_size": 512, "trainer.epochs": 20,
        "optimizer.learning_rate": 2e-4, "optimizer.beta_1": 0.5, "optimizer.beta_2": 0.9,
        "model.discriminator.widths": [64, 128, 256, 512], "model.generator.reshape_channels": 256,
    },
    "fashion_vqvae": {
        "model.name": "vqvae", "dataset.name": "fashion_mnist", "latent_dim": 16, "model.num_embeddings": 128,
        "model.commitment_cost": 0.25, "model.prior.steps": None, "model.prior.kernel_size": 7,
        "model.prior.residual_blocks": 2, "trainer.batch_size": 128, "trainer.epochs": 30,
    },
    "fashion_hinge_sn_gan": {
        "model.name": "gan", "dataset.name": "fashion_mnist", "model.loss": "hinge",
        "model.discriminator.spectral_norm": True, "trainer.ema_decay": 0.999,
    },
    "fashion_ae": {
        "model.name": "ae", "dataset.name": "fashion_mnist", "dataset.image_size": 32, "dataset.resize": "pad",
        "latent_dim": 2, "model.encoder.widths": [32, 64, 128], "model.decoder.widths": [128, 64, 32],
        "model.decoder.dense_activation": "linear",
    },
    "fashion_vae": {
        "model.name": "vae", "dataset.name": "fashion_mnist", "dataset.image_size": 32, "dataset.resize": "pad",
        "latent_dim": 2, "model.encoder.widths": [32, 64, 128], "model.reconstruction_weight": 500.0,
        "model.reconstruction_reduction": "mean",
    },
    "fashion_cvae": {
        "model.name": "vae", "dataset.name": "fashion_mnist", "dataset.image_size": 32, "latent_dim": 2,
        "model.condition.by": "class", "model.condition.embedding_dim": 0, "model.encoder.widths": [32, 64, 128],
        "model.reconstruction_weight": 500.0, "trainer.batch_size": 100, "trainer.epochs": 5,
    },
    "fashion_cgan": {
        "model.name": "gan", "dataset.name": "fashion_mnist", "latent_dim": 128, "model.condition.by": "class",
        "model.condition.discriminator": "projection", "model.generator.widths": [128, 128],
        "model.generator.kernel_size": 4, "model.generator.output_kernel_size": 7, "model.discriminator.widths": [64, 128],
        "model.discriminator.kernel_size": 3, "model.generator.leaky_slope": 0.2, "optimizer.learning_rate": 3e-4,
        "optimizer.beta_1": 0.5,
        "trainer.batch_size": 64, "trainer.epochs": 20,
    },
    "celeba_vae": {
        "model.name": "vae", "dataset.name": "celeba", "dataset.image_size": 32, "latent_dim": 200,
        "model.encoder.widths": [128] * 4, "model.encoder.batch_norm": True, "model.encoder.activation": "leaky_relu",
        "model.decoder.batch_norm": True, "model.reconstruction_weight": 2000.0, "model.reconstruction_reduction": "mean",
    },
    "olivetti_vae": {
        "model.name": "vae", "dataset.name": "olivetti", "model.encoder.widths": [16, 32, 64, 128],
        "optimizer.learning_rate": 1e-3, "dataset.test_fraction": 0.2,
    },
    "cifar10_gan": {
        "model.name": "gan", "dataset.name": "cifar10", "latent_dim": 100, "model.generator.batch_norm": True,
        "model.discriminator.widths": [64, 128, 256],
    },
}


def experiment_override(name: str) -> str:
    """`experiment=NAME` once conf/train.yaml's defaults list has an experiment entry, `+experiment=NAME` before."""
    defaults = yaml.safe_load((CONF / "train.yaml").read_text())["defaults"]
    listed = any(isinstance(entry, dict) and "experiment" in entry for entry in defaults)
    return f"experiment={name}" if listed else f"+experiment={name}"


def compose_preset(name: str, overrides: tuple[str, ...] = ()):
    with initialize_config_module(config_module="genlab.conf", version_base="1.3"):
        return compose(config_name="train", overrides=[experiment_override(name), *overrides])


def value(config, dotted: str):
    for key in dotted.split("."):
        config = getattr(config, key)
    return config


def test_every_preset_has_its_facts() -> None:
    assert PRESETS == sorted(FACTS)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_composes_validates_and_says_how_to_run_it(name: str) -> None:
    config = validate(compose_preset(name))
    for key, expected in FACTS[name].items():
        assert value(config, key) == expected, key
    if "latent_dim" in FACTS[name]:
        assert config.model.latent_dim == config.latent_dim
    header = (CONF / "experiment" / f"{name}.yaml").read_text().split("\ndefaults:")[0]
    assert header.startswith("# @package _global_\n")
    assert f"genlab train experiment={name}" in header and "Gives:" in header


def test_command_line_overrides_a_preset() -> None:
    config = validate(compose_preset("fashion_vae", ("latent_dim=8", "trainer.batch_size=7", "beta=4")))
    assert (config.model.latent_dim, config.trainer.batch_size, config.model.beta) == (8, 7, 4.0)


# ----------------------------------------------------------------------------- a few steps each


@pytest.fixture(scope="module")
def preset_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every preset trained two steps in one process, on generated files of each source in one folder."""
    root = tmp_path_factory.mktemp("preset-data")
    fakedata.write_idx_dataset(root, n_train=96, n_test=32)  # MNIST and Fashion-MNIST take the same files
    fakedata.write_cifar10_binary(root, n_train=50)
    fakedata.write_celeba(root, n=40)
    presets = list(PRESETS)
    try:
        fakedata.write_olivetti_home(root)
    except ImportError:  # scipy, genlab[faces]
        presets.remove("olivetti_vae")
    short_run = ["trainer.steps=2", "trainer.epochs=null", "trainer.batch_size=16", "trainer.num_images=16"]
    workdir = tmp_path_factory.mktemp("presets")
    return train_presets(presets, f"dataset.path={root}", "dataset.download=false", *short_run, sweep=workdir / "runs", cwd=workdir)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_trains_a_few_steps(name: str, preset_runs: dict[str, Path]) -> None:
    if name not in preset_runs:
        pytest.skip("scipy not installed (pip install 'genlab[faces]')")
    run_dir = preset_runs[name]
    # two steps of each phase (a VQ-VAE's prior trains as long as the VQ-VAE unless its preset says otherwise)
    finished = sum(phase_steps(validate(compose_preset(name)).model, 2))
    assert f"finished at step {finished}" in (run_dir / "train.log").read_text()
    saved = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    for key, expected in FACTS[name].items():
        if not key.startswith("trainer."):
            node = saved
            for part in key.split("."):
                node = node[part]
            assert node == expected, key
