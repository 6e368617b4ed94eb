"""A search (Hydra's Optuna sweeper) is checked once before its study starts.

What would refuse every trial alike (a bad key or value, an objective the model cannot give),
a malformed search space, nothing to search, a budget of no trial or a storage that cannot be
opened are said in one line before the first trial, instead of once per trial or as a traceback.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from genlab.commands.search import DIRECTIONS, NO_OBJECTIVE, uses_optuna
from genlab.commands.search_space import SearchSpace, representative_values, search_space
from genlab.errors import ConfigError, GenlabError

NOTHING_TO_SEARCH = (
    "hydra/sweeper=optuna has nothing to search: give each key's range in hydra.sweeper.params "
    "(\"hydra.sweeper.params.beta='interval(0.5, 2)'\") or as a sweep on the command line "
    "(\"beta=interval(0.5, 2)\", model=vae,ae), or use a preset (hparams_search=fashion_vae)"
)


class SearchPreflight(Callback):
    """Hydra calls this with the composed config of a multirun before its sweeper asks for any trial."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from genlab.commands.app import clean_config_errors, exit_on_user_error

        if not uses_optuna(config.hydra):
            return
        # Hydra turns a callback's Exception into a warning; the exit that exit_on_user_error
        # makes of a refusal (a SystemExit) ends the command.
        with clean_config_errors("train"), exit_on_user_error():
            check_search(config)


def check_search(config: DictConfig) -> None:
    """A ConfigError for the first reason the search in ``config`` (a multirun's config) cannot work."""
    sweeper = config.hydra.sweeper
    check_budget(sweeper)
    space = search_space(config.hydra, [str(override) for override in config.hydra.overrides.task])
    extended = OmegaConf.select(sweeper, "custom_search_space", default=None) or OmegaConf.select(
        sweeper, "search_space", default=None
    )
    if not space.distributions and not extended:  # (search_space: the sweeper's older form of params)
        raise ConfigError(NOTHING_TO_SEARCH)
    check_grid(sweeper, space)
    check_trials(config, space)
    check_storage(OmegaConf.select(sweeper, "storage", default=None))


def check_budget(sweeper: DictConfig) -> None:
    """n_trials and n_jobs at least 1, max_failure_rate a share."""
    for key in ("n_trials", "n_jobs"):
        value = OmegaConf.select(sweeper, key, default=1)
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"hydra.sweeper.{key}={value}: a search runs at least one trial; give a whole number >= 1")
    rate = OmegaConf.select(sweeper, "max_failure_rate", default=0.0)
    if not 0.0 <= float(rate) <= 1.0:
        raise ConfigError(f"hydra.sweeper.max_failure_rate={rate}: the share of trials that may fail is between 0 and 1")
    direction = OmegaConf.select(sweeper, "direction", default="minimize")
    directions = list(direction) if isinstance(direction, (list, ListConfig)) else [direction]
    names = [str(getattr(item, "name", item)).rpartition(".")[2] for item in directions]
    if not names or any(name not in DIRECTIONS for name in names):
        raise ConfigError(f"hydra.sweeper.direction={direction}: give minimize or maximize (a list of them for several objectives)")


def check_grid(sweeper: DictConfig, space: SearchSpace) -> None:
    """Optuna's GridSampler takes only what it can list: choices and ranges, no interval."""
    if not str(OmegaConf.select(sweeper, "sampler._target_", default="")).endswith("GridSampler"):
        return
    for key, distribution in space.distributions.items():
        if not hasattr(distribution, "choices") and getattr(distribution, "step", getattr(distribution, "q", None)) is None:
            raise ConfigError(
                f"{space.origin[key]}: a grid (optuna.samplers.GridSampler) lists its values: "
                "give a choice (a,b,c) or a range (range(1, 10, 2)), not an interval"
            )


def trial_overrides(space: SearchSpace) -> list[tuple[list[str], str]]:
    """The overrides of trials that together meet every choice of the space (other keys at their low
    end or first choice), each with what tells it apart ("" for the first)."""
    first = {key: representative_values(distribution)[0] for key, distribution in space.distributions.items()}
    trials = [([*space.fixed, *(f"{key}={value}" for key, value in first.items())], "")]
    for key, distribution in space.distributions.items():
        for value in representative_values(distribution)[1:]:
            values = {**first, key: value}
            trials.append(([*space.fixed, *(f"{name}={item}" for name, item in values.items())], f"{key}={value}"))
    return trials


def check_trials(config: DictConfig, space: SearchSpace) -> None:
    """Each trial of :func:`trial_overrides` composed as the launcher will, and checked as the job will."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from genlab.commands.app import config_error_message

    loader = GlobalHydra.instance().config_loader()
    for overrides, which in trial_overrides(space):
        try:
            check_trial_config(loader.load_sweep_config(config, overrides))
        except (HydraException, OmegaConfBaseException) as error:
            raise ConfigError(_from_trials(config_error_message(error, "train"), which, space)) from None
        except GenlabError as error:
            raise ConfigError(_from_trials(str(error), which, space)) from None


def _from_trials(message: str, which: str, space: SearchSpace) -> str:
    """The refusal, and which searched value it comes from when that is not every trial's."""
    if not which:  # the first trial: a searched key the message names is at its low end or first choice
        named = [key for key in space.distributions if key.rpartition(".")[2] in message]
        if not named:
            return message
        which = f"{named[0]}={representative_values(space.distributions[named[0]])[0]}"
    return f"{message} (the trials with {which}, from {space.origin[which.partition('=')[0]]})"


def check_trial_config(cfg: DictConfig) -> None:
    """What the job checks of its config before it reads data: keys, types, ranges, the objective."""
    from genlab.config.checks import validate
    from genlab.config.schema import is_conditional
    from genlab.evaluate.objective import check_model_gives

    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):  # the job's config, as Hydra hands it to the job: without its hydra node
        del cfg["hydra"]
    config = validate(cfg, "train")
    objective = config.trainer.objective
    if objective is None:
        raise ConfigError(NO_OBJECTIVE)
    from genlab.native_output import import_tensorflow_quietly

    import_tensorflow_quietly()  # a model's class (what it can give) lives beside its TensorFlow code
    from genlab.models import model_class

    check_model_gives(objective, config.model.name, model_class(config.model.name), is_conditional(config.model))


def check_storage(storage: Any) -> None:
    """The study's storage opens (Optuna creates an SQLite file where none is): a ConfigError saying why not."""
    if storage is None or not isinstance(storage, str):
        return
    import optuna

    try:
        optuna.storages.get_storage(storage)
    except Exception as error:
        raise ConfigError(f"hydra.sweeper.storage={storage}: cannot be opened: {_storage_trouble(storage, error)}") from None


def _storage_trouble(storage: str, error: Exception) -> str:
    """Why: for an SQLite file, what is wrong with its folder; else the database library's first line."""
    if storage.startswith("sqlite:///"):
        path = Path(storage.removeprefix("sqlite:///"))
        folder = path.parent
        for ancestor in [folder, *folder.parents]:
            if ancestor.exists():
                if not ancestor.is_dir():
                    return f"{ancestor} is a file, not a folder"
                if ancestor != folder:
                    return f"the folder {folder} does not exist"
                if not os.access(folder, os.W_OK):
                    return f"the folder {folder} cannot be written"
                break
    original = getattr(error, "orig", None) or error
    return str(original).splitlines()[0] if str(original) else type(original).__name__
