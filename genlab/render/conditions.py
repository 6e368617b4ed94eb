"""Which conditions a conditional model's pictures show: the rows of a grid, or one fixed condition.

Pure numpy. A row is one condition vector: a class (``classes=[Sneaker,7]``, names or indices), or
a set of attributes switched on (``attributes=[Smiling,Smiling+Male]``, every other one off).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from genlab.errors import GenlabError


@dataclass(frozen=True)
class ConditionRows:
    vectors: np.ndarray  # float32 (rows, len(names))
    labels: list[str]  # one per row


def default_rows(kind: str, names: Sequence[str]) -> ConditionRows:
    """Every class; for attributes, a row with none and a row for each attribute alone."""
    count = len(names)
    if kind == "class":
        return ConditionRows(np.eye(count, dtype=np.float32), [str(name) for name in names])
    vectors = np.concatenate([np.zeros((1, count), np.float32), np.eye(count, dtype=np.float32)])
    return ConditionRows(vectors, ["none", *(str(name) for name in names)])


def chosen_rows(
    kind: str, names: Sequence[str], classes: Sequence[str] | None, attributes: Sequence[str] | None
) -> ConditionRows:
    """The rows ``classes=`` or ``attributes=`` name, or the default ones when neither is given."""
    key, entries = ("classes", classes) if kind == "class" else ("attributes", attributes)
    other_key, other = ("attributes", attributes) if kind == "class" else ("classes", classes)
    if other is not None:
        raise GenlabError(
            f"{other_key}= does not apply: the model is conditioned by {'class' if kind == 'class' else 'attributes'}; "
            f"use {key}= (one of {', '.join(str(name) for name in names)})"
        )
    if entries is None:
        return default_rows(kind, names)
    if not entries:
        raise GenlabError(f"{key}=[] chooses nothing; name at least one of {', '.join(str(name) for name in names)}")
    vectors = np.stack([_vector(kind, names, str(entry), key) for entry in entries])
    return ConditionRows(vectors, [_label(kind, names, vector) for vector in vectors])


def _label(kind: str, names: Sequence[str], vector: np.ndarray) -> str:
    """A row's name: its class, or its attributes joined by '+' ('none' for none)."""
    on = [str(names[index]) for index in np.flatnonzero(vector > 0.5)]
    return "+".join(on) if on else "none"


def _vector(kind: str, names: Sequence[str], entry: str, key: str) -> np.ndarray:
    names = [str(name) for name in names]
    vector = np.zeros(len(names), np.float32)
    if kind == "class":
        vector[_index(names, entry.strip(), key)] = 1.0
        return vector
    for part in entry.split("+"):
        part = part.strip()
        if part.lower() != "none":
            vector[_index(names, part, key)] = 1.0
    return vector


def _index(names: list[str], entry: str, key: str) -> int:
    if entry in names:
        return names.index(entry)
    if entry.isdigit() and int(entry) < len(names):
        return int(entry)
    raise GenlabError(f"{key}: {entry!r} is not one of {', '.join(names)} (or an index 0..{len(names) - 1})")


def rows_of_samples(
    draw: Callable[[np.random.Generator, np.ndarray], np.ndarray], rows: ConditionRows, columns: int, rng: np.random.Generator
) -> np.ndarray:
    """One row of ``columns`` samples per condition, row after row: ``draw(generator, conditions)`` is called once
    per row with a generator in the same state as ``rng``, so every row gets the same noise under another condition."""
    state = rng.bit_generator.state
    drawn = []
    for vector in rows.vectors:
        generator = np.random.Generator(type(rng.bit_generator)())
        generator.bit_generator.state = state
        drawn.append(np.asarray(draw(generator, np.repeat(vector[None].astype(np.float32), columns, axis=0))))
    return np.concatenate(drawn)
