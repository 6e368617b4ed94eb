"""A model's sampling keys: typed settings of its one sampling method, chosen when sampling, not training.

Each model names a dataclass of keys with defaults (``ModelSpec.sampling``): ``temperature`` for
genlab's models, ``steps`` or ``truncation`` for a model whose sampler has them. The commands
that draw samples (sample, evaluate, neighbours) take every installed model's keys at the top
level (``genlab sample RUN steps=20``), each ``null`` meaning the run's model's default; a key
the run's model does not take is refused in one line. No TensorFlow here.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import typing
from dataclasses import field
from typing import Any, Mapping, Optional

from genlab.errors import ConfigError

log = logging.getLogger("genlab.config")


def _field_types(schema: type) -> dict[str, Any]:
    """Each key's type, with string annotations (``from __future__ import annotations``) resolved."""
    hints = typing.get_type_hints(schema)
    return {entry.name: hints.get(entry.name, entry.type) for entry in dataclasses.fields(schema)}


@functools.lru_cache(maxsize=1)
def sampling_keys_schema() -> type:
    """A dataclass with every installed model's sampling keys, each Optional and None by default (the run's
    model's own default); the base of the sampling commands' schemas. A key two models type differently is
    kept as the first one types it, with a warning."""
    from genlab.config.models import model_specs

    fields: dict[str, Any] = {}
    for name, spec in model_specs().items():
        for key, hint in _field_types(spec.sampling).items():
            if key in fields and fields[key] != hint:
                log.warning("model %s: sampling key %s is typed %s elsewhere; keeping that", name, key, fields[key])
                continue
            fields.setdefault(key, hint)
    return dataclasses.make_dataclass(
        "SamplingKeys", [(key, Optional[hint], field(default=None)) for key, hint in sorted(fields.items())]
    )


def sampling_key_names() -> tuple[str, ...]:
    return tuple(entry.name for entry in dataclasses.fields(sampling_keys_schema()))


def given_sampling_keys(config: Any) -> dict[str, Any]:
    """The sampling keys a command's config sets (those not null)."""
    return {name: getattr(config, name) for name in sampling_key_names() if getattr(config, name, None) is not None}


def sampling_options(model_name: str, given: Mapping[str, Any]) -> Any:
    """The model's sampling keys with ``given`` applied: a ConfigError naming a key it does not take, or a
    value its checks refuse."""
    from genlab.config.models import model_spec

    schema = model_spec(model_name).sampling
    known = [entry.name for entry in dataclasses.fields(schema)]
    for key in given:
        if key not in known:
            raise ConfigError(
                f"{key}={given[key]}: a {model_name} model takes no sampling key {key} "
                f"(its sampling keys: {', '.join(known) or 'none'})"
            )
    return schema(**given)


def changed_sampling(options: Any) -> dict[str, Any]:
    """The keys of ``options`` that differ from their model's defaults: what makes samples not comparable
    with those drawn by default."""
    defaults = type(options)()
    return {
        entry.name: getattr(options, entry.name)
        for entry in dataclasses.fields(options)
        if getattr(options, entry.name) != getattr(defaults, entry.name)
    }


def preview_sampling(model_name: str) -> Any:
    """The sampling keys training's progress frames use: the model's ``preview()`` when its sampling keys offer
    one (an iterative sampler's few steps), else their defaults. Logged when not the defaults."""
    from genlab.config.models import model_spec

    schema = model_spec(model_name).sampling
    preview = getattr(schema, "preview", None)
    options = preview() if callable(preview) else schema()
    changed = changed_sampling(options)
    if changed:
        log.info("progress frames are drawn with %s", ", ".join(f"{key}={value}" for key, value in changed.items()))
    return options
