"""Runs that differ only in their seed, taken together: per metric the mean, the standard deviation
and the number of seeds, and which setting is best where the difference exceeds the spread.

A single run per setting hides how far a number moves between seeds of the same config (FD moves
by several percent); a comparison of means is only worth stating when the means lie further apart
than their spreads. Plain Python and numpy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

SEED_KEY = "seed"

# The direction in which each evaluated metric gets better; the others (KL, density, the
# nearest-neighbour ratio, the discriminator's accuracies, training losses) have no better side to name.
LOWER_IS_BETTER = {"mse", "elbo_bits_per_dim", "nll", "nll_bits_per_dim"}
HIGHER_IS_BETTER = {"psnr", "elbo", "condition_accuracy"}
LOWER_PREFIXES = ("fd_", "kid_")
HIGHER_PREFIXES = ("precision_", "recall_", "coverage_")


def better_direction(metric: str) -> int:
    """+1 when a larger value is better, -1 when a smaller one is, 0 when neither is."""
    if metric.endswith(("_std", "_stderr")):
        return 0
    if metric in LOWER_IS_BETTER or metric.startswith(LOWER_PREFIXES):
        return -1
    if metric in HIGHER_IS_BETTER or metric.startswith(HIGHER_PREFIXES):
        return 1
    return 0


@dataclass(frozen=True)
class Summary:
    mean: float
    std: float | None  # None with a single value: no spread to state
    n: int


@dataclass
class SeedGroup:
    label: str  # the overrides that tell it from the other groups, e.g. "beta=4"
    setting: dict[str, str]  # those overrides
    members: list[str]  # the run names, in order
    seeds: list[str]
    summaries: dict[str, Summary] = field(default_factory=dict)
    data: str = ""  # what its numbers were measured on (data set and image size): only those compare


def summary(values: Sequence[float]) -> Summary | None:
    finite = [value for value in values if value is not None and math.isfinite(value)]
    if not finite:
        return None
    std = float(np.std(finite, ddof=1)) if len(finite) > 1 else None
    return Summary(float(np.mean(finite)), std, len(finite))


def group_runs(
    names: Sequence[str], overrides: Sequence[Mapping[str, str]], values: Sequence[Mapping[str, float]], varying: Sequence[str]
) -> list[SeedGroup]:
    """Runs whose overrides are equal but for ``seed``, in first-appearance order; ``varying`` are the
    override keys that differ between runs (the group label uses those other than the seed)."""
    keys = [key for key in varying if key != SEED_KEY]
    groups: dict[tuple, SeedGroup] = {}
    for name, given in zip(names, overrides):
        identity = tuple(sorted((key, value) for key, value in given.items() if key != SEED_KEY))
        if identity not in groups:
            setting = {key: given[key] for key in keys if key in given}
            label = ", ".join(f"{key}={value}" for key, value in setting.items()) or "all runs"
            groups[identity] = SeedGroup(label, setting, [], [])
        groups[identity].members.append(name)
        groups[identity].seeds.append(given.get(SEED_KEY, "-"))
    by_name = dict(zip(names, values))
    metrics = list(dict.fromkeys(metric for entry in values for metric in entry))
    for group in groups.values():
        for metric in metrics:
            found = summary([by_name[name][metric] for name in group.members if metric in by_name[name]])
            if found is not None:
                group.summaries[metric] = found
    return list(groups.values())


def clear_best(groups: Sequence[SeedGroup], metric: str) -> tuple[SeedGroup | None, str]:
    """The group best at ``metric`` when its mean is further from the runner-up's than the two
    standard deviations added (their mean ± std ranges do not overlap), and why or why not.
    Only groups measured on the same data as each other are given (see :func:`by_data`)."""
    direction = better_direction(metric)
    ranked = [group for group in groups if metric in group.summaries]
    if direction == 0 or len(ranked) < 2:
        return None, ""
    ranked.sort(key=lambda group: -direction * group.summaries[metric].mean)
    best, runner_up = ranked[0].summaries[metric], ranked[1].summaries[metric]
    if best.std is None or runner_up.std is None:
        return None, f"{ranked[0].label} has the best mean, but a single seed has no spread to compare with"
    gap = abs(best.mean - runner_up.mean)
    if gap == 0:
        return None, f"no clear best: {ranked[0].label} and {ranked[1].label} are level"
    if gap > best.std + runner_up.std:
        return ranked[0], f"{ranked[0].label} (by {gap:.4g}, spreads {best.std:.3g} and {runner_up.std:.3g})"
    return None, f"no clear best: {ranked[0].label} leads {ranked[1].label} by {gap:.4g}, within their spreads ({best.std:.3g} + {runner_up.std:.3g})"


def by_data(groups: Sequence[SeedGroup]) -> dict[str, list[SeedGroup]]:
    """The groups by what they were measured on: a number of one data set and image size does not
    compare with one of another (FD in another classifier's features, a likelihood of other pixels)."""
    parts: dict[str, list[SeedGroup]] = {}
    for group in groups:
        parts.setdefault(group.data, []).append(group)
    return parts
