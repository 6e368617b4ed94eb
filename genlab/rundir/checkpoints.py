"""Saving and restoring a run's checkpoints (model, optimizers, step, RNG, seed states).

A damaged checkpoint never means a fresh start over an existing run: restoring falls
back to the newest checkpoint that restores, naming the damaged files, and stops
with their names when none does.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import tensorflow as tf

from genlab import rundir
from genlab.errors import GenlabError
from genlab.files import failed_file, write_text_atomically
from genlab.native_output import quiet_native_stderr

log = logging.getLogger("genlab.rundir.checkpoints")


class CheckpointStore:
    def __init__(self, directory: Path, max_to_keep: int, writes: bool = True, **trackables: object):
        self.directory = directory
        self.writes = writes
        self.checkpoint = tf.train.Checkpoint(**trackables)
        # Only the run's owner keeps checkpoints (and mends their state file); a reader, a render or
        # another worker of a multi-worker job, leaves the folder exactly as it found it.
        self.manager: tf.train.CheckpointManager | None = None
        if writes:
            self._repair_state_file()
            self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=max_to_keep)

    def _repair_state_file(self) -> None:
        """Rewrite a missing, empty or garbled state file from the checkpoints on disk.

        TensorFlow ignores (or fails on) such a file, which would hide every checkpoint.
        """
        existing = rundir.list_checkpoints(self.directory)
        if not existing or rundir.named_latest_checkpoint(self.directory) is not None:
            return
        state = self.directory / rundir.CHECKPOINT_STATE_FILE
        log.warning("%s is missing or damaged; rebuilding it from the checkpoints on disk", state)
        state.unlink(missing_ok=True)
        names = [Path(prefix).name for prefix in existing]
        # Timestamps let the manager go on rotating these checkpoints under max_to_keep.
        stamps = [Path(f"{prefix}.index").stat().st_mtime for prefix in existing]
        lines = [f'model_checkpoint_path: "{names[-1]}"']
        lines += [f'all_model_checkpoint_paths: "{name}"' for name in names]
        lines += [f"all_model_checkpoint_timestamps: {stamp}" for stamp in stamps]
        write_text_atomically(state, "\n".join(lines) + "\n")

    def latest(self) -> str | None:
        if self.manager is None:
            return rundir.named_latest_checkpoint(self.directory)
        return self.manager.latest_checkpoint

    def save(self, step: int) -> str | None:
        """Save checkpoint ``step``; one that cannot be written (a full disk) raises an OSError naming it.

        A save that fails or is interrupted leaves nothing of itself behind, so the state
        file's latest checkpoint stays the run's newest good one.
        """
        if not self.writes:
            self._save_to_scratch()
            return None
        prefix = str(self.directory / f"ckpt-{step}")  # the manager's default checkpoint_name is "ckpt"
        try:
            with quiet_native_stderr():  # TF 2.21 prints a timing line on every save
                path = self.manager.save(checkpoint_number=step)
        except BaseException as error:
            self._discard_unfinished(prefix)
            failed = failed_file(error) if isinstance(error, Exception) else None
            if failed is None:
                raise
            raise OSError(failed.errno, failed.strerror, prefix) from None
        log.debug("saved %s", path)
        return path

    def _discard_unfinished(self, prefix: str) -> None:
        """Remove what a failed save of ``prefix`` wrote, unless the state file already names it as saved."""
        self.remove_leftovers(quietly=True)
        if rundir.named_latest_checkpoint(self.directory) == prefix:
            return
        for written in self.directory.glob(f"{Path(prefix).name}.*"):
            written.unlink(missing_ok=True)

    def _save_to_scratch(self) -> None:
        """Save and throw away: a multi-worker save may involve every worker, but only the chief's is kept."""
        scratch = tempfile.mkdtemp(prefix="genlab-worker-checkpoint-")
        try:
            with quiet_native_stderr():
                self.checkpoint.write(str(Path(scratch) / "ckpt"))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def remove_leftovers(self, quietly: bool = False) -> None:
        """Delete what a save killed half-way leaves: TensorFlow's ``*_temp`` folders and state file temporaries."""
        if not self.directory.is_dir():
            return
        leftovers = [*self.directory.glob("*_temp*"), *self.directory.glob(f"{rundir.CHECKPOINT_STATE_FILE}.tmp*")]
        for leftover in leftovers:
            if not quietly:
                log.warning("removing %s, left by an interrupted save", leftover)
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)

    def restore_latest(self) -> str | None:
        """Restore the newest checkpoint that restores; None when the run has none yet."""
        candidates = list(reversed(rundir.list_checkpoints(self.directory)))
        named = self.latest()
        if named in candidates:  # the state file's latest first, then the others newest first
            candidates.remove(named)
            candidates.insert(0, named)
        if not candidates:
            return None
        failures = []
        for prefix in candidates:
            try:
                self.restore(prefix)
            except GenlabError as error:
                log.warning("%s; trying an older checkpoint", error)
                failures.append(Path(prefix).name)
                continue
            if failures:
                log.warning("restored %s instead of the damaged %s", Path(prefix).name, ", ".join(failures))
            return prefix
        raise GenlabError(
            f"no checkpoint in {self.directory} restores (damaged: {', '.join(failures)}); "
            "nothing was overwritten. Move the damaged files away to start this run afresh."
        )

    def restore(self, prefix: str) -> None:
        """Restore one checkpoint; every saved value must find its variable and every variable a value."""
        try:
            self.checkpoint.restore(prefix).assert_consumed()
        except Exception as error:  # damaged files raise DataLossError, IndexError, ValueError, ...
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise GenlabError(f"cannot restore checkpoint {prefix}: {reason}") from None
