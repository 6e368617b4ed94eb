"""A search that cannot work is refused once, in one line naming the key, before its study starts:
no trial runs and no sweep directory is made."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import TEST_CONFIGS, run_genlab

SEARCH = ["train", "-m", "experiment=tiny_vae", "hparams_search=fashion_vae", f"hydra.searchpath=[file://{TEST_CONFIGS}]"]


def refused(tmp_path: Path, *args: str) -> str:
    """The one line `genlab train -m ... ARGS` ends with; asserts nothing ran and nothing was written."""
    sweep = tmp_path / "search"
    result = run_genlab(*args, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), result.stderr
    assert "Traceback" not in result.output and "raised while composing" not in result.output
    assert "Launching" not in result.output and not sweep.exists()
    return lines[0]


@pytest.mark.parametrize(
    "space, says",
    [
        ("tag(log, interval(4, 0.25))", "the interval's low end 4.0 is above its high end 0.25"),
        ("tag(log, interval(0, 2))", "a log interval needs a low end above 0"),
        ("choice()", "empty choice"),
        ("interval(a, 2", "cannot be read as a search dimension"),
        ("range(1, 5, 0)", "a range's step must be above 0"),
    ],
)
def test_a_malformed_search_space_names_its_key(tmp_path: Path, space: str, says: str) -> None:
    line = refused(tmp_path, *SEARCH, f"hydra.sweeper.params.beta='{space}'")
    assert line.startswith(f"genlab: error: hydra.sweeper.params.beta='{space}': ") and says in line


def test_a_malformed_sweep_on_the_command_line_names_the_override(tmp_path: Path) -> None:
    line = refused(tmp_path, *SEARCH, "beta=interval(2,1)")
    assert "beta=interval(2,1): the interval's low end 2.0 is above its high end 1.0" in line


def test_what_every_trial_would_refuse_is_said_once(tmp_path: Path) -> None:
    line = refused(tmp_path, *SEARCH, "trainer.objective=happiness")
    assert "trainer.objective must be one of" in line and "(got 'happiness')" in line
    line = refused(tmp_path, *[argument.replace("tiny_vae", "tiny_gan") for argument in SEARCH])
    assert "trainer.objective=elbo: a gan model gives no elbo (no posterior)" in line
    # a searched value no trial can take: the refusal says which
    line = refused(tmp_path, *SEARCH, "model=vae,gan")
    assert "model=gan does not have" in line and "(the trials with model=gan, from model=vae,gan)" in line
    line = refused(tmp_path, *SEARCH, "beta=interval(-1,2)")
    assert "model.beta must be >= 0" in line and "from beta=interval(-1,2)" in line


def test_a_search_without_trials_parameters_or_storage_is_refused(tmp_path: Path) -> None:
    line = refused(tmp_path, *SEARCH, "hydra.sweeper.n_trials=0")
    assert "hydra.sweeper.n_trials=0: a search runs at least one trial" in line
    line = refused(tmp_path, "train", "-m", "hydra/sweeper=optuna", "trainer.objective=elbo")
    assert "has nothing to search" in line and "hydra.sweeper.params" in line
    not_a_folder = tmp_path / "a_file"
    not_a_folder.write_text("")
    line = refused(tmp_path, *SEARCH, f"hydra.sweeper.storage=sqlite:///{not_a_folder}/search.db")
    assert f"hydra.sweeper.storage=sqlite:///{not_a_folder}/search.db: cannot be opened: {not_a_folder} is a file" in line


def test_a_preset_key_the_chosen_model_lacks_is_said_in_genlabs_words(tmp_path: Path) -> None:
    result = run_genlab("train", "experiment=fashion_vqvae", "model=vae", "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 2 and not (tmp_path / "run").exists()
    assert result.stderr.strip() == (
        "genlab: error: experiment=fashion_vqvae sets model.num_embeddings, which model=vae does not have "
        "(its keys: name, latent_dim, encoder, decoder, reconstruction_loss, reconstruction_weight, "
        "reconstruction_reduction, code_activation, condition, beta)"
    )


def test_the_sweepers_own_settings_are_checked(tmp_path: Path) -> None:
    line = refused(tmp_path, *SEARCH, "hydra.sweeper.direction=sideways")
    assert "hydra.sweeper.direction=sideways: give minimize or maximize" in line
    line = refused(tmp_path, *SEARCH, "hydra.sweeper.max_failure_rate=2")
    assert "hydra.sweeper.max_failure_rate=2.0: the share of trials that may fail is between 0 and 1" in line


def test_the_space_is_read_as_the_sweeper_reads_it() -> None:
    from omegaconf import OmegaConf

    from genlab.commands.search_preflight import check_grid, trial_overrides
    from genlab.commands.search_space import search_space
    from genlab.errors import ConfigError

    hydra = OmegaConf.create({"sweeper": {"params": {"beta": "interval(1, 4)", "latent_dim": "8"}}})
    space = search_space(hydra, ["model=vae,ae", "trainer.steps=5"])
    assert sorted(space.distributions) == ["beta", "model"] and space.fixed == ["latent_dim=8", "trainer.steps=5"]
    assert space.origin == {"beta": "hydra.sweeper.params.beta", "model": "model=vae,ae"}
    # every choice meets the low end of the other keys, once
    assert [which for _, which in trial_overrides(space)] == ["", "model=ae"]
    assert not search_space(hydra, ["beta=2"]).distributions  # a value on the command line fixes a searched key
    grid = OmegaConf.create({"sampler": {"_target_": "optuna.samplers.GridSampler"}})
    with pytest.raises(ConfigError, match="hydra.sweeper.params.beta: a grid"):
        check_grid(grid, space)
    check_grid(grid, search_space(hydra, ["beta=1,2"]))
