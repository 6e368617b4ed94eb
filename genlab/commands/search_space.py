"""The search space of Hydra's Optuna sweeper, read as the sweeper reads it, each mistake one line.

The sweeper takes ``hydra.sweeper.params`` and the command line's sweeps (``beta=interval(1,4)``,
``model=vae,ae``) and turns each into an Optuna distribution; a malformed one ends in Optuna's or
Hydra's traceback once the study has started. Here each is read alone, so the error names it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from genlab.errors import ConfigError


@dataclass
class SearchSpace:
    """What the sweeper will search: each key's distribution, and the overrides every trial shares."""

    distributions: dict[str, Any]  # key -> optuna distribution
    fixed: list[str]  # key=value overrides of every trial (the command line's, the params' single values)
    origin: dict[str, str]  # key -> how the user gave it (hydra.sweeper.params.beta, or the override)


def search_space(hydra_config: DictConfig, task_overrides: list[str]) -> SearchSpace:
    """The space of ``hydra.sweeper.params`` and the sweeps among ``task_overrides``; a ConfigError naming
    the first entry that is no valid search dimension."""
    params = OmegaConf.select(hydra_config, "sweeper.params", default=None) or {}
    entries = [(f"hydra.sweeper.params.{key}", f"{key}={value}") for key, value in params.items()]
    entries += [(override, override) for override in task_overrides]
    space = SearchSpace({}, [], {})
    for origin, override in entries:
        key, distribution = _distribution(origin, override)
        if distribution is None:
            space.fixed.append(override)
            space.distributions.pop(key, None)  # a value given on the command line fixes a searched key
        else:
            space.distributions[key] = distribution
            space.origin[key] = origin
    return space


def _distribution(origin: str, override: str) -> tuple[str, Any]:
    """(key, its Optuna distribution), or (key, None) for a single value."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException
    from hydra_plugins.hydra_optuna_sweeper._impl import create_optuna_distribution_from_override

    try:
        parsed = OverridesParser.create().parse_overrides([override])[0]
    except OverrideParseException as error:
        reasons = [line for line in str(error).splitlines() if not line.startswith(("Error parsing", "See https://"))]
        raise ConfigError(f"{_named(origin, override)}: cannot be read as a search dimension: {'; '.join(reasons)}") from None
    key = parsed.get_key_element()
    if not parsed.is_sweep_override():
        return key, None
    _check_bounds(_named(origin, override), parsed.value())
    try:
        return key, create_optuna_distribution_from_override(parsed)
    except Exception as error:  # what the checks above do not foresee: Optuna's own words, on one line
        raise ConfigError(f"{_named(origin, override)}: {' '.join(str(error).split())}") from None


def _named(origin: str, override: str) -> str:
    return f"{origin}={override.partition('=')[2]!r}" if origin.startswith("hydra.sweeper.params.") else override


def _check_bounds(named: str, value: Any) -> None:
    """The ends of an interval or range, as Optuna needs them."""
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    if isinstance(value, ChoiceSweep) and not value.list:
        raise ConfigError(f"{named}: a choice needs at least one value")
    if isinstance(value, IntervalSweep):
        low, high = value.start, value.end
        if not all(isinstance(end, (int, float)) and math.isfinite(end) for end in (low, high)):
            raise ConfigError(f"{named}: an interval's ends must be finite numbers")
        if low > high:
            raise ConfigError(f"{named}: the interval's low end {low} is above its high end {high}; give the low end first")
        if "log" in value.tags and low <= 0:
            raise ConfigError(f"{named}: a log interval needs a low end above 0 (got {low})")
    if isinstance(value, RangeSweep) and not value.shuffle:
        if value.step is not None and value.step <= 0:
            raise ConfigError(f"{named}: a range's step must be above 0 (got {value.step})")
        if value.start is not None and value.stop is not None and value.start > value.stop:
            raise ConfigError(f"{named}: the range's start {value.start} is above its stop {value.stop}")


def representative_values(distribution: Any) -> list[Any]:
    """Values a trial may draw from ``distribution``: every choice of a categorical one, else its low end."""
    choices = getattr(distribution, "choices", None)
    if choices is not None:
        return list(choices)
    return [distribution.low]
