"""Keras optimizers from the `optimizer` config group."""
from __future__ import annotations

import keras
import tensorflow as tf

from genlab.config.schema import AdamConfig, OptimizerConfig, RMSpropConfig, SGDConfig


def build_optimizer(config: OptimizerConfig, loss_scaling: bool = False) -> keras.optimizers.Optimizer:
    """A fresh optimizer; wrapped for dynamic loss scaling under mixed_float16."""
    common = {"learning_rate": config.learning_rate, "clipnorm": config.clipnorm}
    if isinstance(config, AdamConfig):
        optimizer = FusedAdam(
            beta_1=config.beta_1, beta_2=config.beta_2, epsilon=config.epsilon, **common
        )
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


class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam with each variable's update done by TensorFlow's one-kernel ``ResourceApplyAdam``.

    Keras writes the update as about a dozen separate ops per variable, each a pass over
    it; the fused kernel computes the same formula (``alpha = lr * sqrt(1 - beta_2^t) /
    (1 - beta_1^t)``, then m, v and ``var -= m * alpha / (sqrt(v) + epsilon)``) in one
    pass. The slots are Keras' own, so checkpoints are unchanged. AMSGrad, sparse
    gradients and updates inside a tf.distribute strategy (where each replica's copy
    of a variable is updated through the strategy) keep Keras' code.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or tf.distribute.has_strategy() or not isinstance(gradient, tf.Tensor):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        local_step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_resource(variable),
            m=_resource(self._momentums[index]),
            v=_resource(self._velocities[index]),
            beta1_power=tf.pow(beta_1, local_step),
            beta2_power=tf.pow(beta_2, local_step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


def _resource(variable) -> tf.Tensor:
    """The resource handle of a tf.Variable or of the one inside a Keras variable."""
    if isinstance(variable, keras.Variable):
        variable = variable.value  # the backend's tf.Variable
    return variable.handle
