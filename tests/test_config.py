"""Every config composes; every bad value ends `genlab train` with a short message naming the key."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from conftest import run_genlab
from genlab.config.checks import validate
from genlab.config.store import register_schemas
from genlab.errors import ConfigError
from genlab.rundir.layout import register_resolvers

CONF = Path(__file__).resolve().parents[1] / "conf"
GROUPS = ("model", "dataset", "optimizer", "trainer")

register_schemas()
register_resolvers()


def compose_train(overrides: list[str]):
    with initialize_config_module(config_module="genlab.conf", version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


def group_options() -> list[tuple[str, str]]:
    return [(group, path.stem) for group in GROUPS for path in sorted((CONF / group).glob("*.yaml"))]


@pytest.mark.parametrize(("group", "option"), group_options())
def test_every_group_option_composes_and_validates(group: str, option: str) -> None:
    overrides = [f"{group}={option}"]
    if group == "dataset" and option == "folder":
        overrides.append("dataset.path=/tmp")
    config = validate(compose_train(overrides))
    assert getattr(config, group) is not None
    if group in ("model", "dataset", "optimizer"):
        assert getattr(config, group).name == option


def test_top_level_keys_reach_the_groups() -> None:
    cfg = compose_train(["model=vae", "dataset=mnist", "latent_dim=16", "beta=4", "optimizer.learning_rate=1e-3"])
    config = validate(cfg)
    assert (config.model.latent_dim, config.model.beta, config.optimizer.learning_rate) == (16, 4.0, 1e-3)
    assert config.dataset.name == "mnist"


def test_range_error_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"trainer\.batch_size must be >= 1"):
        validate(compose_train(["trainer.batch_size=0"]))


BAD_OVERRIDES = [
    ("trainer.stepz=5", "trainer.stepz"),
    ("model.latnt_dim=4", "model.latnt_dim"),
    ("latent_dim=abc", "latent_dim"),
    ("trainer.batch_size=1.5", "trainer.batch_size"),
    ("beta=high", "beta"),
    ("latent_dim=0", "latent_dim"),
    ("beta=-1", "beta"),
    ("trainer.batch_size=0", "trainer.batch_size"),
    ("optimizer.learning_rate=0", "optimizer.learning_rate"),
    ("optimizer.learning_rate=-0.1", "optimizer.learning_rate"),
    ("trainer.steps=0", "trainer.steps"),
    ("trainer.steps_per_loop=10 trainer.log_every=25", "trainer.log_every must be a multiple of trainer.steps_per_loop (10)"),
    ("trainer.steps_per_loop=0", "trainer.steps_per_loop"),
    ("model.encoder.activation=sparkly", "model.encoder.activation"),
    ("model.reconstruction_loss=l1", "model.reconstruction_loss"),
    ("trainer.precision=float8", "trainer.precision"),
    ("model=vea", "model=vea: there is no such model"),
    ("dataset.channels=2", "dataset.channels"),
    ("trainer.micro_batches=many", "trainer.micro_batches"),
    ("trainer.micro_batches=0", "trainer.micro_batches"),
    ("trainer.micro_batches=2.5", "trainer.micro_batches"),
    ("trainer.micro_batches=999", "trainer.micro_batches"),
]


@pytest.mark.parametrize(("override", "named"), BAD_OVERRIDES)
def test_bad_config_exits_nonzero_naming_the_key(override: str, named: str, tmp_path: Path) -> None:
    result = run_genlab("train", *override.split(), cwd=tmp_path)
    assert result.returncode != 0
    assert named in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 12, result.output
    # No run directory is left behind looking like a real run.
    assert not list(tmp_path.glob("outputs/*/*/.hydra/config.yaml"))


def test_folder_without_path_is_refused(tmp_path: Path) -> None:
    result = run_genlab("train", "dataset=folder", cwd=tmp_path)
    assert result.returncode != 0
    assert "dataset.path" in result.output
    assert "Traceback" not in result.output


def test_resume_of_a_missing_directory_is_refused_without_creating_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-run"
    result = run_genlab("train", f"resume={missing}", cwd=tmp_path)
    assert result.returncode == 2
    assert "not a genlab run directory" in result.output
    assert not missing.exists()


def test_help_lists_commands_and_groups(tmp_path: Path) -> None:
    top = run_genlab("--help", cwd=tmp_path)
    assert top.returncode == 0 and "train" in top.stdout
    unknown = run_genlab("trian", cwd=tmp_path)
    assert unknown.returncode != 0
    assert "unknown command 'trian'" in unknown.stderr and "train" in unknown.stderr
    train_help = run_genlab("train", "--help", cwd=tmp_path)
    assert train_help.returncode == 0
    from genlab.config.models import model_specs

    installed = ", ".join(sorted(model_specs()))  # genlab's own and the example package's (tests/test_plugins.py)
    assert {"ae", "gan", "vae", "mlp_vae"} <= set(model_specs())
    for group in (f"model: {installed}", "optimizer: adam, rmsprop, sgd", "trainer: default"):
        assert group in train_help.stdout
    assert not (tmp_path / "outputs").exists()


def test_version_names_genlab_and_what_it_runs_on(tmp_path: Path) -> None:
    from importlib.metadata import version

    expected = [
        f"genlab {version('genlab')}",
        f"TensorFlow {version('tensorflow')}",
        f"Keras {version('keras')}",
        f"Hydra {version('hydra-core')}",
    ]
    for args in (["--version"], ["sample", "--version"], ["train", "model=gan", "--version"]):
        result = run_genlab(*args, cwd=tmp_path)
        assert result.returncode == 0 and result.stderr == ""
        assert result.stdout.splitlines()[:4] == expected and result.stdout.splitlines()[4].startswith("Python 3.")
    assert not (tmp_path / "outputs").exists()
    # read from the installed metadata: TensorFlow is never imported
    check = "import sys; from genlab.cli import main; main(['sample', '--version']); assert 'tensorflow' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", check], capture_output=True, cwd=tmp_path).returncode == 0


def test_saved_config_is_resolved_yaml(trained_runs: dict[str, Path]) -> None:
    saved = OmegaConf.load(trained_runs["vae"] / ".hydra" / "config.yaml")
    assert saved.model.latent_dim == saved.latent_dim == 4
    assert "${" not in OmegaConf.to_yaml(saved)
