"""Adam whose update of each variable is one TensorFlow kernel (trainer.hand_written_kernels: fused_adam)."""
from __future__ import annotations

import keras
import tensorflow as tf


class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam with each variable's update done by TensorFlow's one-kernel ``ResourceApplyAdam``.

    Keras writes the update as about a dozen separate ops per variable, each a pass over
    it; the fused kernel computes the same formula (``alpha = lr * sqrt(1 - beta_2^t) /
    (1 - beta_1^t)``, then m, v and ``var -= m * alpha / (sqrt(v) + epsilon)``) in one
    pass. The slots are Keras' own, so checkpoints are unchanged. Keras 3 has no public way to
    find the slot of a variable (no ``get_slot``): they are read where its Adam keeps them
    (``_get_variable_index``, ``_momentums``, ``_velocities``), and tests/test_fused_kernels.py
    checks step for step that the result is Keras' Adam, so a Keras that moves them fails
    there, not silently. AMSGrad, sparse
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
