"""Process-wide TensorFlow settings for one job: precision, XLA, seeds, determinism."""
from __future__ import annotations

import gc
from dataclasses import dataclass

import keras
import tensorflow as tf

from genlab.config import TrainerConfig


@dataclass(frozen=True)
class Runtime:
    precision: str
    jit_compile: bool
    devices: str


def configure(trainer: TrainerConfig, seed: int) -> Runtime:
    """Start from a clean Keras state and apply the trainer's switches.

    ``auto`` means mixed_float16 and XLA on a GPU, float32 without XLA on a CPU,
    where both measured slower.
    """
    keras.backend.clear_session(free_memory=True)
    gc.collect()
    gpus = tf.config.list_physical_devices("GPU")
    precision = trainer.precision if trainer.precision != "auto" else ("mixed_float16" if gpus else "float32")
    jit_compile = {"true": True, "false": False, "auto": bool(gpus)}[trainer.jit_compile]
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(seed)
    if trainer.deterministic:
        tf.config.experimental.enable_op_determinism()
    devices = f"{len(gpus)} GPU" if gpus else "CPU"
    return Runtime(precision=precision, jit_compile=jit_compile, devices=devices)
