"""What the trainer reads from a model's built networks rather than from its config."""
from __future__ import annotations

import contextlib
from typing import Any, Iterable, Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf

from genlab.errors import GenlabError
from genlab.models import GenerativeModel, build_model
from genlab.models.kernels import hand_written_kernels
from genlab.models.optimizers import build_optimizer


def layers_of(networks: Iterable[keras.Layer]) -> list[keras.Layer]:
    """Every layer inside ``networks``, nested models and wrappers (spectral norm's) included."""
    found: list[keras.Layer] = []
    pending = list(networks)
    while pending:
        layer = pending.pop()
        found.append(layer)
        pending.extend(getattr(layer, "layers", []))
        inner = getattr(layer, "layer", None)  # keras.layers.Wrapper
        if isinstance(inner, keras.Layer):
            pending.append(inner)
    return found


def has_batch_norm(networks: Iterable[keras.Layer]) -> bool:
    """Whether any layer normalises with its batch's statistics (Keras' batch norm or a subclass of it)."""
    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in layers_of(networks))


@contextlib.contextmanager
def built_in_a_graph(config: Any, image_shape: tuple[int, int, int], condition_names: Sequence[str]) -> Iterator[GenerativeModel]:
    """The model ``config`` describes, built in a graph of its own for the block: nothing is allocated and
    TensorFlow's runtime does not start, so its thread settings can still follow what the block finds."""
    try:
        with tf.Graph().as_default(), hand_written_kernels(config.trainer.hand_written_kernels):
            yield build_model(config.model, image_shape, lambda: build_optimizer(config.optimizer, False), condition_names)
    finally:
        keras.backend.clear_session()  # the probe's layer names must not shift the real model's


def model_must_not_split(config: Any, image_shape: tuple[int, int, int], condition_names: Sequence[str]) -> bool:
    """Whether the model ``config`` describes must see whole batches: a batch norm layer in any network, or a
    phase that writes its own step."""
    with built_in_a_graph(config, image_shape, condition_names) as model:
        return has_batch_norm(model.networks().values()) or any(phase.step is not None for phase in model.phases(1))


def built_model_weights(config: Any, image_shape: tuple[int, int, int], condition_names: Sequence[str]) -> tuple[int, int]:
    """(trainable, non-trainable) weights of every network of the model ``config`` describes, counted on the
    model built in a graph of its own."""
    with built_in_a_graph(config, image_shape, condition_names) as model:
        networks = model.networks().values()
        weights = {id(weight): weight for network in networks for weight in network.weights}
        trainable = {id(weight) for network in networks for weight in network.trainable_weights}
        counts = [0, 0]
        for key, weight in weights.items():
            counts[key not in trainable] += int(np.prod(weight.shape))
        return counts[0], counts[1]


def check_frozen(model: GenerativeModel, phase: Any) -> None:
    """A phase's optimizers must change no network the phase freezes (a prior trained on a frozen autoencoder)."""
    networks = model.networks()
    frozen = {id(variable) for name in phase.freezes for variable in networks[name].trainable_variables}
    for update in phase.updates:
        for objective in update.objectives:
            touched = [variable.path for variable in objective.variables() if id(variable) in frozen]
            if touched:
                raise GenlabError(
                    f"model {model.name}: phase {phase.name} freezes {', '.join(phase.freezes)} but its "
                    f"{objective.loss} optimizer changes {touched[0]}"
                )


def check_phases(phases: Sequence[Any], declared: Sequence[tuple[str, int]]) -> None:
    """The model's phases must be those its config declares (names and steps): the budget line, a finished
    run's step and resuming are read from the config before the model is built."""
    built = tuple((phase.name, phase.steps) for phase in phases)
    if built != tuple(declared):
        raise GenlabError(f"the model's phases {built} are not those its config declares {tuple(declared)}")
