"""An exponential moving average of a model's sampling networks (``trainer.ema_decay``).

Each network the model names in ``averaged_networks`` gets a copy, ``<name>_ema`` in the
checkpoint, that follows ``ema = decay * ema + (1 - decay) * weights`` after every step
from ``trainer.ema_start`` on (batch norm's statistics included). Pictures, renders and
``genlab evaluate`` draw with the averages: they are copied into the networks the model
calls (``copy_into_networks``, or ``in_use`` for a block), so no model has to know whether its
weights are averaged.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import keras
import tensorflow as tf

from genlab.errors import GenlabError

SUFFIX = "_ema"


def copy_network(network: keras.Model) -> keras.Model:
    """A network of the same layers (same classes and settings) with its own weights, equal to ``network``'s now."""
    copy = keras.models.clone_model(network, clone_function=lambda layer: layer.__class__.from_config(layer.get_config()))
    return started_from(copy, network)


def started_from(average: keras.Model, network: keras.Model) -> keras.Model:
    """``average`` (a network of ``network``'s layers) holding ``network``'s weights, changed by the average only."""
    average.set_weights(network.get_weights())
    average.trainable = False
    return average


class WeightAverage:
    """The averaged copies of a model's networks, and the update that moves them."""

    def __init__(self, model: Any, decay: float, start: int = 0):
        if not model.averaged_networks:
            raise GenlabError(
                f"trainer.ema_decay={decay}: a {model.name} model names no networks to average (its "
                "averaged_networks); leave trainer.ema_decay null"
            )
        networks = model.networks()
        self.decay = float(decay)
        self.start = int(start)
        self.pairs = {name: (networks[name], model.copy_network(name)) for name in model.averaged_networks}

    def trackables(self) -> dict[str, keras.Model]:
        return {name + SUFFIX: average for name, (_, average) in self.pairs.items()}

    def update(self, step: tf.Tensor) -> None:
        """Move every average towards its network after optimizer step ``step`` (counted from 1).

        The decay ramps up as (1 + t) / (10 + t) after t averaged steps until it reaches ``decay``
        (as tf.train.ExponentialMovingAverage's num_updates does), so the early average is not held
        near the untrained initial weights. Before ``start`` the averages copy the weights.
        """
        done = tf.cast(step, tf.float32) - float(self.start)
        decay = tf.where(done > 0.0, tf.minimum(self.decay, (1.0 + done) / (10.0 + done)), 0.0)
        for network, average in self.pairs.values():
            for averaged, current in zip(average.weights, network.weights):
                averaged.assign(decay * averaged + (1.0 - decay) * tf.cast(current, averaged.dtype))

    def copy_into_networks(self) -> None:
        """Give the model's networks the averaged weights (what sampling uses)."""
        for network, average in self.pairs.values():
            network.set_weights(average.get_weights())

    @contextlib.contextmanager
    def in_use(self) -> Iterator[None]:
        """The model's networks hold the averages inside the block, their own weights again after it."""
        kept = {name: network.get_weights() for name, (network, _) in self.pairs.items()}
        self.copy_into_networks()
        try:
            yield
        finally:
            for name, (network, _) in self.pairs.items():
                network.set_weights(kept[name])
