"""Saving and restoring a run's checkpoints (model, optimizers, step, RNG)."""
from __future__ import annotations

import logging
from pathlib import Path

import tensorflow as tf

from genlab.errors import GenlabError
from genlab.native_output import quiet_native_stderr

log = logging.getLogger("genlab.checkpoints")


class CheckpointStore:
    def __init__(self, directory: Path, max_to_keep: int, **trackables: object):
        self.directory = directory
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=max_to_keep)

    def latest(self) -> str | None:
        return self.manager.latest_checkpoint

    def save(self, step: int) -> str:
        with quiet_native_stderr():  # TF 2.21 prints a timing line on every save
            path = self.manager.save(checkpoint_number=step)
        log.debug("saved %s", path)
        return path

    def restore_latest(self) -> str | None:
        """Restore the newest checkpoint, if any; every saved value must find its variable."""
        path = self.latest()
        if path is None:
            return None
        self.restore(path)
        return path

    def restore(self, path: str) -> None:
        try:
            self.checkpoint.restore(path).assert_consumed()
        except (tf.errors.OpError, AssertionError, ValueError) as error:
            raise GenlabError(f"cannot restore checkpoint {path}: {str(error).splitlines()[0]}") from None
