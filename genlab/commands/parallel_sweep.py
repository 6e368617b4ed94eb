"""Sweeps run by the joblib launcher (`hydra/launcher=joblib`): one worker process per job.

joblib kills every worker as soon as one of them raises anything but an Exception, or the
launching process gets Ctrl-C; jobs that are mid-step would lose their work since the last
checkpoint. So a job's exit (a config error, a non-finite loss, a stop signal) becomes a
failed job that Hydra reports once the other jobs have finished, and on Ctrl-C, which reaches
every worker, the launching process waits while each running job saves and stops.

A search (Hydra's Optuna sweeper) tells a failed job to its study as a failed trial and goes
on, so there too a job's exit becomes a failed job, unless a stop signal ended it: Ctrl-C
stops the search.
"""
from __future__ import annotations

import functools
import logging
import signal
from pathlib import Path
from typing import Any, Callable

from hydra.core.hydra_config import HydraConfig
from hydra.errors import CompactHydraException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from genlab.commands.search import uses_optuna

JOBLIB_LAUNCHER = "hydra_plugins.hydra_joblib_launcher."

log = logging.getLogger(__name__)


class SweepJobFailed(CompactHydraException):
    """A job of a joblib sweep failed; its own message is already printed (and in its train.log)."""


def uses_joblib(hydra_config: DictConfig) -> bool:
    """Whether the ``hydra`` node of a config names the joblib launcher."""
    return str(OmegaConf.select(hydra_config, "launcher._target_", default="")).startswith(JOBLIB_LAUNCHER)


def exits_as_failed_jobs(task: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """Wrap a Hydra task so that, in a joblib worker, its exit fails the job instead of the sweep."""

    @functools.wraps(task)
    def job(cfg: DictConfig) -> Any:
        try:
            return task(cfg)
        except (SystemExit, KeyboardInterrupt) as stop:
            hydra_config = HydraConfig.get()
            code = stop.code if isinstance(stop, SystemExit) else 128 + signal.SIGINT
            signalled = isinstance(code, int) and code >= 128
            goes_on = uses_joblib(hydra_config) or (uses_optuna(hydra_config) and not signalled)
            if hydra_config.mode != RunMode.MULTIRUN or not goes_on:
                raise
            if not code:
                return None
            log_file = Path(hydra_config.runtime.output_dir) / f"{hydra_config.job.name}.log"
            where = f" and in {log_file}" if log_file.is_file() else ""
            raise SweepJobFailed(
                f"job {hydra_config.job.num} of the sweep failed (exit code {code}); "
                f"its messages are above{where}"
            ) from None

    return job


def _wait_for_jobs(number: int, frame: Any) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    log.warning("Ctrl-C: each running job saves a checkpoint and stops (Ctrl-C again kills them now)")


class JoblibSignals(Callback):
    """Ctrl-C in a joblib sweep: the jobs save and stop, and nothing kills them meanwhile."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if uses_joblib(config.hydra):  # in the launching process
            signal.signal(signal.SIGINT, _wait_for_jobs)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if uses_joblib(config.hydra):  # in a worker
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def on_job_end(self, config: DictConfig, **kwargs: Any) -> None:
        if uses_joblib(config.hydra):
            # A worker waiting for its next job would die of Ctrl-C and make joblib kill the others.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
