"""Sums whose rounding does not depend on which op finished first.

TensorFlow's AddN adds its inputs into whichever input buffer it may reuse, and
moves that input to the front: which one it may reuse depends on whether the
other consumers of each input have already run, which with ops running side by
side (micro-batches, replicas, inter-op threads) changes from run to run. For
two inputs the order cannot matter (a + b == b + a in floating point); from three
on it changes the rounding, so two runs of one config end with different weights.

Chains of two-input adds do not help: grappler's arithmetic optimizer rewrites
them into one AddN. With ``trainer.deterministic`` genlab stacks such terms and
sums them with one Sum kernel, whose order of additions follows from the shapes
and the thread count alone: gradients the tape collects from several uses of a
tensor (a network run on each micro-batch), the micro-batches' metrics, and the
replicas' values that a CPU ``mirrored`` strategy reduces.
"""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf
from tensorflow.python.eager import backprop, imperative_grad
from tensorflow.python import pywrap_tfe


def ordered_sum(terms: Sequence[tf.Tensor]) -> tf.Tensor:
    """The sum of same-shaped ``terms``, rounded the same way on every run."""
    if not terms:
        raise ValueError("ordered_sum needs at least one term")
    if len(terms) == 1:
        return terms[0]
    return tf.reduce_sum(tf.stack(list(terms)), axis=0)


def _ordered_gradient_sum(gradients: list) -> object:
    """The tape's aggregation of a tensor's gradients, summed by ``ordered_sum`` in the order the tape collected them.

    IndexedSlices (gathers, embeddings) keep TensorFlow's aggregation: it concatenates them.
    """
    if len(gradients) > 1 and all(isinstance(gradient, tf.Tensor) for gradient in gradients):
        return ordered_sum(gradients)
    return backprop._aggregate_grads(gradients)  # noqa: SLF001 (TensorFlow's own, for the other cases)


_ORDERED_VSPACE = imperative_grad.VSpace(**{**backprop._default_vspace._asdict(), "aggregate_fn": _ordered_gradient_sum})


def use_ordered_gradient_sums(enabled: bool) -> None:
    """Make every GradientTape of this process sum gradients in order (or TensorFlow's AddN again).

    Applies to gradients taken after the call, traced functions included.
    """
    pywrap_tfe.TFE_Py_RegisterVSpace(_ORDERED_VSPACE if enabled else backprop._default_vspace)


def ordered_cross_device_ops(reduce_to_device: str) -> tf.distribute.CrossDeviceOps:
    """What a CPU ``mirrored`` strategy reduces replicas' values with: onto one device, in replica order."""
    return tf.distribute.ReductionToOneDevice(reduce_to_device=reduce_to_device, accumulation_fn=ordered_sum)
