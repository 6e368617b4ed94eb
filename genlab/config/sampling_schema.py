"""The sampling keys of genlab's own models, and what any model's sampling keys must be (no TensorFlow).

Kept apart from genlab.config.sampling, which reads the installed models, so that the model registry
(genlab.config.models) can name these without an import circle.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from genlab.config.checks import require
from genlab.errors import ConfigError


@dataclass
class PriorSampling:
    """The sampling keys of a model that decodes codes drawn from its prior (or, for an autoencoder,
    from a Gaussian fitted to training images' codes)."""

    temperature: float = 1.0  # scales the prior's noise (below 1: more typical, less varied samples)

    def __post_init__(self) -> None:
        require(self.temperature >= 0, "temperature", "must be >= 0", self.temperature)


def check_sampling_schema(schema: Any, model: str) -> None:
    """A ConfigError naming what is wrong with a model's sampling keys: a dataclass whose keys all have defaults."""
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        raise ConfigError(f"model {model}: its sampling keys {schema!r} are not a dataclass")
    for entry in dataclasses.fields(schema):
        if entry.default is dataclasses.MISSING and entry.default_factory is dataclasses.MISSING:
            raise ConfigError(f"model {model}: sampling key {entry.name} has no default")
