"""Models by config name (module name == config name); never from a class path in a file.

Only names in MODEL_CLASSES are imported: a model name read from someone else's run
directory must never be able to import an arbitrary module.
"""
from __future__ import annotations

import importlib

from genlab.errors import ConfigError
from genlab.models.base import GenerativeModel, OptimizerFactory

# config name -> class name inside genlab.models.<config name>
MODEL_CLASSES = {"ae": "AutoEncoder", "vae": "VariationalAutoEncoder", "gan": "GAN"}


def build_model(config, image_shape: tuple[int, int, int], make_optimizer: OptimizerFactory) -> GenerativeModel:
    if not isinstance(config.name, str) or config.name not in MODEL_CLASSES:
        raise ConfigError(f"model.name must be one of {', '.join(MODEL_CLASSES)} (got {config.name!r})")
    module = importlib.import_module(f"genlab.models.{config.name}")
    model_class = getattr(module, MODEL_CLASSES[config.name])
    return model_class(config, image_shape, make_optimizer)
