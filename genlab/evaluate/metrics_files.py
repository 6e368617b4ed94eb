"""The metrics files `genlab evaluate` writes, read back and checked: a run's metrics.json, and the
scores of images made elsewhere (``<stem>.metrics.json``, or a folder's metrics.json).

A run directory may come from elsewhere or hold a file cut short, so every field genlab reads is
checked for its type here, once; a file that does not fit is a GenlabError naming it and the field,
and its run counts as not evaluated.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from genlab.errors import GenlabError
from genlab.files import read_json


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _list_of(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list) and all(check(item) for item in value)


def _dict_of(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, dict) and all(isinstance(key, str) and check(item) for key, item in value.items())


# field -> (its check, what it must be); every field but "metrics" may be missing or null
FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "metrics": (_dict_of(_number), "a mapping of metric names to numbers"),
    "step": (_integer, "an integer"),
    "checkpoint": (lambda value: isinstance(value, str), "a string"),
    "model": (lambda value: isinstance(value, str), "a string"),
    "dataset": (lambda value: isinstance(value, str), "a string"),
    "samples": (lambda value: isinstance(value, str), "a string"),
    "settings": (lambda value: isinstance(value, dict), "a mapping"),
    "image_shape": (_list_of(_integer), "a list of integers"),
    "counts": (_dict_of(_integer), "a mapping of names to integers"),
    "kl_per_dimension": (_list_of(_number), "a list of numbers"),
    "notes": (_list_of(lambda value: isinstance(value, str)), "a list of strings"),
    "sampling": (lambda value: isinstance(value, dict), "a mapping"),
    "sampling_not_default": (lambda value: isinstance(value, dict), "a mapping"),
    "likelihood": (lambda value: isinstance(value, str), "a string"),
}


def load_metrics_file(path: Path, scores: bool = False) -> dict:
    """The checked content of a metrics file; with ``scores``, one of images made elsewhere (naming them)."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise GenlabError(f"{path}: not a mapping of fields, as genlab evaluate writes")
    required = ("metrics", "samples") if scores else ("metrics",)
    for field in required:
        if data.get(field) is None:
            raise GenlabError(f"{path}: no {field!r} field")
    for field, (check, what) in FIELDS.items():
        if data.get(field) is not None and not check(data[field]):
            raise GenlabError(f"{path}: {field!r} must be {what}, not {_shown(data[field])}")
    return data


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
