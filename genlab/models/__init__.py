"""Models by config name (module name == config name); never from a class path in a file."""
from __future__ import annotations

import importlib

from genlab.models.base import GenerativeModel, OptimizerFactory

# config name -> class name inside genlab.models.<config name>
MODEL_CLASSES = {"ae": "AutoEncoder", "vae": "VariationalAutoEncoder", "gan": "GAN"}


def build_model(config, image_shape: tuple[int, int, int], make_optimizer: OptimizerFactory) -> GenerativeModel:
    if config.name not in MODEL_CLASSES:
        raise ValueError(f"unknown model {config.name!r}; known: {', '.join(MODEL_CLASSES)}")
    module = importlib.import_module(f"genlab.models.{config.name}")
    model_class = getattr(module, MODEL_CLASSES[config.name])
    return model_class(config, image_shape, make_optimizer)
