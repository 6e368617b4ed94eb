"""Which of genlab's hand-written replacements of Keras code a model is built with.

Each computes what the Keras code it replaces computes, with the same variables (so
checkpoints are interchangeable), faster on the CPU: one-channel convolutions as col2im
matrix products (genlab.models.col2im_convolution) and batch norm through TensorFlow's fused
kernel (genlab.models.fused_batch_norm). ``trainer.hand_written_kernels`` lists the ones a run
uses; scripts/bench.sh measures each against Keras' own (README, Performance). A fused Adam
was removed: it measured no faster on the Intel machine of the latest measurement and under 5%
on the AMD one before.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Iterable, Iterator

from genlab.config.schema import HAND_WRITTEN_KERNELS

_chosen: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "hand_written_kernels", default=frozenset(HAND_WRITTEN_KERNELS)
)


@contextlib.contextmanager
def hand_written_kernels(names: Iterable[str]) -> Iterator[None]:
    """Networks and optimizers built inside use the replacements ``names`` and Keras' code for the others."""
    token = _chosen.set(frozenset(names))
    try:
        yield
    finally:
        _chosen.reset(token)


def uses(name: str) -> bool:
    """Whether what is being built uses the replacement ``name`` (one of HAND_WRITTEN_KERNELS)."""
    return name in _chosen.get()
