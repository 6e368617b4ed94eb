"""A run directory: where it is, what it holds, and the config it was trained with."""
from __future__ import annotations

import hashlib
import json
import shutil
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from omegaconf import DictConfig, ListConfig, OmegaConf

from genlab.config.models import model_specs
from genlab.config.schema import OPTIMIZER_SCHEMAS
from genlab.config.store import config_groups_text
from genlab.data import SOURCES
from genlab.errors import ConfigError, GenlabError
from genlab.files import read_json, write_text_atomically

if TYPE_CHECKING:
    from genlab.data.base import ImageSet

CONFIG_FILE = Path(".hydra") / "config.yaml"
OVERRIDES_FILE = Path(".hydra") / "overrides.yaml"
CHECKPOINT_DIR = "checkpoints"
TENSORBOARD_DIR = "tensorboard"
PROGRESS_DIR = "progress"
RENDERS_DIR = "renders"
RUN_INFO_FILE = "run_info.json"
HISTORY_FILE = "history.jsonl"
LOCK_FILE = ".lock"
CHECKPOINT_STATE_FILE = "checkpoint"  # written by tf.train.CheckpointManager beside the checkpoints
_NUMBERED = re.compile(r"-(\d+)$")


def new_run_dir(resume: str | None, model: str, dataset: str, stamp: str) -> str:
    """The directory of a new single run, created atomically so no two runs share it.

    With ``resume`` set, the run directory is the one being resumed.
    """
    if resume not in (None, "", "None", "null"):
        resumed = Path(resume).expanduser().resolve()
        if not (resumed / CONFIG_FILE).is_file():
            # Before Hydra creates the directory; the command ends with this line (see clean_config_errors).
            raise ConfigError(f"resume={resume}: not a genlab run directory (no {CONFIG_FILE} in {resumed})")
        return str(resumed)
    key = (model, dataset, stamp)
    if key not in _created_run_dirs:
        _created_run_dirs[key] = _create_run_dir(model, dataset, stamp)
    return _created_run_dirs[key]


# Hydra resolves hydra.run.dir several times; each resolution must name the same new directory.
_created_run_dirs: dict[tuple[str, str, str], str] = {}
# The folders above a run directory that genlab created for it (outputs/, outputs/<model>-<dataset>/).
_created_parents: set[Path] = set()


def _create_run_dir(model: str, dataset: str, stamp: str) -> str:
    parent = Path("outputs") / f"{model}-{dataset}"
    for folder in (parent.parent, parent):
        try:
            folder.mkdir()
            _created_parents.add(folder.resolve())
        except FileExistsError:
            pass
    for attempt in range(1000):
        candidate = parent / (stamp if attempt == 0 else f"{stamp}_{attempt}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return str(candidate)
    raise GenlabError(f"could not create a new run directory under {parent}")


MAX_JOB_DIR_NAME = 200


def job_dir_name(override_dirname: str) -> str:
    """A sweep job's sub-directory: its overrides, made safe as one path component.

    Replacing characters or shortening a long name could make two jobs' names equal;
    such names end in a hash of the full overrides instead.
    """
    name = re.sub(r"[^A-Za-z0-9=,._+-]", "_", override_dirname)
    if name == override_dirname and len(name) <= MAX_JOB_DIR_NAME:
        return name or "default"
    digest = hashlib.sha256(override_dirname.encode()).hexdigest()[:12]
    return f"{name[: MAX_JOB_DIR_NAME - len(digest) - 1]}_{digest}"


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("genlab_run_dir"):
        OmegaConf.register_new_resolver("genlab_run_dir", new_run_dir)
    if not OmegaConf.has_resolver("genlab_job_dir"):
        OmegaConf.register_new_resolver("genlab_job_dir", job_dir_name)
    if not OmegaConf.has_resolver("genlab_config_groups"):
        OmegaConf.register_new_resolver("genlab_config_groups", config_groups_text)


def save_config(run_dir: Path, cfg: DictConfig, overrides: list[str]) -> None:
    """Write the resolved config and the command-line overrides, atomically."""
    target = run_dir / CONFIG_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(target, OmegaConf.to_yaml(cfg, resolve=True))
    write_text_atomically(run_dir / OVERRIDES_FILE, OmegaConf.to_yaml(OmegaConf.create(list(overrides))))


def load_config(run_dir: Path) -> DictConfig:
    """The run's saved config, checked so that nothing in it is ever evaluated.

    A run directory may come from someone else. genlab saves configs resolved, so an
    interpolation (``${oc.env:...}``, or a resolver such as ``genlab_run_dir``, which
    creates directories) is refused, never resolved; so is a ``_target_`` key, and a
    model name that is not installed, or an optimizer or dataset name that is not genlab's
    (a ConfigError: every command refuses such a run rather than skipping it).
    """
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise GenlabError(f"{run_dir} is not a genlab run directory: {CONFIG_FILE} is missing")
    cfg = _load_yaml(path)
    if not isinstance(cfg, DictConfig):
        raise GenlabError(f"{path} does not hold a config mapping")
    plain = OmegaConf.to_container(cfg, resolve=False)
    for key, value in _walk(plain):
        if key.rsplit(".", 1)[-1] == "_target_":
            raise ConfigError(f"{path}: {key}: class paths are never instantiated from a saved config; refusing it")
        if isinstance(value, str) and "${" in value:
            raise ConfigError(f"{path}: {key} holds an interpolation ({value[:60]!r}); saved configs are resolved, refusing it")
    for group, known, what in (
        ("model", model_specs(), "an installed model (genlab's own, or one another installed package registers)"),
        ("optimizer", OPTIMIZER_SCHEMAS, "one of genlab's optimizers"),
        ("dataset", SOURCES, "one of genlab's data sets"),
    ):
        section = plain.get(group)
        name = section.get("name") if isinstance(section, dict) else None
        if not isinstance(name, str) or name not in known:
            raise ConfigError(f"{path}: {group}.name={name!r} is not {what}: {', '.join(sorted(known))}")
    return cfg


def _load_yaml(path: Path) -> DictConfig | ListConfig:
    """OmegaConf's YAML loader is a safe one (no Python tags); its errors become one line."""
    try:
        return OmegaConf.load(path)
    except Exception as error:  # yaml and OmegaConf errors come in many types
        raise GenlabError(f"cannot read {path}: {' '.join(str(error).split())}") from None


def _walk(node: object, key: str = "") -> Iterator[tuple[str, object]]:
    """(dotted key, value) of every node of a plain container, the containers included."""
    yield key, node
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for name, child in children:
        yield from _walk(child, f"{key}[{name}]" if isinstance(node, list) else f"{key}.{name}" if key else str(name))


def load_overrides(run_dir: Path) -> list[str]:
    """The command-line overrides the run was started with, as written (never resolved)."""
    path = run_dir / OVERRIDES_FILE
    if not path.is_file():
        return []
    overrides = OmegaConf.to_container(_load_yaml(path), resolve=False)
    if not isinstance(overrides, list) or any(isinstance(item, (dict, list)) for item in overrides):
        raise GenlabError(f"{path} does not hold a list of overrides")
    return [str(item) for item in overrides]


# What genlab itself writes into a run directory before the first checkpoint.
_UNSTARTED_ENTRIES = {".hydra", "train.log", TENSORBOARD_DIR, PROGRESS_DIR, CHECKPOINT_DIR, HISTORY_FILE, RUN_INFO_FILE, LOCK_FILE}


def has_checkpoint(run_dir: Path) -> bool:
    """Whether the run holds any checkpoint (even with a damaged state file)."""
    return bool(list_checkpoints(run_dir / CHECKPOINT_DIR))


def discard_unstarted(run_dir: Path) -> bool:
    """Undo the start of a run that failed before its first checkpoint.

    Only a directory holding nothing but what genlab writes at start-up is touched.
    A directory genlab created for this run is removed; one that was named on the
    command line (``hydra.run.dir``, a sweep job) keeps existing, emptied of genlab's
    files, because genlab never deletes a directory it did not create.
    """
    if not run_dir.is_dir() or has_checkpoint(run_dir):
        return False
    entries = list(run_dir.iterdir())
    if any(entry.name not in _UNSTARTED_ENTRIES for entry in entries):
        return False
    if run_dir.resolve() in {Path(created).resolve() for created in _created_run_dirs.values()}:
        shutil.rmtree(run_dir)
        for folder in (run_dir.resolve().parent, run_dir.resolve().parent.parent):
            if folder in _created_parents and not any(folder.iterdir()):
                folder.rmdir()
        return True
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return True


def save_run_info(run_dir: Path, data: "ImageSet", precision: str) -> None:
    """What the run was trained on and how, so renders rebuild the model without loading the data."""
    info = {
        "precision": precision,
        "name": data.name,
        "image_shape": list(data.image_shape),
        "num_train": data.num_train,
        "num_test": int(data.test_images.shape[0]),
        "class_names": data.class_names,
        "attribute_names": data.attribute_names,
    }
    write_text_atomically(run_dir / RUN_INFO_FILE, json.dumps(info, indent=2) + "\n")


def _names(value: object) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(item, str) for item in value))


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# What save_run_info writes, checked on reading: a run directory may come from elsewhere.
_RUN_INFO_FIELDS = {
    "image_shape": (lambda value: isinstance(value, list) and len(value) == 3 and all(_count(side) and side > 0 for side in value),
                    "a list of 3 positive integers (height, width, channels)"),
    "precision": (lambda value: isinstance(value, str), "a string"),
    "name": (lambda value: isinstance(value, str), "a string"),
    "num_train": (_count, "a count"),
    "num_test": (_count, "a count"),
    "class_names": (_names, "a list of strings or null"),
    "attribute_names": (_names, "a list of strings or null"),
}


def load_run_info(run_dir: Path) -> dict:
    """run_info.json, checked: a GenlabError naming the file and the field that does not fit."""
    path = run_dir / RUN_INFO_FILE
    info = read_json(path)
    if not isinstance(info, dict):
        raise GenlabError(f"{path}: not a mapping of fields, as genlab train writes")
    if "image_shape" not in info:
        raise GenlabError(f"{path}: no 'image_shape' field")
    for key, (check, what) in _RUN_INFO_FIELDS.items():
        if key in info and not check(info[key]):
            raise GenlabError(f"{path}: {key!r} must be {what}, not {info[key]!r:.40}")
    return info


def checkpoint_number(prefix: str) -> int | None:
    """N of a ``.../ckpt-N`` prefix (checkpoints are numbered by step)."""
    match = _NUMBERED.search(Path(prefix).name)
    return int(match.group(1)) if match else None


def list_checkpoints(directory: Path) -> list[str]:
    """The checkpoint prefixes in ``directory`` that have an index file, oldest first."""
    if not directory.is_dir():
        return []
    prefixes = [str(index.with_suffix("")) for index in directory.glob("*.index")]
    return sorted(prefixes, key=lambda prefix: (checkpoint_number(prefix) or -1, prefix))


def named_latest_checkpoint(directory: Path) -> str | None:
    """The checkpoint the state file names as the latest, if the file is readable and the checkpoint exists."""
    try:
        text = (directory / CHECKPOINT_STATE_FILE).read_text(errors="replace")
    except OSError:
        return None
    match = re.search(r'^model_checkpoint_path:\s*"(.*)"\s*$', text, re.MULTILINE)
    if not match:
        return None
    named = Path(match.group(1))
    prefix = str(named if named.is_absolute() else directory / named)
    return prefix if prefix in list_checkpoints(directory) else None


def latest_checkpoint(directory: Path) -> str | None:
    """The state file's latest checkpoint, else the highest-numbered one on disk."""
    existing = list_checkpoints(directory)
    return named_latest_checkpoint(directory) or (existing[-1] if existing else None)


def latest_checkpoint_step(run_dir: Path) -> int | None:
    prefix = latest_checkpoint(run_dir / CHECKPOINT_DIR)
    return checkpoint_number(prefix) if prefix else None
