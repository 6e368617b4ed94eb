"""The config a training job really runs with: fresh, resumed, or a sweep job run again.

A run directory that already holds a config keeps it: only ``trainer.*`` keys
may change (e.g. more steps); any other difference is refused, naming the keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, ListConfig, OmegaConf

from genlab import rundir
from genlab.config.checks import validate
from genlab.config.models import model_schemas
from genlab.config.schema import OPTIMIZER_SCHEMAS, DatasetConfig, TrainConfig, TrainerConfig
from genlab.errors import ConfigError, GenlabError

# Keys a continued run may change: how long and how it trains (a VQ-VAE's prior phase included),
# and where its data lives.
CHANGEABLE_ON_RESUME = ("trainer", "model.prior.steps", "dataset.path", "dataset.cache_dir", "dataset.download")
GROUPS = ("model", "dataset", "optimizer", "trainer")


def typed(plain: DictConfig) -> DictConfig:
    """A saved (plain) config under the schemas its group names select."""
    model_schema = model_schemas().get(str(plain.get("model", {}).get("name")))
    optimizer_schema = OPTIMIZER_SCHEMAS.get(str(plain.get("optimizer", {}).get("name")))
    if model_schema is None or optimizer_schema is None:
        raise GenlabError("the saved config names an unknown model or optimizer")
    schema = OmegaConf.structured(TrainConfig)
    schema.model = OmegaConf.structured(model_schema)
    schema.optimizer = OmegaConf.structured(optimizer_schema)
    schema.dataset = OmegaConf.structured(DatasetConfig)
    schema.trainer = OmegaConf.structured(TrainerConfig)
    try:
        return OmegaConf.merge(schema, plain)
    except Exception as error:  # omegaconf raises several types for schema mismatches
        raise GenlabError(f"the saved config does not match genlab's schema: {str(error).splitlines()[0]}") from None


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        items: dict[str, Any] = {}
        for key, value in node.items():
            items.update(_flatten(value, f"{prefix}{key}."))
        return items
    return {prefix.rstrip("."): node}


def differing_keys(new: DictConfig, saved: DictConfig, ignore: tuple[str, ...]) -> list[str]:
    """Full keys whose resolved values differ, outside the ``ignore`` prefixes."""
    new_items = _flatten(OmegaConf.to_container(new, resolve=True))
    saved_items = _flatten(OmegaConf.to_container(saved, resolve=True))
    keys = sorted(set(new_items) | set(saved_items))
    return [
        key
        for key in keys
        if not key.startswith(ignore) and new_items.get(key, "<absent>") != saved_items.get(key, "<absent>")
    ]


def _override_keys(overrides: list[str]) -> list[str]:
    parsed = OverridesParser.create().parse_overrides(overrides)
    return [override.key_or_group for override in parsed]


def _value(cfg: DictConfig, key: str) -> Any:
    value = OmegaConf.select(cfg, key, default="<absent>")
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value


def _changes_run(key: str, new: DictConfig, saved: DictConfig) -> bool:
    """Whether an override given to a resumed run asks for something the run was not trained with."""
    if key.startswith(CHANGEABLE_ON_RESUME):
        return False
    probe = f"{key}.name" if key in GROUPS else key  # `model=gan` changes the model's name
    return _value(new, probe) != _value(saved, probe)


def _refuse(keys: list[str], run_dir: Path, saved: DictConfig, new: DictConfig) -> None:
    described = ", ".join(
        f"{key} ({OmegaConf.select(saved, key, default='<absent>')} -> {OmegaConf.select(new, key, default='<absent>')})"
        for key in keys[:8]
    )
    more = f" and {len(keys) - 8} more" if len(keys) > 8 else ""
    raise ConfigError(
        f"{run_dir} was trained with a different config: {described}{more}. "
        f"Only trainer.*, model.prior.steps, dataset.path, dataset.cache_dir and dataset.download may change when a run "
        "continues; start a new run for the rest."
    )


def _budget_as_given(cfg: DictConfig, given: list[str]) -> None:
    """The run's length as the command line gave it, over a preset's or a saved run's.

    ``trainer.epochs`` replaces ``trainer.steps`` when set; a preset (or the run being
    resumed) that sets epochs must not silently override the steps the user typed.
    """
    steps_given, epochs_given = "trainer.steps" in given, "trainer.epochs" in given
    if steps_given and epochs_given and cfg.trainer.epochs is not None:
        raise ConfigError(
            f"trainer.steps={cfg.trainer.steps} and trainer.epochs={cfg.trainer.epochs} both set how long the run "
            "trains; give one of them"
        )
    if steps_given and not epochs_given:
        cfg.trainer.epochs = None


def resolve_config(cfg: DictConfig, run_dir: Path, overrides: list[str]) -> DictConfig:
    """The plain config to run, before range checks."""
    given = [key for key in _override_keys(overrides) if key != "resume"]
    if cfg.resume not in (None, ""):
        if not (run_dir / rundir.CONFIG_FILE).is_file():
            raise GenlabError(f"resume={cfg.resume}: not a genlab run directory (no {rundir.CONFIG_FILE})")
        saved = rundir.load_config(run_dir)
        changed = [key for key in given if _changes_run(key, cfg, saved)]
        if changed:
            _refuse(changed, run_dir, saved, cfg)
        merged = OmegaConf.create(OmegaConf.to_container(saved))
        for key in given:
            if key.startswith(CHANGEABLE_ON_RESUME):
                OmegaConf.update(merged, key, OmegaConf.select(cfg, key), merge=False)
        _budget_as_given(merged, given)
        merged.resume = str(run_dir)
        return typed(merged)
    _budget_as_given(cfg, given)
    if (run_dir / rundir.CONFIG_FILE).is_file():  # the same sweep run again
        saved = rundir.load_config(run_dir)
        changed = differing_keys(cfg, saved, ignore=(*CHANGEABLE_ON_RESUME, "resume"))
        if changed:
            _refuse(changed, run_dir, saved, cfg)
    return cfg


@dataclass
class PreparedRun:
    """The typed config a job runs with, and the config and overrides its run directory will hold."""

    config: Any
    resolved: DictConfig
    overrides: list[str]

    def save(self, run_dir: Path) -> None:
        """Write .hydra/config.yaml and overrides.yaml: only once training starts, so that a job with
        nothing to do, or one that fails first, leaves a run's saved config describing its checkpoints."""
        rundir.save_config(run_dir, self.resolved, self.overrides)


def prepare_run(cfg: DictConfig, run_dir: Path, overrides: list[str]) -> PreparedRun:
    """Check the config against the run directory's saved one and its ranges; nothing is written."""
    resolved = resolve_config(cfg, run_dir, overrides)
    config = validate(resolved)
    saved_overrides = rundir.load_overrides(run_dir) if cfg.resume else overrides
    return PreparedRun(config, resolved, saved_overrides)
