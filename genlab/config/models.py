"""The models genlab can build: its own and those other installed packages register.

A model is a :class:`ModelSpec`: its config name, its config schema, where its class lives and,
for a model from another package, the package that holds its ``model/<name>.yaml``. genlab's
own models are listed here; another package registers one under the ``genlab.models``
entry-point group (see examples/genlab_example):

    [project.entry-points."genlab.models"]
    dense_vae = "genlab_example.spec:SPEC"

A model's class is imported only when a model is built, and only for a name listed here or
registered by an installed package: a run directory received from someone else names a
model, never code to import.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Optional

from genlab.config.sampling_schema import PriorSampling, check_sampling_schema
from genlab.config.schema import AEConfig, GANConfig, VAEConfig, VQVAEConfig
from genlab.errors import ConfigError

log = logging.getLogger("genlab.config")

ENTRY_POINT_GROUP = "genlab.models"


@dataclass(frozen=True)
class ModelSpec:
    """What genlab needs to know of a model before it builds one (nothing here imports TensorFlow)."""

    name: str  # model.name in configs; `genlab train model=<name>` composes model/<name>.yaml
    config: type  # its config schema: a dataclass with at least `name`
    model: str  # "package.module:Class" of its GenerativeModel, imported only to build it
    conf: Optional[str] = None  # a package holding model/<name>.yaml (another package's model)
    # its sampling keys (genlab.config.sampling): a dataclass whose fields all have defaults
    sampling: type = PriorSampling

    def check(self) -> None:
        """A ConfigError naming what is wrong with a spec another package registered."""
        if not dataclasses.is_dataclass(self.config):
            raise ConfigError(f"model {self.name}: its config {self.config!r} is not a dataclass")
        fields = {entry.name for entry in dataclasses.fields(self.config)}
        if "name" not in fields:
            raise ConfigError(f"model {self.name}: its config {self.config.__name__} needs the key name")
        check_sampling_schema(self.sampling, self.name)
        if ":" not in self.model:
            raise ConfigError(f"model {self.name}: model={self.model!r} is not of the form package.module:Class")


BUILT_IN = (
    ModelSpec("ae", AEConfig, "genlab.models.ae:AutoEncoder"),
    ModelSpec("vae", VAEConfig, "genlab.models.vae:VariationalAutoEncoder"),
    ModelSpec("gan", GANConfig, "genlab.models.gan:GAN"),
    ModelSpec("vqvae", VQVAEConfig, "genlab.models.vqvae:VQVAE"),
)


@functools.lru_cache(maxsize=1)
def model_specs() -> dict[str, ModelSpec]:
    """Every installed model by name: genlab's own, then the registered ones (a broken one is
    skipped with a warning saying why, so it cannot take the others down)."""
    specs = {spec.name: spec for spec in BUILT_IN}
    for entry_point in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda entry: entry.name):
        try:
            spec = entry_point.load()
            if not isinstance(spec, ModelSpec):
                raise ConfigError(f"{entry_point.value} is a {type(spec).__name__}, not a genlab ModelSpec")
            if spec.name != entry_point.name:
                raise ConfigError(f"it names itself {spec.name!r}")
            if spec.name in specs:
                raise ConfigError(f"the name {spec.name!r} is taken by another model")
            spec.check()
        except Exception as error:  # a broken plug-in must not take genlab down: say why, skip it
            log.warning("model %s from %s is not available: %s", entry_point.name, entry_point.value, error)
            continue
        specs[spec.name] = spec
    return specs


def model_spec(name: Any) -> ModelSpec:
    """The installed model called ``name``, or a ConfigError listing the installed ones."""
    specs = model_specs()
    if not isinstance(name, str) or name not in specs:
        raise ConfigError(f"model.name={name!r} is not an installed model (installed: {', '.join(sorted(specs))})")
    return specs[name]


def model_schemas() -> dict[str, type]:
    """Every installed model's config schema, by model name."""
    return {name: spec.config for name, spec in model_specs().items()}
