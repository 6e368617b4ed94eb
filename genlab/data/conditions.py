"""The condition vectors of a class-conditional model: one-hot classes or 0/1 attributes, per image.

The names come from what a data set knows (its class names, CelebA's attribute names), so a run
directory's run_info.json is enough to rebuild a conditional model without loading its data.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from genlab.config.schema import ConditionConfig, condition_of
from genlab.data.base import ImageSet
from genlab.errors import ConfigError


def condition_names(
    condition: ConditionConfig, dataset: str, class_names: Sequence[str] | None, attribute_names: Sequence[str] | None
) -> list[str]:
    """What each entry of the condition vector stands for: a class, or an attribute (in that order)."""
    if condition.by == "class":
        if not class_names:
            raise ConfigError(
                f"model.condition.by=class: {dataset} has no class labels; use a labelled data set "
                "(mnist, fashion_mnist, cifar10, a folder with one sub-folder per class) or condition=none"
            )
        return [str(name) for name in class_names]
    if condition.by == "attributes":
        known = [str(name) for name in attribute_names or []]
        if not known:
            raise ConfigError(
                f"model.condition.by=attributes: {dataset} has no attributes (CelebA has 40); "
                "use condition=class for a labelled data set"
            )
        chosen = [str(name) for name in condition.attributes] or known
        unknown = [name for name in chosen if name not in known]
        if unknown:
            raise ConfigError(
                f"model.condition.attributes: {', '.join(unknown)} not among the attributes of {dataset}: "
                f"{', '.join(known)}"
            )
        if len(set(chosen)) != len(chosen):
            raise ConfigError(f"model.condition.attributes={chosen} names an attribute twice")
        return chosen
    return []


def model_condition_names(model: Any, data: ImageSet) -> list[str]:
    """The condition names of a model config on ``data``; empty for a model without a condition."""
    condition = condition_of(model)
    return [] if condition is None else dataset_condition_names(condition, data)


def describe_condition(model: Any) -> str:
    """How a conditional model config takes its condition, in a few words for the log."""
    condition = condition_of(model)
    what = "the class" if condition.by == "class" else "attributes"
    how = f"a learned {condition.embedding_dim}-value embedding" if condition.embedding_dim else "one-hot" if condition.by == "class" else "0/1 values"
    text = f"{what} ({how}"
    if getattr(model, "discriminator", None) is not None:
        text += f"; {condition.discriminator} discriminator"
    return text + ")"


def dataset_condition_names(condition: ConditionConfig, data: ImageSet) -> list[str]:
    return condition_names(condition, data.name, data.class_names, data.attribute_names)


def condition_table(condition: ConditionConfig, data: ImageSet, split: str) -> np.ndarray | None:
    """float32 (images, len(names)) of the ``split`` (train or test) images; None for an unconditional model."""
    names = dataset_condition_names(condition, data)
    if not names:
        return None
    if condition.by == "class":
        labels = data.train_labels if split == "train" else data.test_labels
        if labels is None:
            raise ConfigError(f"model.condition.by=class: the {split} images of {data.name} have no labels")
        return one_hot(np.asarray(labels), len(names))
    attributes = data.train_attributes if split == "train" else data.test_attributes
    if attributes is None:
        raise ConfigError(f"model.condition.by=attributes: the {split} images of {data.name} have no attributes")
    columns = [list(data.attribute_names).index(name) for name in names]
    return np.asarray(attributes)[:, columns].astype(np.float32)


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ConfigError(f"class labels must lie in 0..{classes - 1}, found {labels.min()}..{labels.max()}")
    return np.eye(classes, dtype=np.float32)[labels]
