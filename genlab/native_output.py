"""Silence TensorFlow's native start-up messages, which ignore TF_CPP_MIN_LOG_LEVEL in TF 2.21."""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (Python's sys.stderr is unaffected
    only if it is not fd 2, so it is flushed first and restored after)."""
    if os.environ.get("GENLAB_NATIVE_LOGS"):  # for debugging TensorFlow itself
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and probe its devices (where the CUDA probing messages come from)."""
    with quiet_native_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()


class QuietSummaryWriter:
    """TensorBoard's events writer for ``logdir``, with TensorFlow's native messages silenced while it writes.

    A write that fails (a full disk) prints several native lines repeating the error
    genlab then reports in one.
    """

    def __init__(self, logdir: str):
        import tensorflow as tf

        with quiet_native_stderr():
            self._writer = tf.summary.create_file_writer(logdir)

    @contextlib.contextmanager
    def as_default(self, step: int | None = None) -> Iterator["QuietSummaryWriter"]:
        with quiet_native_stderr(), self._writer.as_default(step=step):  # leaving it flushes
            yield self

    def flush(self) -> None:
        with quiet_native_stderr():
            self._writer.flush()

    def close(self) -> None:
        with quiet_native_stderr():
            self._writer.close()
