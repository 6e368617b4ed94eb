"""The one validator of a composed config: every key known, every required key given, every
range met (the schemas' ``__post_init__``), each error one line naming the full key."""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from genlab.errors import ConfigError


def require(condition: bool, key: str, message: str, value: Any) -> None:
    if not condition:
        raise ConfigError(f"{key} {message} (got {value!r})")


def require_positive(key: str, value: float | int) -> None:
    require(value > 0, key, "must be > 0", value)


def require_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    require(value in choices, key, f"must be one of {', '.join(choices)}", value)


def require_whole_numbers(key: str, values: list) -> None:
    """Every entry an int (a nested list or a bool can slip through OmegaConf's list typing)."""
    whole = all(isinstance(value, int) and not isinstance(value, bool) for value in values)
    require(whole, key, "entries must be whole numbers", values)


def unknown_key_message(key: str, command: str, names: list[str] | None) -> str:
    """``key`` is not in its config: say whose keys they are, and list them when known."""
    parent = key.rpartition(".")[0]
    where = f"{parent} in genlab {command}" if parent else f"genlab {command}"
    listed = f"keys: {', '.join(names)}" if names else f"`genlab {command} --help` lists them"
    return f"{key}: not a key of {where} ({listed})"


def validate(cfg: DictConfig, command: str = "train", hints: Mapping[str, str] | None = None) -> Any:
    """The typed config of ``genlab <command>``: every key known, every required key given, every range met.

    ``cfg`` is the composed DictConfig of the command's schema (a dataclass). ``hints`` says
    what a required key takes, for the message naming it. Raises ConfigError with the full key.
    """
    refuse_unknown_keys(cfg, command)
    refuse_missing_keys(cfg, command, hints or {})
    return typed_object(cfg)


def refuse_missing_keys(cfg: DictConfig, command: str, hints: Mapping[str, str]) -> None:
    """A ConfigError naming the first required top-level key that was not given."""
    schema = OmegaConf.get_type(cfg)
    if not dataclasses.is_dataclass(schema):
        return
    present = set(cfg.keys())
    for item in dataclasses.fields(schema):
        missing = OmegaConf.is_missing(cfg, item.name) if item.name in present else item.default == MISSING
        if missing:
            raise ConfigError(f"{item.name}= is required{hints.get(item.name, '')} (genlab {command} {item.name}=...)")


def refuse_unknown_keys(cfg: DictConfig, command: str) -> None:
    """A ConfigError naming the first key (at any depth) that its schema does not have."""
    unknown = _unknown_key(cfg)
    if unknown is not None:
        key, names = unknown
        raise ConfigError(unknown_key_message(key, command, names))


def typed_object(cfg: DictConfig) -> Any:
    """``cfg`` resolved into its dataclasses, whose ``__post_init__`` checks the ranges."""
    try:
        return OmegaConf.to_object(cfg)
    except ConfigError:
        raise
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None)
        reason = str(error).splitlines()[0]
        raise ConfigError(f"{key}: {reason}" if key else reason) from None


def _unknown_key(cfg: DictConfig, prefix: str = "") -> tuple[str, list[str]] | None:
    """The first key (full name) its schema does not have, with the schema's keys.

    Hydra's ``+key=value`` adds keys that no schema declares.
    """
    schema = OmegaConf.get_type(cfg)
    names = [item.name for item in dataclasses.fields(schema)] if dataclasses.is_dataclass(schema) else None
    for key in cfg.keys():
        if names is not None and key not in names:
            return f"{prefix}{key}", names
        node = cfg._get_node(key)
        if isinstance(node, DictConfig) and not node._is_none() and not node._is_missing():
            found = _unknown_key(node, f"{prefix}{key}.")
            if found is not None:
                return found
    return None
