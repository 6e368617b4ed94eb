"""The one training loop, for every model.

Several optimizer steps run inside one compiled call (genlab.training.schedule says how
many); between calls the loop reads the averaged metrics once, writes TensorBoard
scalars, image grids, progress frames and checkpoints, and checks for non-finite
losses and stop signals.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from genlab import rundir
from genlab.training import runtime
from genlab.config.schema import condition_of
from genlab.data.conditions import condition_table, dataset_condition_names
from genlab.data import ImageSet, load_dataset
from genlab.errors import GenlabError, Interrupted
from genlab.files import append_text, write_text_atomically
from genlab.training.hparams import log_hparams, log_session_end
from genlab.data.pixels import scale
from genlab.training.batches import Batch, Batches, make_batches
from genlab.rundir.history import history_record
from genlab.training.micro_batches import part_sizes
from genlab.training.networks import check_frozen, check_phases, model_must_not_split
from genlab.training.update import run_phase_step
from genlab.native_output import QuietSummaryWriter
from genlab.training.console import ProgressReporter, format_metrics
from genlab.render.conditions import default_rows, rows_of_samples
from genlab.config.sampling import preview_sampling
from genlab.render.grid import paired_rows, save_png, tile
from genlab.training.schedule import loop_length, total_steps
from genlab.training.schedule import phases as phase_plan
from genlab.rundir.state import build_state

log = logging.getLogger("genlab.train")

RECONSTRUCTION_COLUMNS = 8  # test images per row of the reconstruction grids, each row above its reconstructions

class TrainingInterrupted(GenlabError):
    """SIGINT/SIGTERM arrived; a checkpoint was saved."""

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.exit_code = 128 + signal_number


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    metrics: dict[str, float]
    trace_count: int


class _StopSignals:
    """Turns SIGINT/SIGTERM/SIGUSR2 into a flag the loop checks between compiled calls.

    Slurm (through submitit) sends SIGUSR2 before a job's time limit or preemption; the
    run saves first, then the handler that was there before (submitit's requeue) runs.
    """

    NUMBERS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR2)

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "_StopSignals":
        for number in self.NUMBERS:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, number: int, frame: Any) -> None:
        if self.received is not None:  # a second signal: stop now
            raise Interrupted(number)
        self.received = number
        log.warning("received %s: stopping after the current loop", signal.Signals(number).name)

    def __exit__(self, *exc: Any) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        previous = self._previous.get(signal.SIGUSR2)
        if self.received == signal.SIGUSR2 and callable(previous):
            previous(signal.SIGUSR2, None)


class Trainer:
    """The run ``genlab train`` makes: ``train()`` for the whole budget, ``run_steps(n)`` for a few steps alone.

    ``data`` and ``batches`` replace the configured data set and its batches (a notebook's
    images, or one batch held in memory to time the loop without its input).
    """

    def __init__(self, config: Any, run_dir: Path, data: ImageSet | None = None, batches: Batches | None = None):
        self.config = config
        self.run_dir = run_dir
        self.data = data if data is not None else load_dataset(config.dataset)
        for note in self.data.notes:
            log.info("%s", note)
        condition = condition_of(config.model)
        condition_names = dataset_condition_names(condition, self.data) if condition is not None else ()
        # Whether the networks may be split into micro-batches is read from the networks themselves,
        # built once in a graph of their own: thread settings must be fixed before TensorFlow starts.
        whole_batches = model_must_not_split(config, self.data.image_shape, condition_names)
        self.runtime = runtime.configure(config.trainer, config.seed, batch_norm=whole_batches)
        self.strategy = self.runtime.strategy
        self.is_chief = self.runtime.is_chief
        self.replica_batch_size = _replica_batch_size(config.trainer.batch_size, self.runtime.num_replicas)
        with self.strategy.scope():  # variables mirrored on every replica
            state = build_state(
                config,
                self.data.image_shape,
                run_dir,
                loss_scaling=self.runtime.precision == "mixed_float16",
                owns_run_dir=self.is_chief,
                condition_names=condition_names,
            )
        self.model, self.step, self.rng, self.checkpoints = state.model, state.step, state.rng, state.checkpoints
        self.average = state.average
        self.part_sizes = tuple(part_sizes(self.replica_batch_size, self.runtime.micro_batch_plan.parts))
        # One phase for most models; a VQ-VAE trains its prior in a second one, on the same step counter.
        budget = total_steps(config.trainer, self.data.num_train)
        self.phases = self.model.phases(budget)
        # Progress frames and TensorBoard grids: the model's sampling keys, or the cheaper preview its sampler offers.
        self.preview_sampling = preview_sampling(config.model.name)
        check_phases(self.phases, phase_plan(config.model, budget))
        for phase in self.phases:
            check_frozen(self.model, phase)
        self.steps = sum(phase.steps for phase in self.phases)
        if batches is None:
            batches = make_batches(
                self.data.train_images,
                config.trainer.batch_size,
                config.seed,
                self.model.pixel_range,
                config.dataset.binarize,
                conditions=condition_table(condition, self.data, "train") if self.model.has_condition else None,
            )
        self.batches = batches
        self._batches_started = False
        # Only the chief writes into the run directory; other workers compute the same steps.
        if self.is_chief:
            rundir.save_run_info(run_dir, self.data, self.runtime.precision)
            self.writer = QuietSummaryWriter(str(run_dir / rundir.TENSORBOARD_DIR))
        else:
            self.writer = tf.summary.create_noop_writer()
        self.fixed_images = self.data.test_images[: config.trainer.num_images]
        indices = range(len(self.phases))
        self._train_loops = [tf.function(functools.partial(self._loop, index), jit_compile=False) for index in indices]
        # Under a strategy the step must not be a nested tf.function: its gradient
        # all-reduce has to join the replicas inside strategy.run.
        self._compiled_model_steps = [functools.partial(self._model_step, index) for index in indices]
        if not self.runtime.distributed:
            jit = self.runtime.jit_compile
            self._compiled_model_steps = [tf.function(step, jit_compile=jit) for step in self._compiled_model_steps]

    # ------------------------------------------------------------------ compiled part

    def _model_step(self, phase: int, batch: Batch) -> dict[str, tf.Tensor]:
        """The model's update alone: the part XLA compiles when jit_compile is on."""
        metrics = run_phase_step(self.phases[phase], batch, self.rng, self.part_sizes)
        if self.average is not None:
            self.average.update(self.step + 1)
        return {name: tf.cast(metrics[name], tf.float32) for name in self.phases[phase].metric_names}

    def _replica_step(self, phase: int, batch: Batch) -> dict[str, tf.Tensor]:
        """One replica's update on its slice of the global batch (all of it without a strategy)."""
        if self.runtime.num_replicas > 1:
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            start = replica * self.replica_batch_size
            batch = tf.nest.map_structure(lambda tensor: tensor[start : start + self.replica_batch_size], batch)
        return self._compiled_model_steps[phase](batch)

    def _one_step(self, phase: int, batch: Batch) -> dict[str, tf.Tensor]:
        # Every worker derives the same global batch from the step and takes its replicas' slices.
        per_replica = self.strategy.run(functools.partial(self._replica_step, phase), args=(batch,))
        metrics = {
            name: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
            for name, value in per_replica.items()
        }
        self.step.assign_add(1)
        return metrics

    def _placeholder_batch(self) -> Batch:
        """Zeros shaped like a batch, the loop variable's first value before a streamed batch arrives."""
        images = tf.zeros([self.config.trainer.batch_size, *self.data.image_shape])
        if not self.model.has_condition:
            return images
        return images, tf.zeros([self.config.trainer.batch_size, len(self.model.condition_names)])

    def _loop(self, phase: int, num_steps: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor, dict[str, tf.Tensor]]:
        """Run up to ``num_steps`` steps of ``phase``; return the mean metrics, the steps done, and the last
        step's metrics.

        Stops early at the first non-finite metric, so the caller can name that step.
        """
        totals = {name: tf.constant(0.0) for name in self.phases[phase].metric_names}
        last = dict(totals)
        done = tf.constant(0, tf.int64)
        ahead = self.batches.random_access
        # With random access the batch of step s+1 is gathered while step s trains, so a
        # step never waits for its input (scripts/bench.py's input-pipeline line).
        # Streamed batches come from tf.data, which reads ahead by itself; for them the
        # loop variable starts as zeros that are never trained on.
        batch = self.batches.batch(self.step) if ahead else self._placeholder_batch()
        for _ in tf.range(num_steps):
            if ahead:
                upcoming = self.batches.batch(self.step + 1)
            else:
                upcoming = batch = self.batches.batch(self.step)
            last = self._one_step(phase, batch)
            batch = upcoming
            if not tf.reduce_all([tf.math.is_finite(value) for value in last.values()]):
                break
            totals = {name: totals[name] + last[name] for name in totals}
            done += 1
        count = tf.maximum(tf.cast(done, tf.float32), 1.0)
        return {name: total / count for name, total in totals.items()}, done, last

    # ------------------------------------------------------------------ host part

    def _samples(self) -> tuple[np.ndarray, int | None]:
        """Samples drawn with the same seed for every progress frame of this run, and the grid's columns: a
        conditional model's frame has a row per condition, the same noise in every row."""
        generator = np.random.default_rng(self.config.seed + 1)
        options = self.preview_sampling
        if not self.model.has_condition:
            return np.asarray(self.model.sample(self.config.trainer.num_images, generator, None, options)), None
        rows = default_rows(self.model.condition_kind, self.model.condition_names)
        columns = max(1, self.config.trainer.num_images // len(rows.labels))
        draw = lambda rng, conditions: self.model.sample(columns, rng, tf.constant(conditions), options)  # noqa: E731
        return rows_of_samples(draw, rows, columns, generator), columns

    def _reconstructions(self) -> np.ndarray:
        """Originals and reconstructions in alternating rows of eight."""
        images = scale(tf.constant(self.fixed_images), self.model.pixel_range, self.config.dataset.binarize)
        conditions = None
        if self.model.has_condition:
            condition = condition_of(self.config.model)
            conditions = tf.constant(condition_table(condition, self.data, "test")[: len(self.fixed_images)])
        originals = self.model.to_display(images).numpy()
        rebuilt = self.model.reconstruct(images, conditions).numpy()
        return paired_rows(originals, rebuilt, RECONSTRUCTION_COLUMNS)

    def _sample_grid(self) -> np.ndarray:
        samples, columns = self._samples()
        return tile(samples, columns)

    def _sampling_weights(self) -> contextlib.AbstractContextManager:
        """Inside the block the networks hold the weights pictures are drawn with (the average, when kept)."""
        return self.average.in_use() if self.average is not None else contextlib.nullcontext()

    def _write_images(self, step: int) -> None:
        """Progress frame from the fixed inputs, plus the same grids in TensorBoard."""
        if not self.is_chief:
            return
        with self._sampling_weights():
            grids = self._grids()
        frame = grids.get("samples", grids.get("reconstructions"))
        save_png(frame, self.run_dir / rundir.PROGRESS_DIR / f"step_{step:07d}.png")
        with self.writer.as_default(step=step):
            for name, grid in grids.items():
                tf.summary.image(name, grid[None])

    def _grids(self) -> dict[str, np.ndarray]:
        grids = {}
        if self.model.has_encoder:
            grids["reconstructions"] = tile(self._reconstructions(), columns=RECONSTRUCTION_COLUMNS)
        if self.model.prior_ready():
            grids["samples"] = self._sample_grid()
        return grids

    def _write_scalars(self, step: int, metrics: dict[str, float], images_per_second: float) -> None:
        if not self.is_chief:
            return
        with self.writer.as_default(step=step):
            for name, value in metrics.items():
                tf.summary.scalar(f"train/{name}", value)
            tf.summary.scalar("train/images_per_second", images_per_second)
        record = {"step": step, "images_per_second": images_per_second, **metrics}
        append_text(self.run_dir / rundir.HISTORY_FILE, json.dumps(record) + "\n")

    def _trim_history(self, step: int) -> None:
        """Drop history lines past the restored step (written after the last checkpoint of a killed run)."""
        path = self.run_dir / rundir.HISTORY_FILE
        if self.is_chief and path.exists():
            lines = [line for line in path.read_bytes().splitlines() if line.strip()]
            records = [(line, history_record(line)) for line in lines]  # a line cut short by the kill reads as None
            kept = [line.decode("utf-8") for line, record in records if record is not None and record["step"] <= step]
            write_text_atomically(path, "".join(line + "\n" for line in kept))

    def _final_pictures(self) -> None:
        if not self.is_chief:
            return
        with self._sampling_weights():
            grids = self._grids()
        for name, grid in grids.items():
            save_png(grid, self.run_dir / f"{name}.png")

    @property
    def trace_count(self) -> int:
        """How often the compiled loops were traced: one per phase run when the calls reuse their graphs."""
        return sum(int(loop.experimental_get_tracing_count()) for loop in self._train_loops)

    def _phase_at(self, step: int) -> tuple[int, int, int]:
        """The phase that trains the step after ``step``: its index, the step it starts after, and the
        step where it ends (the last phase never does: a longer budget continues it)."""
        start = 0
        for index, phase in enumerate(self.phases[:-1]):
            if step < start + phase.steps:
                return index, start, start + phase.steps
            start += phase.steps
        return len(self.phases) - 1, start, np.iinfo(np.int64).max

    def run_steps(self, count: int) -> dict[str, float]:
        """``count`` optimizer steps in the compiled calls ``train`` would make, without its logs, pictures
        and checkpoints; the last call's mean metrics. A non-finite loss raises GenlabError, as in ``train``."""
        self._start_batches()
        target = int(self.step.numpy()) + count
        metrics: dict[str, float] = {}
        while int(self.step.numpy()) < target:
            metrics, _ = self._compiled_call(target)
        return metrics

    def _start_batches(self) -> None:
        # Once, at the step the run (re)starts at: the compiled loop keeps the stream it was traced with.
        if not self._batches_started:
            self.batches.start(int(self.step.numpy()))
            self._batches_started = True

    def _compiled_call(self, target: int) -> tuple[dict[str, float], int]:
        """One call of the compiled loop towards step ``target``, ending where schedule.loop_length and the
        current phase say: its mean metrics and the steps it ran."""
        step = int(self.step.numpy())
        phase, start, end = self._phase_at(step)
        length = loop_length(step, min(target, end), self.config.trainer)
        if len(self.phases) > 1 and step == start:
            log.info("phase %s: steps %d-%d", self.phases[phase].name, step + 1, step + self.phases[phase].steps)
        loop_metrics, done, last_metrics = self._train_loops[phase](tf.constant(length, tf.int64))
        if int(done) < length:
            self._stop_non_finite(step + int(done) + 1, last_metrics)
        return {name: float(value) for name, value in loop_metrics.items()}, int(done)

    def train(self) -> TrainResult:
        config = self.config.trainer
        if self.is_chief:
            self.checkpoints.remove_leftovers()
        restored = self.checkpoints.restore_latest()
        start = int(self.step.numpy())
        if restored:
            log.info("resuming from %s at step %d of %d", restored, start, self.steps)
            self._trim_history(start)
        log.info("running on %s, %s%s", self.runtime.devices, self.runtime.precision, ", XLA" if self.runtime.jit_compile else "")
        if start >= self.steps:
            log.info("run already reached step %d of %d: nothing to do", start, self.steps)
            return TrainResult(self.run_dir, start, {}, 0)
        if start == 0:
            self._write_images(0)
        log_hparams(self.writer, self.config, self.steps, self.run_dir)
        self._start_batches()

        metrics: dict[str, float] = {}
        reporter = ProgressReporter(self.steps, start)
        interval_images, interval_start = 0, time.perf_counter()
        try:
            with _StopSignals() as stop:
                while int(self.step.numpy()) < self.steps:
                    metrics, done = self._compiled_call(self.steps)
                    step = int(self.step.numpy())
                    interval_images += done * config.batch_size
                    elapsed = time.perf_counter() - interval_start
                    images_per_second = interval_images / max(elapsed, 1e-9)
                    reporter.advance(step, done, images_per_second, metrics)
                    last = step >= self.steps
                    if step % config.log_every == 0 or last:
                        reporter.log(step, self.steps, images_per_second, metrics)
                        self._write_scalars(step, metrics, images_per_second)
                        interval_images, interval_start = 0, time.perf_counter()
                    if step % config.image_every == 0 or last:
                        self._write_images(step)
                    stopping = self._any_worker_stopping(stop.received is not None)
                    if step % config.checkpoint_every == 0 or last or stopping:
                        self.checkpoints.save(step)
                    if stopping and not last:
                        raise TrainingInterrupted(
                            f"stopped at step {step} of {self.steps}; checkpoint saved. "
                            f"Continue with: genlab train resume={self.run_dir}",
                            stop.received or signal.SIGTERM,
                        )
        except tf.errors.OpError as error:
            if not self.runtime.role.is_multi_worker:
                raise
            raise self._lost_worker(error) from None
        finally:
            reporter.close()
            self.writer.flush()
        log_session_end(self.writer, int(self.step.numpy()))
        self._final_pictures()
        traces = self.trace_count
        log.info("finished at step %d: %s", int(self.step.numpy()), format_metrics(metrics))
        if self.runtime.role.is_multi_worker:  # every worker prints it: they must agree
            log.info("%s: weights sha256 %s", self.runtime.role.name, weights_fingerprint(self.model))
        return TrainResult(self.run_dir, int(self.step.numpy()), metrics, traces)

    def _lost_worker(self, error: tf.errors.OpError) -> GenlabError:
        """A worker that died (or a broken connection) aborts every collective of the others."""
        lines = [line.strip() for line in str(error.message).splitlines() if "aborted by" in line]
        reason = lines[0] if lines else type(error).__name__
        latest = self.checkpoints.latest()
        return GenlabError(
            f"lost contact with another worker after step {int(self.step.numpy())} ({reason}); "
            f"the run keeps {latest or 'no checkpoint yet'}: start every worker again to continue"
        )

    def _any_worker_stopping(self, stopping: bool) -> bool:
        """Whether any worker received a stop signal, so that all stop after the same step."""
        if not self.runtime.role.is_multi_worker:
            return stopping
        return bool(self._count_stopping(tf.constant(float(stopping))) > 0)

    @tf.function
    def _count_stopping(self, flag: tf.Tensor) -> tf.Tensor:
        per_replica = self.strategy.run(tf.identity, args=(flag,))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def _stop_non_finite(self, bad_step: int, metrics: dict[str, tf.Tensor]) -> None:
        latest = self.checkpoints.latest()
        kept = f"the last good checkpoint is {latest}" if latest else "no checkpoint was written"
        values = format_metrics({name: float(value) for name, value in metrics.items()})
        raise GenlabError(
            f"non-finite loss at step {bad_step} ({values}); training stopped and {kept}. "
            "Try a lower optimizer.learning_rate."
        )


def weights_fingerprint(model: Any) -> str:
    """A hash of every network weight's bytes, in a fixed order."""
    digest = hashlib.sha256()
    for name, trackable in sorted(model.trackables().items()):
        if isinstance(trackable, keras.Model):
            for variable in trackable.weights:
                digest.update(name.encode() + variable.path.encode())
                digest.update(np.asarray(variable.numpy()).tobytes())
    return digest.hexdigest()


def _replica_batch_size(batch_size: int, replicas: int) -> int:
    """trainer.batch_size is the global batch: it must split evenly over the replicas."""
    if batch_size % replicas:
        raise GenlabError(
            f"trainer.batch_size={batch_size} does not split evenly over {replicas} replicas; "
            f"use a multiple of {replicas}"
        )
    return batch_size // replicas


def train(config: Any, run_dir: Path) -> TrainResult:
    return Trainer(config, run_dir).train()
