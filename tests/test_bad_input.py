"""Bad input to every command: one short line naming the key or the file, exit code 2, no
traceback, and no run directory left behind.

The keys come from each command's composed config (conf/<command>.yaml over its schema), so
a new key is swept without an edit here. Every key gets wrong-type values and range probes;
those run in-process through what the CLI runs (Hydra's own override merge, then genlab's
checks), which is fast. A representative of each kind of mistake for every command, every
path key and every kind of broken data run through the real `genlab` CLI.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import gzip
import io
import shutil
import typing
from pathlib import Path
from typing import Any, Iterator

import fakedata
import numpy as np
import pytest
from hydra import compose, initialize_config_module
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from PIL import Image

from conftest import Result, run_genlab, tiny_train_args
from genlab.cli import COMMANDS
from genlab.commands.app import config_error_message
from genlab.config.checks import validate
from genlab.config.store import register_schemas
from genlab.data import load_dataset
from genlab.errors import GenlabError
from genlab.commands.evaluate import checked, run_evaluate, run_report
from genlab.config.evaluate import register_evaluation_schemas
from genlab.commands.render import check_render_config, run_render
from genlab.config.render import RENDER_SCHEMAS, register_render_schemas
from genlab.rundir.layout import register_resolvers

register_schemas()
register_resolvers()
register_render_schemas()
register_evaluation_schemas()

NOT_A_RUN = "/nonexistent/genlab-run"
# Required values, so that each case is refused for its own key and not for a missing one.
REQUIRED = {"report": [f"dir={NOT_A_RUN}"], "arithmetic": [f"checkpoint={NOT_A_RUN}", "attribute=x"], "train": []}
# String keys that name files or directories (checked once the command runs, through the CLI
# below) and those that name something in the run (checked against it); every other string
# key must be a choice that refuses an unknown name in-process.
PATH_KEYS = {
    "checkpoint", "out", "dir", "inception_weights", "resume", "dataset.path", "dataset.cache_dir", "samples", "save_samples",
}
# names checked against the run or its data set (tests/test_conditional_cli.py checks their refusals)
NAME_KEYS = {"attribute", "classes", "attributes", "model.condition.attributes", "model.name", "dataset.name", "optimizer.name"}
MAX_MESSAGE = 400  # characters: a message is one short line


# ----------------------------------------------------------------------------- keys of every command


CONF = Path(__file__).resolve().parents[1] / "conf"
# Train's keys depend on the model and optimizer chosen: every option of those groups is swept.
SETUPS = {
    "train": [""]
    + [f"{group}={path.stem}" for group in ("model", "optimizer") for path in sorted((CONF / group).glob("*.yaml"))]
}


@functools.cache
def base_config(command: str, setup: str = "") -> DictConfig:
    """The composed config of `genlab <command> <setup>`, its required keys given."""
    overrides = REQUIRED.get(command, [f"checkpoint={NOT_A_RUN}"]) + ([setup] if setup else [])
    with initialize_config_module(config_module="genlab.conf", version_base="1.3"):
        return compose(config_name=command, overrides=overrides)


@dataclasses.dataclass(frozen=True)
class Key:
    command: str
    name: str  # the full key, e.g. n or trainer.batch_size
    kind: str  # int, float, bool, str, list[int], list[float] or any
    optional: bool
    setup: str = ""  # the group choice that brings the key in, e.g. model=gan

    def __str__(self) -> str:
        return f"{self.command}:{self.name}"


def kind_of(hint: Any) -> tuple[str, bool]:
    optional = typing.get_origin(hint) is typing.Union and type(None) in typing.get_args(hint)
    if optional:
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if typing.get_origin(hint) is list:
        return f"list[{typing.get_args(hint)[0].__name__}]", optional
    return getattr(hint, "__name__", "any").lower(), optional


def leaves(cfg: DictConfig, command: str, setup: str, prefix: str = "") -> Iterator[Key]:
    schema = OmegaConf.get_type(cfg)
    hints = typing.get_type_hints(schema) if dataclasses.is_dataclass(schema) else {}
    for key in cfg.keys():
        node = cfg._get_node(key)
        if isinstance(node, DictConfig):
            yield from leaves(node, command, setup, f"{prefix}{key}.")
        else:
            yield Key(command, f"{prefix}{key}", *kind_of(hints.get(key, Any)), setup)


def all_keys() -> list[Key]:
    """Every key of every command, once (with the first setup that brings it in)."""
    keys: dict[tuple[str, str], Key] = {}
    for command in COMMANDS:
        for setup in SETUPS.get(command, [""]):
            for key in leaves(base_config(command, setup), command, setup):
                keys.setdefault((key.command, key.name), key)
    return list(keys.values())


ALL_KEYS = all_keys()
NON_TRAIN_KEYS = [key for key in ALL_KEYS if key.command != "train"]


def test_every_command_and_its_keys_are_swept() -> None:
    assert {key.command for key in ALL_KEYS} == set(COMMANDS)
    for command, schema in RENDER_SCHEMAS.items():  # every field of every render schema is a key
        assert {field.name for field in dataclasses.fields(schema)} == {k.name for k in ALL_KEYS if k.command == command}
    assert {"trainer.batch_size", "model.encoder.widths", "dataset.path", "optimizer.learning_rate"} <= {
        key.name for key in ALL_KEYS if key.command == "train"
    }
    assert all(key.kind != "any" for key in ALL_KEYS), [str(key) for key in ALL_KEYS if key.kind == "any"]


# ----------------------------------------------------------------------------- in-process: what the CLI runs


def check(command: str, cfg: DictConfig) -> Any:
    """The config checks `genlab <command>` runs before it touches any file."""
    if command == "train":
        return validate(cfg)
    if command in ("evaluate", "report"):
        return checked(cfg, command)
    return check_render_config(command, cfg)


def apply_override(cfg: DictConfig, override: str) -> None:
    """Hydra's own merge of one command-line override into a composed config (what compose does)."""
    ConfigLoaderImpl._apply_overrides_to_config(OverridesParser.create().parse_overrides([override]), cfg)


def refusal(command: str, override: str, setup: str = "") -> str | None:
    """The error line `genlab <command> <setup> <override>` prints, or None when the config is accepted.

    Any exception other than Hydra's, OmegaConf's or genlab's own fails the test.
    """
    cfg = copy.deepcopy(base_config(command, setup))
    try:
        apply_override(cfg, override)
    except (HydraException, OmegaConfBaseException) as error:
        return config_error_message(error, command)
    try:
        check(command, cfg)
    except GenlabError as error:
        return str(error)
    return None


def assert_clean(message: str, key: Key | str, override: str, related: bool = False) -> None:
    """One short line naming the key (or, for a rule between keys, one in the same group)."""
    name = key.name if isinstance(key, Key) else key
    assert "\n" not in message and len(message) <= MAX_MESSAGE, (override, message)
    assert "Traceback" not in message and message.strip(), (override, message)
    named = name in message or name.rsplit(".", 1)[-1] in message
    group = name.rpartition(".")[0]
    assert named or (related and group and f"{group}." in message), (override, message)


WRONG_TYPE = {
    "int": ["abc", "1.5", "[1]", "true"],
    "float": ["abc", "[1.0]", "{a: 1}"],
    "bool": ["maybe", "[true]"],
    "str": ["[a,b]", "{a: 1}"],
    "list[int]": ["abc", "[a]", "[1.5]", "{a: 1}", "[[1]]"],
    "list[float]": ["abc", "[a]", "[[1]]"],
}
RANGE_PROBES = {
    "int": ["-1", "0", str(2**32), str(10**15)],
    "float": ["nan", "inf", "-inf", "-1.0", "0.0", "1e9"],
    "list[int]": ["[]", "[-1]", "[0,0]", "[0,1,2,3,4,5,6,7]", "[3,3,3]"],
    "list[float]": ["[]", "[nan]", "[inf]"],
    "list[str]": ["[no-such-name]"],
    "str": ["no-such-name", "''"],
    "bool": [],
}


# Known gaps in genlab train's schema, kept visible: strict, so a fix shows up here.
TRAIN_GAPS: dict[str, str] = {}


def known_gap(case: str, *values: Any) -> Any:
    marks = [pytest.mark.xfail(reason=TRAIN_GAPS[case], strict=True)] if case in TRAIN_GAPS else []
    return pytest.param(*values, id=case, marks=marks)


def wrong_type_cases() -> list[Any]:
    cases = []
    for key in ALL_KEYS:
        values = list(WRONG_TYPE.get(key.kind, []))
        if not key.optional:
            values.append("null")
        cases += [known_gap(f"{key}={value}", key, value) for value in values]
    return cases


@pytest.mark.parametrize("key, value", wrong_type_cases())
def test_wrong_type_is_refused_naming_the_key(key: Key, value: str) -> None:
    override = f"{key.name}={value}"
    message = refusal(key.command, override, key.setup)
    assert message is not None, f"genlab {key.command} {key.setup} {override} was accepted"
    assert_clean(message, key, override)


@pytest.mark.parametrize("key", [known_gap(str(key), key) for key in ALL_KEYS if key.kind != "bool"])
def test_out_of_range_values_are_refused_naming_the_key(key: Key) -> None:
    """Every probe that is refused names the key; every number has a range; string keys are
    a path, a name checked against the run, or a choice that refuses an unknown name."""
    refused = {}
    for value in RANGE_PROBES[key.kind]:
        override = f"{key.name}={value}"
        message = refusal(key.command, override, key.setup)
        if message is not None:
            assert_clean(message, key, override, related=True)
            refused[value] = message
    if key.kind == "str":
        if key.name in PATH_KEYS:
            if key.name in ("checkpoint", "out", "dir", "inception_weights"):  # an empty path is refused
                assert "''" in refused, (str(key), refused)
        elif key.name not in NAME_KEYS:
            assert "no-such-name" in refused and "must be one of" in refused["no-such-name"], (str(key), refused)
    elif key.name not in NAME_KEYS:
        assert refused, f"{key}: no value of {RANGE_PROBES[key.kind]} is refused; has the key no range?"


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_keys_are_named(command: str) -> None:
    for override in ("no_such_key=1", "+no_such_key=1"):
        message = refusal(command, override)
        assert message is not None and "no_such_key: not a key of genlab" in message, (command, override, message)
        assert_clean(message, "no_such_key", override)


def test_missing_required_keys_are_named() -> None:
    for command in COMMANDS:
        if command == "train":  # its required keys are the config groups, always composed
            continue
        schema = OmegaConf.get_type(base_config(command))
        required = [field.name for field in dataclasses.fields(schema) if field.default == MISSING]
        if command == "evaluate":  # a run or images made elsewhere: checkpoint= is asked for without either
            assert not required
            cfg = copy.deepcopy(base_config(command))
            cfg.checkpoint = None
            with pytest.raises(GenlabError, match=r"^checkpoint= is required.*or samples=PATH dataset=NAME"):
                check(command, cfg)
            continue
        assert required, command
        for name in required:
            cfg = copy.deepcopy(base_config(command))
            cfg[name] = MISSING
            with pytest.raises(GenlabError, match=rf"^{name}= is required"):
                check(command, cfg)


# The in-process merge is Hydra's: composing with the override gives the same message.
SAME_AS_COMPOSE = [
    ("sample", "n=abc"),
    ("sample", "nn=1"),
    ("traverse", "dims=[a]"),
    ("evaluate", "features=[a]"),
    ("report", "samples=null"),
    ("train", "trainer.stepz=5"),
    ("train", "model.encoder.widths=[a]"),
]


@pytest.mark.parametrize("command, override", SAME_AS_COMPOSE)
def test_in_process_merge_matches_hydra_compose(command: str, override: str) -> None:
    overrides = [*REQUIRED.get(command, [f"checkpoint={NOT_A_RUN}"]), override]
    with initialize_config_module(config_module="genlab.conf", version_base="1.3"):
        with pytest.raises((HydraException, OmegaConfBaseException)) as composed:
            compose(config_name=command, overrides=overrides)
    assert config_error_message(composed.value, command) == refusal(command, override)


# ----------------------------------------------------------------------------- property: random values

SCALARS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        ["null", "true", "false", "''", "lerp", "domain", "[]", "[1,2]", "[0]", "[-3,2]", "[0.5,nan]", "{a: 1}",
         "[[1]]", "${oc.env:NO_SUCH_VARIABLE}", "${nope}", "'???'", "[a", "1,2", "a b", "\\$"]
    ),
    st.text(alphabet="abcxyz019._-/~", min_size=1, max_size=10),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(NON_TRAIN_KEYS), value=SCALARS)
def test_random_values_are_accepted_or_refused_cleanly(key: Key, value: str) -> None:
    """Accepted, or refused by Hydra, OmegaConf or genlab with one line naming the key or quoting the override."""
    override = f"{key.name}={value}"
    message = refusal(key.command, override, key.setup)
    if message is not None:
        assert "\n" not in message and len(message) <= MAX_MESSAGE, (override, message)
        assert key.name in message or repr(override) in message, (override, message)


# ----------------------------------------------------------------------------- the real CLI


@pytest.fixture(scope="module")
def runs(trained_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Copies of two shared runs, and one whose training never reached a checkpoint."""
    root = tmp_path_factory.mktemp("bad-input-runs")
    copies = {name: Path(shutil.copytree(trained_runs[name], root / name)) for name in ("vae", "gan")}
    unstarted = Path(shutil.copytree(trained_runs["vae"], root / "unstarted"))
    shutil.rmtree(unstarted / "checkpoints")
    return {**copies, "unstarted": unstarted}


def assert_refused(result: Result, named: str, cwd: Path) -> None:
    """Exit code 2, one `genlab: error:` line naming ``named``, nothing on stdout, no traceback, no run left."""
    assert result.returncode == 2, result.output
    assert "Traceback" not in result.output, result.output
    assert result.stdout == "", result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("genlab: error: ")]
    assert len(errors) == 1 and named in errors[0], result.stderr
    assert len(errors[0]) <= MAX_MESSAGE + 20, errors[0]
    assert not list(cwd.glob("outputs/*/*")), sorted(cwd.rglob("*"))


# (command line with {placeholders}, what the error line names)
CONFIG_CASES = [
    # a wrong type, one kind of key per command (refused by Hydra while composing)
    ("sample checkpoint={vae} n=abc", "n: Value 'abc' of type 'str' could not be converted to Integer"),
    ("reconstruct checkpoint={vae} columns=1.5", "columns: Value '1.5' of type 'float'"),
    ("progress checkpoint={vae} labels=maybe", "labels: Value 'maybe' is not a valid bool"),
    ("traverse checkpoint={vae} dims=[a]", "dims[0]: Value 'a'"),
    ("interpolate checkpoint={vae} method=[lerp]", "method: Cannot convert 'list' to string"),
    ("manifold checkpoint={vae} n=null", "n: must not be null"),
    ("latents checkpoint={vae} dims=abc", "dims: Invalid value assigned: str is not a ListConfig"),
    ("arithmetic checkpoint={vae} attribute=3 alphas=[x]", "alphas[0]: Value 'x'"),
    ("evaluate checkpoint={vae} features={{a:1}}", "features: Cannot convert 'dict' to string"),
    ("report {vae} samples=many", "samples: Value 'many'"),
    # out of range or an unknown name, one per command (refused by genlab's schema)
    ("sample checkpoint={vae} temperature=inf", "temperature must be a finite number (got inf)"),
    ("reconstruct checkpoint={vae} n=0", "n must be in [1, 4096] (got 0)"),
    ("progress checkpoint={vae} fps=100", "fps must be in (0, 50] (got 100.0)"),
    ("traverse checkpoint={vae} range=-1", "range must be > 0 (got -1.0)"),
    ("interpolate checkpoint={vae} method=cubic", "method must be one of lerp, slerp (got 'cubic')"),
    ("manifold checkpoint={vae} dims=[0,0]", "dims entries must be different (got [0, 0])"),
    ("latents checkpoint={vae} n=1", "n must be >= 2 (got 1)"),
    ("arithmetic checkpoint={vae} attribute=3 n=1000", "n must be in [1, 256] (got 1000)"),
    ("evaluate checkpoint={vae} seed=-1", "seed must be in [0, 4294967295] (got -1)"),
    ("report {vae} padding=100", "padding must be in [0, 64] (got 100)"),
    # unknown keys, missing required keys, an override that does not parse
    ("sample checkpoint={vae} nn=1", "nn: not a key of genlab sample (keys: checkpoint, out,"),
    ("evaluate checkpoint={vae} +nn=1", "nn: not a key of genlab evaluate (keys: checkpoint, samples, dataset, save_samples, n,"),
    ("sample", "checkpoint= is required"),
    ("arithmetic checkpoint={vae}", "attribute= is required"),
    ("evaluate", "checkpoint= is required"),
    ("report", "dir= is required"),
    ("sample checkpoint={vae} n=[1,2", "cannot parse the override 'n=[1,2'"),
    ("arithmetic {vae} attribute=a=b", "(to give it as a string, quote it: \"attribute='a=b'\")"),
    ("train trainer.steps=abc", "trainer.steps: Value 'abc' of type 'str' could not be converted to Integer"),
]

PATH_CASES = [
    # checkpoint: missing, a file, a directory that is not a run, a run without checkpoints, a wrong number, empty
    ("sample checkpoint={tmp}/nowhere", "checkpoint={tmp}/nowhere: no such file or directory"),
    ("sample checkpoint={vae}/run_info.json", "checkpoint={vae}/run_info.json: not a run directory nor"),
    ("traverse checkpoint={tmp}", "is not a genlab run directory"),
    ("latents checkpoint={unstarted}", "the run has no checkpoint yet"),
    ("manifold checkpoint={vae}/checkpoints/ckpt-7", "no checkpoint ckpt-7; checkpoints in"),
    ("interpolate checkpoint=", "checkpoint must not be empty"),
    ("evaluate checkpoint={vae}/history.jsonl", "not a run directory nor a checkpoint prefix"),
    # out: inside this run's or another run's checkpoints, an existing file, below a file, empty
    ("sample checkpoint={vae} out={vae}/checkpoints", "inside a run's checkpoints/ directory"),
    ("reconstruct checkpoint={vae} out={gan}/checkpoints/pictures", "inside a run's checkpoints/ directory"),
    ("progress checkpoint={vae} out={vae}/run_info.json", "{vae}/run_info.json exists and is not a directory"),
    ("traverse checkpoint={vae} out={vae}/run_info.json/pictures", "{vae}/run_info.json is a file, so"),
    ("manifold checkpoint={vae} out=", "out must not be empty"),
    # dir: missing, a file, a directory without runs
    ("report {tmp}/nowhere", "dir={tmp}/nowhere: no such directory"),
    ("report dir={vae}/run_info.json", "{vae}/run_info.json is a file, not a directory"),
    ("report {tmp}", "no run directories"),
    # inception_weights: missing, a directory
    (
        "evaluate checkpoint={vae} features=inception inception_weights={tmp}/none.h5",
        "inception_weights={tmp}/none.h5: no such file",
    ),
    ("evaluate checkpoint={vae} features=both inception_weights={tmp}", "is a directory, not a weights file"),
    # a name checked against the run
    ("arithmetic checkpoint={vae} attribute=Sneaker", "attribute=Sneaker is not a class or attribute of mnist"),
    # resume: a file, not a run
    ("train resume={vae}/run_info.json", "not a genlab run directory"),
    # samples made elsewhere: missing, not images, without their data set, beside a run; save_samples not new
    ("evaluate samples={tmp}/nowhere dataset=mnist", "samples={tmp}/nowhere: no such file or directory"),
    ("evaluate samples={vae}/history.jsonl dataset=mnist", "give a folder of PNG/JPEG images or an .npy/.npz array"),
    ("evaluate samples={tmp}", "samples= needs dataset=NAME"),
    ("evaluate checkpoint={vae} samples={tmp} dataset=mnist", "checkpoint= and samples= cannot be combined"),
    ("evaluate checkpoint={vae} dataset=mnist", "dataset= goes with samples="),
    ("evaluate checkpoint={vae} save_samples={vae}", "exists and is not an empty folder; name a new one"),
    ("neighbours checkpoint={vae} k=0", "k must be in [1, 32] (got 0)"),
]


def cli_params(cases: list[Any]) -> list[Any]:
    return [case if hasattr(case, "marks") else pytest.param(*case, id=case[0]) for case in cases]


@pytest.mark.slow
@pytest.mark.parametrize("command, named", cli_params(CONFIG_CASES + PATH_CASES))
def test_cli_refuses_bad_input_in_one_line(command: str, named: str, runs: dict[str, Path], tmp_path: Path) -> None:
    places = {**{name: str(path) for name, path in runs.items()}, "tmp": str(tmp_path)}
    before = {path: path.stat().st_mtime_ns for path in runs["vae"].rglob("*")}
    result = run_genlab(*command.format(**places).split(" "), cwd=tmp_path)
    assert_refused(result, named.format(**places), tmp_path)
    assert {path: path.stat().st_mtime_ns for path in runs["vae"].rglob("*")} == before  # the run is untouched
    assert not (runs["vae"] / "renders").exists()


# In-process, every command taking a path: the same checks as the CLI cases above, for every command.
PATH_COMMANDS = [command for command in COMMANDS if command not in ("train", "report")]


def preflight(command: str, overrides: list[str]) -> None:
    """Everything `genlab <command>` does before rendering or evaluating (no TensorFlow)."""
    cfg = copy.deepcopy(base_config(command))
    for override in overrides:
        apply_override(cfg, override)
    if command == "evaluate":
        run_evaluate(cfg)
    elif command == "report":
        run_report(cfg)
    else:
        run_render(command, lambda job: pytest.fail(f"genlab {command} went on to render"), cfg)


@pytest.mark.slow
@pytest.mark.parametrize("command", PATH_COMMANDS)
def test_every_command_refuses_bad_paths(command: str, runs: dict[str, Path], tmp_path: Path) -> None:
    vae, gan = runs["vae"], runs["gan"]
    (tmp_path / "file").write_text("x")
    cases = {
        f"checkpoint={tmp_path / 'nowhere'}": "no such file or directory",
        f"checkpoint={tmp_path / 'file'}": "not a run directory nor a checkpoint prefix",
        f"checkpoint={tmp_path}": "is not a genlab run directory",
        f"checkpoint={runs['unstarted']}": "the run has no checkpoint yet",
        f"checkpoint={vae / 'checkpoints' / 'ckpt-7'}": "no checkpoint ckpt-7",
    }
    if command != "evaluate":
        cases.update({
            f"out={gan / 'checkpoints'}": "inside a run's checkpoints/ directory",
            f"out={tmp_path / 'file'}": "exists and is not a directory",
            f"out={tmp_path / 'file' / 'below'}": "is a file, so",
        })
    for override, message in cases.items():
        overrides = [override] if override.startswith("checkpoint=") else [f"checkpoint={vae}", override]
        with pytest.raises(GenlabError) as refused:
            preflight(command, overrides)
        text = str(refused.value)
        assert message in text and override.split("=")[0] in text and "\n" not in text, (override, text)
    assert not (vae / "renders").exists() and not (gan / "checkpoints" / "pictures").exists()


@pytest.mark.slow
def test_report_refuses_bad_dirs(runs: dict[str, Path], tmp_path: Path) -> None:
    for directory, message in ((tmp_path / "nowhere", "no such directory"), (runs["vae"] / "run_info.json", "is a file")):
        with pytest.raises(GenlabError, match=message):
            preflight("report", [f"dir={directory}"])


@pytest.mark.slow
def test_a_file_that_cannot_be_written_is_named(runs: dict[str, Path], tmp_path: Path) -> None:
    """A write that fails (here a directory in the GIF's place) names the file, not a traceback."""
    from genlab.render.progress import render_progress

    blocked = tmp_path / "pictures" / "progress_step20.gif"
    blocked.mkdir(parents=True)
    cfg = copy.deepcopy(base_config("progress"))
    apply_override(cfg, f"checkpoint={runs['vae']}")
    apply_override(cfg, f"out={tmp_path / 'pictures'}")
    with pytest.raises(GenlabError, match=rf"^cannot write {blocked} \(out=.*pictures\): "):
        run_render("progress", render_progress, cfg)


@pytest.mark.slow
def test_report_names_a_file_it_cannot_write(runs: dict[str, Path], tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    shutil.copytree(runs["vae"], sweep / "a")
    (sweep / "report.md").mkdir()  # a directory where the report goes
    result = run_genlab("report", str(sweep), "evaluate=false", "samples=4", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.output, result.output
    assert f"genlab: error: {sweep / 'report.md'}: Is a directory" in result.stderr


# ----------------------------------------------------------------------------- broken data through `genlab train`


def write_folder(directory: Path, files: dict[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory


def png_bytes(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def broken_data(root: Path) -> dict[str, tuple[list[str], str]]:
    """case -> (dataset overrides, what the error line names), with the files written under ``root``."""
    folder = ["dataset=folder", "dataset.image_size=16"]
    empty = root / "empty"
    empty.mkdir()
    not_images = write_folder(root / "not-images", {"notes.txt": b"hi", "table.csv": b"1,2\n", "anim.gif": b"GIF89a"})
    undecodable = fakedata.write_image_folder(root / "undecodable", n=0, classes=(), corrupt=4)
    one = write_folder(root / "one", {"only.png": png_bytes(np.zeros((20, 20, 3), np.uint8))})
    a_file = root / "a-file.png"
    a_file.write_bytes(png_bytes(np.zeros((8, 8), np.uint8)))

    def idx(name: str) -> Path:
        return fakedata.write_idx_dataset(root / name, n_train=32, n_test=8)

    truncated = idx("idx-truncated") / "train-images-idx3-ubyte.gz"
    truncated.write_bytes(gzip.compress(gzip.decompress(truncated.read_bytes())[:5000]))
    magic = idx("idx-magic") / "t10k-labels-idx1-ubyte.gz"
    magic.write_bytes(gzip.compress(b"\x08\x03" + gzip.decompress(magic.read_bytes())[2:]))
    cut_gzip = idx("idx-cut-gzip") / "t10k-images-idx3-ubyte.gz"
    cut_gzip.write_bytes(cut_gzip.read_bytes()[:300])
    no_images = idx("idx-no-images")
    fakedata.write_idx(no_images / "train-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8))
    fakedata.write_idx(no_images / "train-labels-idx1-ubyte.gz", np.zeros((0,), np.uint8))
    sizes = idx("idx-sizes")
    fakedata.write_idx(sizes / "t10k-images-idx3-ubyte.gz", np.zeros((8, 32, 32), np.uint8))
    grey_records = fakedata.write_cifar10_binary(root / "cifar-grey", as_tar=False, test_batch=bytes(1025 * 5))
    no_test = fakedata.write_cifar10_binary(root / "cifar-no-test", as_tar=False, test_batch=b"")

    def mnist(path: Path, source: str = "mnist") -> list[str]:
        return [f"dataset={source}", f"dataset.path={path}"]

    return {
        "folder: empty directory": ([*folder, f"dataset.path={empty}"], f"no .jpg/.jpeg/.png images under {empty}"),
        "folder: only other files": ([*folder, f"dataset.path={not_images}"], f"images under {not_images}"),
        "folder: none decodable": ([*folder, f"dataset.path={undecodable}"], "none of the 4 images"),
        "folder: one picture, no test split": ([*folder, f"dataset.path={one}"], "folder: the test split holds no"),
        "folder: path is a file": ([*folder, f"dataset.path={a_file}"], f"{a_file} is not a directory"),
        "folder: path does not exist": ([*folder, f"dataset.path={root / 'nowhere'}"], "nowhere does not exist"),
        "mnist: path is a file": (mnist(a_file), f"dataset.path={a_file} is a file"),
        "mnist: empty directory": (mnist(empty), f"not found in {empty} (dataset.path)"),
        "mnist: truncated images": (mnist(truncated.parent), f"{truncated}: header says"),
        "fashion_mnist: wrong magic": (mnist(magic.parent, "fashion_mnist"), f"{magic} is not an IDX file"),
        "mnist: cut-off gzip": (mnist(cut_gzip.parent), f"cannot read {cut_gzip}"),
        "mnist: no training images": (mnist(no_images), "mnist: the train split holds no images"),
        "mnist: train and test sizes differ": (mnist(sizes), "train images are (28, 28) but test images (32, 32)"),
        "cifar10: records of another shape": (mnist(grey_records, "cifar10"), "test_batch.bin has 5125 bytes"),
        "cifar10: empty test batch": (mnist(no_test, "cifar10"), "cifar10: the test split holds no images"),
        "cifar10: path is a file": (mnist(a_file, "cifar10"), f"cannot read {a_file}"),
    }


BROKEN_DATA_CASES = [
    "folder: empty directory", "folder: only other files", "folder: none decodable",
    "folder: one picture, no test split", "folder: path is a file", "folder: path does not exist",
    "mnist: path is a file", "mnist: empty directory", "mnist: truncated images", "fashion_mnist: wrong magic",
    "mnist: cut-off gzip", "mnist: no training images", "mnist: train and test sizes differ",
    "cifar10: records of another shape", "cifar10: empty test batch", "cifar10: path is a file",
]
# Through the real CLI (each imports TensorFlow before it reads data: a few seconds each), one case of
# every way of failing; every case runs in-process through load_dataset, the function the trainer calls.
BROKEN_DATA_CLI_CASES = [
    "folder: empty directory", "folder: none decodable", "folder: one picture, no test split",
    "mnist: path is a file", "mnist: truncated images", "cifar10: records of another shape", "cifar10: empty test batch",
]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[str], str]]:
    cases = broken_data(tmp_path_factory.mktemp("broken-data"))
    assert sorted(cases) == sorted(BROKEN_DATA_CASES)
    return cases


@pytest.mark.parametrize("case", BROKEN_DATA_CASES)
def test_broken_data_is_refused_naming_the_file(case: str, broken: dict[str, tuple[list[str], str]]) -> None:
    dataset_args, named = broken[case]
    with initialize_config_module(config_module="genlab.conf", version_base="1.3"):
        cfg = compose(config_name="train", overrides=[*dataset_args, "dataset.download=false"])
    with pytest.raises(GenlabError) as refused:
        load_dataset(validate(cfg).dataset)
    assert named in str(refused.value) and "\n" not in str(refused.value), str(refused.value)


@pytest.mark.slow
@pytest.mark.parametrize("case", BROKEN_DATA_CLI_CASES)
def test_train_on_broken_data_leaves_no_run(case: str, broken: dict[str, tuple[list[str], str]], tmp_path: Path) -> None:
    dataset_args, named = broken[case]
    result = run_genlab(*tiny_train_args("vae", [*dataset_args, "dataset.download=false"], steps=10), cwd=tmp_path)
    assert_refused(result, named, tmp_path)
