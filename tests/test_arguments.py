"""What `genlab <command>` hands to Hydra: a run given as a plain argument, paths genlab wrote quoted."""
from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from hydra.core.override_parser.overrides_parser import OverridesParser

from genlab.commands.arguments import POSITIONAL_KEYS, hydra_arguments, hydra_quoted
from genlab.cli import COMMANDS
from genlab.commands.app import config_error_message
from genlab.errors import ConfigError
from genlab.config.render import register_render_schemas

register_render_schemas()

JOB = "beta=1,model=vae"  # a sweep job's directory is named by its overrides


def values(arguments: list[str]) -> dict[str, object]:
    """Each override's key and value as Hydra parses them (a sweep's values as a list)."""
    parsed = OverridesParser.create().parse_overrides(arguments)
    return {
        override.get_key_element(): [getattr(item, "text", item) for item in override.sweep_iterator()] if override.is_sweep_override() else override.value()
        for override in parsed
    }


@pytest.fixture
def sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two job directories named like a sweep's, and the working directory in the sweep."""
    for name in (JOB, "beta=4,model=vae"):
        (tmp_path / name / "checkpoints").mkdir(parents=True)
    (tmp_path / JOB / "checkpoints" / "ckpt-10.index").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_run_given_as_a_plain_argument(sweep: Path) -> None:
    assert set(POSITIONAL_KEYS) == set(COMMANDS) - {"train"}  # every command that reads a run, and the report
    job = str(sweep / JOB)
    assert values(hydra_arguments("sample", [job, "n=4"])) == {"checkpoint": job, "n": 4}
    assert values(hydra_arguments("evaluate", ["n=8", JOB])) == {"n": 8, "checkpoint": JOB}  # relative, anywhere
    assert values(hydra_arguments("report", [str(sweep)])) == {"dir": str(sweep)}
    assert values(hydra_arguments("traverse", [f"{JOB}/checkpoints/ckpt-10"])) == {"checkpoint": f"{JOB}/checkpoints/ckpt-10"}
    assert values(hydra_arguments("sample", ["outputs/no/such/run"])) == {"checkpoint": "outputs/no/such/run"}
    # the values of Hydra's flags, a deletion and a group override are not runs
    assert hydra_arguments("sample", ["--cfg", "job", "-p", "hydra", JOB])[:4] == ["--cfg", "job", "-p", "hydra"]
    assert hydra_arguments("sample", ["--info", "config", "~out", "hydra/launcher=joblib"]) == [
        "--info", "config", "~out", "hydra/launcher=joblib",
    ]  # fmt: skip
    assert hydra_arguments("train", ["model=vae", "beta=4"]) == ["model=vae", "beta=4"]
    with pytest.raises(ConfigError, match=r"genlab sample reads one run, given 2: 'beta=1,model=vae', 'beta=4,model=vae'"):
        hydra_arguments("sample", [JOB, "beta=4,model=vae"])


def test_path_values_with_equals_signs_and_commas(sweep: Path) -> None:
    both = f"{JOB},beta=4,model=vae"
    assert values(hydra_arguments("sample", [f"checkpoint={JOB}"])) == {"checkpoint": JOB}
    assert values(hydra_arguments("train", [f"resume={sweep / JOB}"])) == {"resume": str(sweep / JOB)}
    # two existing job directories joined by a comma: a sweep over both, as `-m checkpoint=A,B` of plain paths
    assert values(hydra_arguments("sample", ["-m", f"checkpoint={both}"])[1:]) == {"checkpoint": [JOB, "beta=4,model=vae"]}
    (sweep / "a").mkdir()
    (sweep / "b").mkdir()
    assert hydra_arguments("sample", ["-m", "checkpoint=a,b"]) == ["-m", "checkpoint=a,b"]
    # paths that do not exist yet, where Hydra could not parse them; interpolations still resolve there
    assert values(hydra_arguments("train", ["hydra.run.dir=runs/lr=0.1,beta=4", "dataset.path=~/data"])) == {
        "hydra.run.dir": "runs/lr=0.1,beta=4",
        "dataset.path": "~/data",
    }
    assert hydra_arguments("sample", ["out=${oc.env:HOME}/x=1"]) == ["out='${oc.env:HOME}/x=1'"]
    # left as typed: values Hydra parses, quoted values, keys that take no path, group overrides
    for typed in ("checkpoint=outputs/run", "checkpoint='a=b'", "seed=1", "hydra/launcher=joblib", "+hydra/launcher=joblib"):
        assert hydra_arguments("sample", [typed]) == [typed]


@pytest.mark.parametrize("path", ["a\\b", "end\\", "it's", "a\\'b", "${seed}", "a\\${seed}", "$${x}", "C:\\dir\\\\"])
def test_a_quoted_path_reads_back_as_it_is(path: str) -> None:
    with initialize_config_module("genlab.conf", version_base="1.3"):
        assert compose("sample", overrides=[f"checkpoint={hydra_quoted(path)}"]).checkpoint == path


def test_an_override_that_does_not_parse_says_how_to_quote() -> None:
    from hydra.errors import OverrideParseException

    with pytest.raises(OverrideParseException) as error:
        OverridesParser.create().parse_overrides(["attribute=Big_Nose(x)"])
    assert config_error_message(error.value, "arithmetic").endswith(
        "(to give it as a string, quote it: \"attribute='Big_Nose(x)'\")"
    )


def test_a_resumed_run_brings_its_model_so_its_keys_can_be_given(tmp_path: Path) -> None:
    from genlab.commands.arguments import resumed_model

    import yaml

    saved = yaml.safe_load((Path(__file__).parent / "fixtures" / "vae_run_before_relayout" / ".hydra" / "config.yaml").read_text())
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)

    def save(model: str) -> None:
        (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump({**saved, "model": {**saved["model"], "name": model}}))

    save("vqvae")
    assert resumed_model([f"resume={run}", "model.prior.steps=100"]) == ["model=vqvae"]
    assert hydra_arguments("train", [f"resume={run}", "model.prior.steps=100"])[0] == "model=vqvae"
    assert resumed_model([f"resume={run}", "model=gan"]) == []  # the user's choice (which the resume then refuses)
    save("not_installed")
    assert resumed_model([f"resume={run}"]) == []  # the resume refuses it in its own words
    assert resumed_model([f"resume={tmp_path / 'missing'}"]) == []
