"""A training job with an objective (``trainer.objective``) as a trial of a search.

Hydra's Optuna sweeper (``hydra/sweeper=optuna``, presets in conf/hparams_search/) takes the
value the job returns; here the job also leaves its row in the sweep's trials.csv (COMPLETE
with the value, or FAIL) and its run's objective.json.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, ListConfig, OmegaConf

from genlab.errors import ConfigError, GenlabError
from genlab.rundir.trials import COMPLETE, FAIL, Trial, record_trial, save_objective

OPTUNA_SWEEPER = "hydra_plugins.hydra_optuna_sweeper."
DIRECTIONS = ("minimize", "maximize")
NO_OBJECTIVE = (
    "hydra/sweeper=optuna optimizes trainer.objective, which is null: give the metric each trial "
    "returns, e.g. trainer.objective=elbo (or a preset: hparams_search=fashion_vae)"
)


def uses_optuna(hydra_config: DictConfig) -> bool:
    """Whether the ``hydra`` node of a config names Hydra's Optuna sweeper."""
    return str(OmegaConf.select(hydra_config, "sweeper._target_", default="")).startswith(OPTUNA_SWEEPER)


def check_search_has_objective(objective: str | None) -> None:
    """A search must have something to optimize: a ConfigError before training when it has not."""
    if objective is None and uses_optuna(HydraConfig.get()):
        raise ConfigError(NO_OBJECTIVE)


def sweeper_direction(hydra_config: DictConfig) -> str:
    """minimize or maximize, as the sweeper's config says (hydra.sweeper.direction); "" when it says neither."""
    direction = OmegaConf.select(hydra_config, "sweeper.direction", default=None)
    if isinstance(direction, (list, ListConfig)):
        direction = direction[0] if len(direction) == 1 else None
    name = str(getattr(direction, "name", direction)).rpartition(".")[2]  # Direction.maximize or its name
    return name if name in DIRECTIONS else ""


def searched_params(hydra_config: DictConfig) -> dict[str, str]:
    """The job's values of the keys its sweeper searches (hydra.sweeper.params), from the job's overrides;
    every override of the job when the sweeper lists no params."""
    searched = OmegaConf.select(hydra_config, "sweeper.params", default=None)
    keys = {str(key) for key in searched} if searched else None
    values = {}
    for override in hydra_config.overrides.task:
        key, _, value = str(override).partition("=")
        key = key.lstrip("+~")
        if keys is None or key in keys:
            values[key] = value
    return values


def _relative(run_dir: Path, sweep_dir: Path) -> str:
    try:
        return str(run_dir.resolve().relative_to(sweep_dir.resolve()))
    except ValueError:  # a run directory outside the sweep's (hydra.sweep.subdir set to an absolute path)
        return str(run_dir)


@contextlib.contextmanager
def recorded_trial(objective: str | None) -> Iterator[Callable[[str, float], None]]:
    """The job's objective written where a search reads it.

    The block calls the function it is given with the objective's name and value once the job
    has it: the run's objective.json gets them, and in a sweep the sweep's trials.csv gets a
    COMPLETE row. A sweep job with an objective that ends any other way gets a FAIL row.
    """
    hydra_config = HydraConfig.get()
    run_dir = Path(hydra_config.runtime.output_dir)
    direction = sweeper_direction(hydra_config)
    in_sweep = hydra_config.mode == RunMode.MULTIRUN
    sweep_dir = Path(hydra_config.sweep.dir)

    def row(name: str, state: str, value: float | None) -> Trial:
        number = int(hydra_config.job.num)
        params = searched_params(hydra_config)
        return Trial(number, value, name, direction, state, _relative(run_dir, sweep_dir), params)

    def finish(name: str, value: float) -> None:
        save_objective(run_dir, name, value, direction)
        if in_sweep:
            record_trial(sweep_dir, row(name, COMPLETE, value))

    try:
        yield finish
    except BaseException as stop:
        ended_well = isinstance(stop, SystemExit) and not stop.code
        if in_sweep and objective is not None and not ended_well:
            with contextlib.suppress(OSError, GenlabError):  # the job's own error is what to report
                record_trial(sweep_dir, row(objective, FAIL, None))
        raise


@contextlib.contextmanager
def search_without_result_is_one_line() -> Iterator[None]:
    """A search none of whose trials completed ends with one line, not Optuna's traceback (it has no best trial)."""
    try:
        yield
    except ValueError as error:
        if "No trials are completed yet" not in str(error):
            raise
        raise GenlabError("no trial of the search completed; each trial's error is above, and trials.csv in the "
                          "sweep directory lists them") from None

