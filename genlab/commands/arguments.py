"""What the user typed after `genlab <command>`, as the command line Hydra reads.

genlab names a sweep job's directory after its overrides (``.../beta=1,model=vae,...``),
and Hydra's override grammar cannot take such a path as it is: ``=`` ends a key and ``,``
separates the values of a sweep. So that every path genlab wrote can be given back as
it is:

- a command that reads a run takes it as a plain argument: ``genlab sample RUN`` is
  ``genlab sample checkpoint=RUN`` (``genlab report DIR`` is ``dir=DIR``). An argument
  is that path when it is no flag and no ``key=value``, or when it names an existing path.
- the value of a key that takes a path (:data:`PATH_KEYS`) is quoted for Hydra when the
  whole value names an existing path, or when Hydra cannot parse it as it is (a ``=`` in
  it). A value Hydra parses that is not one existing path keeps its meaning, so
  ``-m checkpoint=A,B`` stays a sweep over two runs; a value with ``=`` that splits at
  commas into existing paths is such a sweep too (over job directories).

Group overrides (``hydra/launcher=joblib``) and every other key are left as typed.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Sequence

from genlab.errors import ConfigError, GenlabError

# Keys whose value is a path, in any command.
PATH_KEYS = frozenset({
    "checkpoint", "out", "dir", "resume", "inception_weights", "dataset.path", "dataset.cache_dir",
    "hydra.run.dir", "hydra.sweep.dir", "save_samples",
})  # fmt: skip
# Keys whose value is a path genlab writes to, checked as typed before Hydra makes any folder
# (genlab.rundir.outputs); each command checks them again once composed, for values set in a config.
OUTPUT_KEYS = frozenset({"out", "save_samples", "dataset.cache_dir", "hydra.run.dir", "hydra.sweep.dir"})
COMMAND_OUTPUT_KEYS = {"report": frozenset({"dir"})}
# Keys whose value is a path in one command only (report's ``samples`` is a number).
COMMAND_PATH_KEYS = {"evaluate": frozenset({"samples"})}
# The key a command's plain argument stands for: every command that reads a run, and the report.
RUN_READERS = (
    "sample", "reconstruct", "progress", "traverse", "interpolate", "manifold", "latents", "arithmetic", "neighbours",
    "evaluate",
)
POSITIONAL_KEYS = {**dict.fromkeys(RUN_READERS, "checkpoint"), "report": "dir"}
# Hydra's flags that take the next argument as their value; --info takes one of its choices.
FLAGS_WITH_VALUE = {
    "-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name", "-cd", "--config-dir",
    "--experimental-rerun",
}  # fmt: skip
INFO_FLAGS = {"-i", "--info"}
INFO_CHOICES = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}


def hydra_arguments(command: str, arguments: Sequence[str]) -> list[str]:
    """``arguments`` with the run given as a plain argument made ``key=RUN`` and path values quoted."""
    positional_key = POSITIONAL_KEYS.get(command)
    converted: list[str] = []
    paths: list[str] = []
    flag_value = None  # the flag whose value the next argument may be
    for argument in arguments:
        if flag_value is not None and (flag_value not in INFO_FLAGS or argument in INFO_CHOICES):
            converted.append(argument)
            flag_value = None
        elif argument.startswith("-"):
            converted.append(argument)
            flag_value = argument if argument in FLAGS_WITH_VALUE | INFO_FLAGS else None
        elif positional_key is not None and _is_path_argument(argument):
            check_output_argument(command, f"{positional_key}={argument}")
            paths.append(argument)
            converted.append(f"{positional_key}={hydra_quoted(argument)}")
            flag_value = None
        else:
            check_output_argument(command, argument)
            converted.append(quoted_path_override(argument, PATH_KEYS | COMMAND_PATH_KEYS.get(command, frozenset())))
            flag_value = None
    if len(paths) > 1:
        raise ConfigError(
            f"genlab {command} reads one {'directory' if positional_key == 'dir' else 'run'}, "
            f"given {len(paths)}: {', '.join(map(repr, paths))} (several: -m {positional_key}=A,B)"
        )
    if command == "train":
        converted = [*resumed_model(arguments), *converted]
    return converted


def check_output_argument(command: str, argument: str) -> None:
    """A ``key=value`` the user typed for a path genlab writes to, against the rule of where it may write."""
    key, equals, value = argument.partition("=")
    key = key.lstrip("+")
    if not equals or not value or "${" in value or key not in OUTPUT_KEYS | COMMAND_OUTPUT_KEYS.get(command, frozenset()):
        return
    from genlab.rundir.outputs import check_output_path

    check_output_path(key, value.strip("'\""))


def resumed_model(arguments: Sequence[str]) -> list[str]:
    """``model=NAME`` of the run that ``resume=RUN`` continues, unless the arguments choose a model: so the
    keys of that model (a VQ-VAE's ``model.prior.steps``) can be given when it resumes."""
    if any(argument.lstrip("+").startswith(("model=", "experiment=")) for argument in arguments):
        return []
    runs = [argument.partition("=")[2] for argument in arguments if argument.startswith("resume=")]
    if len(runs) != 1 or not runs[0]:
        return []
    from genlab.rundir.layout import load_config

    try:  # refuses what is unsafe or not installed, as the resume itself does
        return [f"model={load_config(Path(runs[0]).expanduser()).model.name}"]
    except (GenlabError, OSError, AttributeError):
        return []  # the resume then says what is wrong with the run directory


def _is_path_argument(argument: str) -> bool:
    """A plain argument, not an override: no ``=`` (and no ``~key`` deletion), or an existing path."""
    if names_existing_path(argument):
        return True
    return "=" not in argument and not argument.startswith("~")


def quoted_path_override(override: str, path_keys: frozenset[str] = PATH_KEYS) -> str:
    """``key=value`` with the value quoted for Hydra where ``key`` takes a path and the value needs it."""
    key, separator, value = override.partition("=")
    if not separator or key.lstrip("+~") not in path_keys or value[:1] in ("'", '"'):
        return override
    if names_existing_path(value):
        return f"{key}={hydra_quoted(value)}"
    if _parses(override):
        return override
    pieces = _existing_paths_at_commas(value)
    if pieces:
        return f"{key}={','.join(hydra_quoted(piece) for piece in pieces)}"
    return f"{key}={hydra_quoted(value, literal=False)}"


def names_existing_path(value: str) -> bool:
    """Whether ``value`` is a file or directory, or a checkpoint prefix (``ckpt-N``, beside its ``.index``)."""
    if not value:
        return False
    try:
        path = Path(value).expanduser()
        return path.exists() or Path(f"{path}.index").is_file()
    except (OSError, RuntimeError):  # a name too long for the file system; ~name of no user
        return False


def hydra_quoted(value: str, literal: bool = True) -> str:
    """``value`` as a quoted string of Hydra's grammar that reads back as ``value``.

    Inside quotes Hydra takes a backslash as an escape only before a quote or at the end,
    so those are doubled and quotes escaped. OmegaConf still resolves ``${...}`` in it,
    unless ``literal`` (a path on disk) escapes that too.
    """
    before = r"(?='|$|\$\{)" if literal else r"(?='|$)"
    text = re.sub(r"\\+" + before, lambda run: run.group(0) * 2, value).replace("'", "\\'")
    if literal:
        text = text.replace("${", "\\${")
    return f"'{text}'"


def _parses(override: str) -> bool:
    from hydra.errors import HydraException

    try:
        _parser().parse_override(override)
    except HydraException:  # a syntax error, or an OverrideParseException
        return False
    return True


@functools.cache
def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def _existing_paths_at_commas(value: str) -> list[str] | None:
    """Two or more existing paths that ``value`` joins with commas (longest first), if it is that."""
    segments = value.split(",")

    @functools.cache
    def split_from(start: int) -> tuple[str, ...] | None:
        if start == len(segments):
            return ()
        for end in range(len(segments), start, -1):
            piece = ",".join(segments[start:end])
            rest = split_from(end) if names_existing_path(piece) else None
            if rest is not None:
                return (piece, *rest)
        return None

    pieces = split_from(0)
    return list(pieces) if pieces is not None and len(pieces) > 1 else None
