"""`genlab train`: compose the config, prepare the run directory, train."""
from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Any, Iterator

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from genlab import rundir
from genlab.training.cluster import ClusterRole, cluster_role
from genlab.commands.app import CommandFailed, HeldLogFile, exit_on_user_error, file_error_message
from genlab.commands.search import check_search_has_objective, recorded_trial, search_without_result_is_one_line
from genlab.config.schema import is_conditional
from genlab.config.store import register_schemas
from genlab.data import load_dataset
from genlab.data.conditions import describe_condition, model_condition_names
from genlab.errors import GenlabError
from genlab.evaluate.objective import check_model_gives, evaluate_objective, objective_settings
from genlab.files import failed_file
from genlab.native_output import import_tensorflow_quietly
from genlab.commands.parallel_sweep import exits_as_failed_jobs
from genlab.training.resources import check_resources
from genlab.training.schedule import check_batch_size, describe_budget, phase_steps, run_steps
from genlab.rundir.outputs import check_output_path
from genlab.rundir.saved_config import prepare_run

log = logging.getLogger("genlab.train")

register_schemas()
rundir.register_resolvers()

# The run directory of every job this process finished (trained, or found done): how
# genlab.train() in Python learns where its run went.
finished_runs: list[Path] = []


def _already_finished(run_dir: Path, steps: int) -> bool:
    """Whether the run's latest checkpoint reached ``steps``: the job then ends without writing anything."""
    step = rundir.latest_checkpoint_step(run_dir)
    if step is None or step < steps:
        return False
    # On the console only: the run's train.log stays as it was.
    print(f"{run_dir} already reached step {step} of {steps}: nothing to do", file=sys.stderr)
    print(f"run directory: {run_dir}")
    finished_runs.append(run_dir)
    return True


def _check_shared_run_dir(role: ClusterRole, resume: str | None) -> None:
    """Every worker of a multi-worker job must name the same run directory; a time-stamped one would differ."""
    hydra_overrides = HydraConfig.get().overrides.hydra
    given = [item for item in hydra_overrides if item.startswith(("hydra.run.dir=", "hydra.sweep.dir="))]
    if role.is_multi_worker and not given and resume in (None, ""):
        raise GenlabError(
            f"this process is {role.name} of {role.num_workers} workers (TF_CONFIG): give every worker the same "
            "run directory with hydra.run.dir=DIR (on a file system they all see)"
        )


def _check_outputs(run_dir: Path, cfg: DictConfig) -> None:
    """The run directory and the data cache are written to: never inside a run's checkpoints/."""
    sweep = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        check_output_path("hydra.sweep.dir" if sweep else "hydra.run.dir", run_dir)
    except GenlabError:
        rundir.discard_unstarted(run_dir)  # what Hydra wrote there for this job (its log)
        if run_dir.is_dir() and not any(run_dir.iterdir()):  # and the folder itself: nothing stays in checkpoints/
            run_dir.rmdir()
        raise
    if cfg.dataset.get("cache_dir"):
        check_output_path("dataset.cache_dir", cfg.dataset.cache_dir)


@contextlib.contextmanager
def _unwritable_files_say_what_is_kept(run_dir: Path) -> Iterator[None]:
    """A file training cannot write (a full disk) ends the run naming it, the checkpoint it keeps and how to go on."""
    try:
        yield
    except Exception as error:
        failed = failed_file(error)
        if failed is None:
            raise
        kept = rundir.latest_checkpoint(run_dir / rundir.CHECKPOINT_DIR)
        if kept is None:
            then = "the run had no checkpoint yet: start it again once there is space"
        else:
            then = f"the run keeps {kept}. Once there is space, continue with: genlab train resume={run_dir}"
        raise GenlabError(f"{file_error_message(failed)}; {then}") from None


def _train_run(cfg: DictConfig) -> tuple[Path, Any]:
    """Train the job's run (or find it done); its run directory and typed config."""
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    started = rundir.has_checkpoint(run_dir)
    try:
        role = cluster_role()
        _check_shared_run_dir(role, cfg.resume)
        _check_outputs(run_dir, cfg)
    except GenlabError:
        if not started:  # the time-stamped directory Hydra just made for this process
            rundir.discard_unstarted(run_dir)
        raise
    # The chief owns the run directory; the other workers of a multi-worker job only read it.
    lock = rundir.RunLock(run_dir) if role.is_chief else contextlib.nullcontext()
    # An existing run's train.log gets this job's lines only if the job trains.
    held_log = HeldLogFile() if started else contextlib.nullcontext()
    with lock, _unwritable_files_say_what_is_kept(run_dir), held_log:
        try:
            prepared = prepare_run(cfg, run_dir, list(HydraConfig.get().overrides.task))
            config = prepared.config
            check_search_has_objective(config.trainer.objective)
            # A finished run (e.g. a sweep run again) ends before TensorFlow is imported, and before
            # the data is read unless its length is in epochs.
            if config.trainer.epochs is None and _already_finished(
                run_dir, sum(phase_steps(config.model, config.trainer.steps))
            ):
                return run_dir, config
            # TensorFlow is imported only once the config and the data are known to be good.
            data = load_dataset(config.dataset)
            if _already_finished(run_dir, run_steps(config.trainer, config.model, data.num_train)):
                return run_dir, config
            conditions = model_condition_names(config.model, data)  # a bad condition fails before TensorFlow
            check_batch_size(config.trainer.batch_size, data.num_train)
            check_resources(config, data.image_shape, run_dir, owns_run_dir=role.is_chief, condition_dim=len(conditions))
            log.info(
                "training %s on %s %s: %s",
                config.model.name,
                config.dataset.name,
                "x".join(map(str, data.image_shape)),
                describe_budget(config.trainer, data.num_train, config.model),
            )
            if conditions:
                log.info("conditioned on %s: %s", describe_condition(config.model), ", ".join(conditions))
            import_tensorflow_quietly()
            from genlab.models import model_class
            from genlab.training.trainer import Trainer, TrainingInterrupted

            check_model_gives(
                config.trainer.objective, config.model.name, model_class(config.model.name), is_conditional(config.model)
            )
            trainer = Trainer(config, run_dir, data)
            if role.is_chief:
                prepared.save(run_dir)
            if started:
                held_log.release()
        except BaseException:  # a bad config or data set, a full disk, a signal: no trace of an unstarted run
            if not started and role.is_chief:
                rundir.discard_unstarted(run_dir)
            raise
        try:
            result = trainer.train()
        except TrainingInterrupted as stop:
            log.warning("%s", stop)
            raise CommandFailed(stop.exit_code, stop) from None
        except GenlabError:
            raise
        except BaseException:  # a full disk or a signal before the first checkpoint: nothing to keep
            if role.is_chief:
                rundir.discard_unstarted(run_dir)
            raise
    print(f"run directory: {result.run_dir}")
    finished_runs.append(Path(result.run_dir))
    return Path(result.run_dir), config


def _objective(run_dir: Path, config: Any) -> float:
    """The run's trainer.objective, said on stdout: what the job returns to a search."""
    name = config.trainer.objective
    value = evaluate_objective(run_dir, name, objective_settings(name, config.trainer))
    print(f"objective {name} = {value!r}", flush=True)
    return value


@hydra.main(version_base="1.3", config_path="pkg://genlab.conf", config_name="train")
@exits_as_failed_jobs
def _train_app(cfg: DictConfig) -> float | None:
    """One job: train, then, with trainer.objective, evaluate it and return it (to Hydra's sweeper)."""
    with exit_on_user_error(), recorded_trial(OmegaConf.select(cfg, "trainer.objective")) as finish:
        run_dir, config = _train_run(cfg)
        if config.trainer.objective is None:
            return None
        value = _objective(run_dir, config)
        finish(config.trainer.objective, value)
        return value


def train() -> None:
    """`genlab train` (each job's run, a sweep's or a search's)."""
    with exit_on_user_error(), search_without_result_is_one_line():
        _train_app()
