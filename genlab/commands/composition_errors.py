"""Hydra's composition errors that carry no OmegaConf cause, said in genlab's words.

Hydra words them after its internals ("In 'experiment/x': ConfigKeyError raised while composing
config", "Could not append to config"), which name nothing a user typed. Each kind becomes one
line naming the choice, preset or override at fault and what to give instead.
"""
from __future__ import annotations

import dataclasses
import re
import typing
from typing import Any, Iterator

# Hydra's texts, by kind (hydra/_internal/config_loader_impl.py, defaults_list.py, config_repository.py).
COMPOSING = re.compile(r"In '(?P<config>[^']+)': (?P<kind>\w+) raised while composing config:\n(?P<reason>.*)", re.S)
NOT_FOUND = re.compile(r"Could not find '(?P<path>[^']+)'\n*(?:Available options in '[^']*':\n(?P<options>(?:\t[^\n]*\n?)*))?")
NOT_DELETED = re.compile(r"Could not delete from config\. '(?P<key>[^']+)' does not exist")
NOT_APPENDED = re.compile(r"Could not append to config\. An item is already at '(?P<key>[^']+)'")
AMBIGUOUS = re.compile(r"Ambiguous value for argument '(?P<key>[^=']+)=(?P<value>[^']*)'")
MULTIPLE = re.compile(r"Multiple values for (?P<group>[\w/@.]+)\. To override a value use 'override [^:]+: (?P<option>[^']*)'")
NO_GROUP = re.compile(r"Could not override '(?P<group>[^']+)'\.(?:\s*Did you mean to override (?P<near>[\w/@.]+)\?)?")
# A dotted key under hydra.sweeper.params (a dict of strings) reads as nested keys on the command line.
SEARCHED_DOTTED = re.compile(
    r"Could not override 'hydra\.sweeper\.params\.(?P<key>[^'=]+\.[^'=]+)'\.\s*To append to your config use \+[^=]+=(?P<value>.*)"
)
FULL_KEY = re.compile(r"full_key: (?P<key>\S+)")
OBJECT_TYPE = re.compile(r"object_type=(?P<type>\w+)")
KEY_ERRORS = ("ConfigKeyError", "ConfigAttributeError")


def searched_dotted_key_message(text: str) -> str | None:
    """``hydra.sweeper.params.trainer.steps=...`` on the command line: how to search that key instead."""
    match = SEARCHED_DOTTED.search(text)
    if match is None:
        return None
    key, value = match["key"], match["value"].strip()
    if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return (
        f"hydra.sweeper.params.{key}: a key with a dot cannot be set under hydra.sweeper.params on the command "
        f'line; search it as a sweep, "{key}={value}", or list it under hydra.sweeper.params in a preset '
        "(conf/hparams_search/)"
    )


def composition_message(text: str, command: str) -> str | None:
    """One line for Hydra's error ``text`` when it is one of the kinds above; None otherwise."""
    composing = COMPOSING.search(text)
    if composing:
        return _composing_message(composing["config"], composing["kind"], composing["reason"])
    found = NOT_FOUND.search(text)
    if found:
        group, _, option = found["path"].rpartition("/")
        options = [line.strip() for line in (found["options"] or "").splitlines() if line.strip()]
        listed = f"; choose one of {', '.join(options)}" if options else ""
        chosen_in = _chosen_in(text)
        return f"{group}={option}{chosen_in}: there is no such {group.rpartition('/')[2]}{listed}"
    if match := NOT_DELETED.search(text):
        return f"~{match['key']}: {match['key']} is not in the config of genlab {command}, so there is nothing to delete"
    if match := NOT_APPENDED.search(text):
        key = match["key"]
        return f"+{key}: {key} is a key of genlab {command} already; set it without the +: {key}=VALUE"
    if match := AMBIGUOUS.search(text):
        key, value = match["key"], match["value"]
        return (
            f"{key}={value}: several values are a sweep, which runs with -m (genlab {command} -m {key}={value}); "
            f"a list is {key}=[{value}], a string {key}='{value}'"
        )
    if match := MULTIPLE.search(text):
        group, option = match["group"], match["option"]
        return f"+{group}={option}: {group} is chosen already; choose another with {group}={option}"
    if match := NO_GROUP.search(text):
        near = f"; did you mean {match['near']}=...?" if match["near"] else ""
        return f"{match['group']}: not a config group of genlab {command}{near} (`genlab {command} --help` lists them)"
    return None


def _chosen_in(text: str) -> str:
    """`` (chosen by experiment=x)`` when a preset, not the command's own config, made the choice."""
    where = re.match(r"In '(?P<config>[^']+)':", text)
    if where is None or "/" not in where["config"] or where["config"].startswith("hydra/"):
        return ""
    return f" (chosen by {_choice(where['config'])})"


def _choice(config_path: str) -> str:
    """``experiment/fashion_vqvae`` as the user chose it: ``experiment=fashion_vqvae``."""
    path = config_path.removeprefix("schema/")
    group, _, option = path.rpartition("/")
    return f"{group}={option}" if group else path


def _composing_message(config: str, kind: str, reason: str) -> str:
    where = _choice(config)
    key = FULL_KEY.search(reason)
    first = reason.strip().splitlines()[0].split(". value:")[0].removeprefix("Merge error: ")
    if key is None:
        return f"{where}: {first}"
    key_name = key["key"]
    if kind in KEY_ERRORS:
        object_type = OBJECT_TYPE.search(reason)
        owner, names = _owner(key_name, object_type["type"] if object_type else "")
        listed = f" (its keys: {', '.join(names)})" if names else ""
        return f"{where} sets {key_name}, which {owner} does not have{listed}"
    if "is not Optional" in first:
        first = "must not be null"
    return f"{where} sets {key_name}: {first}"


def _owner(key: str, type_name: str) -> tuple[str, list[str]]:
    """Who lacks ``key``: the chosen option of a config group (``model=vae``) whose schema is
    ``type_name``, else the key's parent; and the keys it has."""
    parent = key.rpartition(".")[0] or f"genlab's config"
    for group, option, schema in _schemas():
        if schema.__name__ == type_name:
            names = [item.name for item in dataclasses.fields(schema)]
            return (f"{group}={option}" if key.partition(".")[0] == group else parent), names
    for schema in _nested(dataclass for _, _, dataclass in _schemas()):
        if schema.__name__ == type_name:
            return parent, [item.name for item in dataclasses.fields(schema)]
    return parent, []


def _schemas() -> Iterator[tuple[str, str, type]]:
    """(group, option, dataclass) of every schema genlab stored in Hydra's ConfigStore (``schema/<group>/<option>``)."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    store = ConfigStore.instance()
    for group, options in store.repo.get("schema", {}).items():
        if not isinstance(options, dict):
            continue
        for file_name, node in options.items():
            schema = OmegaConf.get_type(getattr(node, "node", None))
            if dataclasses.is_dataclass(schema):
                yield group, file_name.removesuffix(".yaml"), schema


def _nested(schemas: Iterator[type]) -> Iterator[type]:
    """Every dataclass the fields of ``schemas`` hold, at any depth."""
    seen: set[type] = set()
    stack = list(schemas)
    while stack:
        schema = stack.pop()
        if schema in seen:
            continue
        seen.add(schema)
        yield schema
        try:
            hints = typing.get_type_hints(schema)
        except Exception:  # a hint that does not resolve: its fields are not searched
            continue
        stack.extend(inner for hint in hints.values() for inner in _classes(hint) if dataclasses.is_dataclass(inner))


def _classes(hint: Any) -> Iterator[Any]:
    yield hint
    for argument in typing.get_args(hint):
        yield from _classes(argument)
