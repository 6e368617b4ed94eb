"""Hydra's composition errors come out in genlab's words, naming what the user typed (in-process, no TensorFlow)."""
from __future__ import annotations

import pytest
from hydra import compose, initialize_config_module

from genlab.commands.app import config_error_message
from genlab.config.store import register_schemas
from genlab.rundir.layout import register_resolvers

CASES = {
    ("experiment=fashion_vqvae", "model=gan"): "experiment=fashion_vqvae sets model.num_embeddings, which model=gan does not have (its keys: name, latent_dim, generator,",
    ("model=nosuch",): "model=nosuch: there is no such model; choose one of ae, ",
    ("hydra/sweeper=nosuch",): "hydra/sweeper=nosuch: there is no such sweeper; choose one of basic, optuna",
    ("~model.nosuch",): "~model.nosuch: model.nosuch is not in the config of genlab train, so there is nothing to delete",
    ("+trainer.steps=5",): "+trainer.steps: trainer.steps is a key of genlab train already; set it without the +: trainer.steps=VALUE",
    ("trainer.steps=1,2",): "trainer.steps=1,2: several values are a sweep, which runs with -m (genlab train -m trainer.steps=1,2)",
    ("+experiment=fashion_vae",): "+experiment=fashion_vae: experiment is chosen already; choose another with experiment=fashion_vae",
    ("model@foo=vae",): "model@foo: not a config group of genlab train; did you mean model=...?",
    ("hparams_search=fashion_vae", "hydra.sweeper.params.trainer.steps='interval(1,3)'"): (
        'hydra.sweeper.params.trainer.steps: a key with a dot cannot be set under hydra.sweeper.params on the command '
        'line; search it as a sweep, "trainer.steps=interval(1,3)"'
    ),
}


@pytest.fixture(scope="module")
def messages() -> dict[tuple[str, ...], str]:
    register_schemas()
    register_resolvers()
    said = {}
    with initialize_config_module(config_module="genlab.conf", version_base="1.3"):
        for overrides in CASES:
            with pytest.raises(Exception) as error:
                compose(config_name="train", overrides=list(overrides), return_hydra_config=True)
            said[overrides] = config_error_message(error.value, "train")
    return said


@pytest.mark.parametrize("overrides", list(CASES))
def test_a_composition_error_is_one_line_in_genlabs_words(messages: dict, overrides: tuple[str, ...]) -> None:
    message = messages[overrides]
    assert message.startswith(CASES[overrides]), message
    assert "\n" not in message and "raised while composing" not in message and "Could not" not in message
