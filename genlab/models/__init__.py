"""Models by config name, among those installed (genlab.config.models); never from a class path in a file.

A model name read from someone else's run directory can only select a model that genlab
or an installed package registered: it never imports an arbitrary module.
"""
from __future__ import annotations

import importlib
from typing import Sequence

from genlab.config.models import model_spec
from genlab.config.schema import is_conditional
from genlab.errors import ConfigError
from genlab.models.base import GenerativeModel, OptimizerFactory


def model_class(name: str) -> type[GenerativeModel]:
    """The GenerativeModel subclass of the installed model ``name``."""
    spec = model_spec(name)
    module_name, _, class_name = spec.model.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"model {name}: cannot load {spec.model}: {error}") from None
    if not (isinstance(found, type) and issubclass(found, GenerativeModel)):
        raise ConfigError(f"model {name}: {spec.model} is not a genlab GenerativeModel")
    return found


def build_model(
    config, image_shape: tuple[int, int, int], make_optimizer: OptimizerFactory, condition_names: Sequence[str] = ()
) -> GenerativeModel:
    """The model of ``config``; a conditional one (model.condition) also gets the names of its conditions."""
    if is_conditional(config):
        return model_class(config.name)(config, image_shape, make_optimizer, condition_names=condition_names)
    return model_class(config.name)(config, image_shape, make_optimizer)
