"""Data sources by config name (module name == config name), fitted to the config.

Only names in SOURCES are imported: a dataset name read from someone else's run
directory must never be able to import an arbitrary module.
"""
from __future__ import annotations

import importlib

from genlab.config.schema import DatasetConfig
from genlab.data.base import ImageSet
from genlab.data.records import ImageRecords
from genlab.data.transform import fit_to_config
from genlab.errors import ConfigError

SOURCES = ("fashion_mnist", "mnist", "cifar10", "folder", "celeba", "olivetti")


def load_dataset(config: DatasetConfig) -> ImageSet:
    """Read the source named ``config.name`` and fit its images to the config (still uint8)."""
    if not isinstance(config.name, str) or config.name not in SOURCES:
        raise ConfigError(f"dataset.name must be one of {', '.join(SOURCES)} (got {config.name!r})")
    source = importlib.import_module(f"genlab.data.{config.name}")
    return fit_to_config(source.load(config), config)


__all__ = ["SOURCES", "ImageRecords", "ImageSet", "load_dataset"]
