"""A training run's hyperparameters in TensorBoard's HParams plugin.

At the start of training the run's TensorBoard directory gets the session's hyperparameters;
at its end, the session's end. No experiment summary is written: TensorBoard then builds the
HParams table from every run's hyperparameters and takes each run's metric values from the last
value of its scalars (train/* while training, eval/* once `genlab evaluate` has run), so a sweep
shows as one table with parallel coordinates: tensorboard --logdir outputs/multirun/...
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import tensorflow as tf
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from tensorboard.plugins.hparams import summary_v2 as hp


def run_hparams(config: Any, steps: int) -> dict[str, Any]:
    """What a sweep varies: model, data set, latent size, beta (VAE), optimizer and its rate, batch, steps, seed."""
    values: dict[str, Any] = {
        "model": str(config.model.name),
        "dataset": str(config.dataset.name),
        "latent_dim": int(getattr(config.model, "latent_dim", 0) or 0),  # 0: the model has no such key
        "optimizer": str(config.optimizer.name),
        "learning_rate": float(config.optimizer.learning_rate),
        "batch_size": int(config.trainer.batch_size),
        "steps": int(steps),
        "seed": int(config.seed),
    }
    if hasattr(config.model, "beta"):
        values["beta"] = float(config.model.beta)
    return values


def log_hparams(writer: tf.summary.SummaryWriter, config: Any, steps: int, run_dir: Path) -> None:
    """The session-start summary; the run directory is the trial id, so every run is its own row."""
    with writer.as_default():
        hp.hparams(run_hparams(config, steps), trial_id=str(run_dir))
    writer.flush()


def log_session_end(writer: tf.summary.SummaryWriter, step: int) -> None:
    """The session-end summary (status success) at the final step."""
    info = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS, end_time_secs=time.time())
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=metadata.SESSION_END_INFO_TAG,
        metadata=metadata.create_summary_metadata(plugin_data_pb2.HParamsPluginData(session_end_info=info)),
        tensor=metadata.NULL_TENSOR,
    )
    with writer.as_default():
        tf.summary.experimental.write_raw_pb(summary.SerializeToString(), step=step)
    writer.flush()
