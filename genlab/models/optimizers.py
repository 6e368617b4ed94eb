"""Keras optimizers from the `optimizer` config group."""
from __future__ import annotations

import keras

from genlab.config.schema import AdamConfig, OptimizerConfig, RMSpropConfig, SGDConfig


def build_optimizer(config: OptimizerConfig, loss_scaling: bool = False) -> keras.optimizers.Optimizer:
    """A fresh optimizer; wrapped for dynamic loss scaling under mixed_float16."""
    common = {"learning_rate": config.learning_rate, "clipnorm": config.clipnorm}
    if isinstance(config, AdamConfig):
        optimizer = keras.optimizers.Adam(beta_1=config.beta_1, beta_2=config.beta_2, epsilon=config.epsilon, **common)
    elif isinstance(config, RMSpropConfig):
        optimizer = keras.optimizers.RMSprop(
            rho=config.rho, momentum=config.momentum, epsilon=config.epsilon, **common
        )
    elif isinstance(config, SGDConfig):
        optimizer = keras.optimizers.SGD(momentum=config.momentum, nesterov=config.nesterov, **common)
    else:
        raise TypeError(f"no optimizer for config {type(config).__name__}")
    if loss_scaling:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
