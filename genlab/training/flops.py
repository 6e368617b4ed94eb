"""Floating-point operations of a built Keras model, per image.

Convention: a multiply-add counts as 2 FLOPs, and only the layers that multiply
matrices are counted: Dense, Conv1D/2D/3D and their transposes. Biases,
activations, normalisation, losses and optimizer updates are elementwise and
left out (they are a few percent of a convnet's arithmetic).

- Dense: 2 x inputs x units per position (a Dense on a 3-D input runs per row).
- Conv: 2 x output positions x output channels x kernel volume x input channels / groups.
- Conv transpose: 2 x *input* positions x input channels x kernel volume x output channels,
  because every input value is scattered through the whole kernel; that is the
  arithmetic of the conv's input gradient the transpose is built from.

Training is counted exactly rather than as "3 x forward": every counted layer
costs its forward FLOPs once for the forward pass, once more for the gradient of
its weights, and once more for the gradient of its input, except where no
gradient has to flow: layers before the first trainable one, unless the model's
input itself needs a gradient (a decoder fed by an encoder, a discriminator
judging a generator's images for the generator's loss).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import keras
from keras import layers

_CONVS = (layers.Conv1D, layers.Conv2D, layers.Conv3D)
_CONV_TRANSPOSES = (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)
# Layers that multiply matrices in a way not counted here: refuse rather than under-count.
_UNSUPPORTED = (layers.DepthwiseConv2D, layers.SeparableConv2D, layers.EinsumDense)


@dataclass(frozen=True)
class LayerFlops:
    name: str
    forward: int  # per image
    trainable: bool


def _per_image(shape) -> tuple[int, ...]:
    """A layer's shape without the batch dimension, as ints."""
    dims = tuple(shape)[1:]
    if any(dim is None for dim in dims):
        raise ValueError(f"FLOPs need fully known shapes; got {tuple(shape)}")
    return tuple(int(dim) for dim in dims)


def _layer_forward(layer: layers.Layer) -> int | None:
    """Forward FLOPs per image of one layer, or None when the layer is not counted.

    A wrapper (spectral normalisation) counts as the layer it wraps, on the wrapper's inputs.
    """
    inner = layer.layer if isinstance(layer, layers.Wrapper) else layer
    if isinstance(inner, _UNSUPPORTED):
        raise ValueError(f"layer {layer.name} ({type(inner).__name__}) is not supported by the FLOP counter")
    if isinstance(inner, layers.Dense):
        inputs = _per_image(layer.input.shape)
        return 2 * math.prod(inputs) * inner.units
    if isinstance(inner, _CONV_TRANSPOSES):
        inputs = _per_image(layer.input.shape)
        kernel_volume = math.prod(inner.kernel_size)
        return 2 * math.prod(inputs) * kernel_volume * inner.filters
    if isinstance(inner, _CONVS):
        inputs, outputs = _per_image(layer.input.shape), _per_image(layer.output.shape)
        kernel_volume = math.prod(inner.kernel_size)
        return 2 * math.prod(outputs) * kernel_volume * inputs[-1] // inner.groups
    return None


def _flattened(model: keras.Model) -> list[layers.Layer]:
    """The model's layers in order, nested models opened."""
    result = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            result += _flattened(layer)
        else:
            result.append(layer)
    return result


def layer_flops(model: keras.Model) -> list[LayerFlops]:
    """Forward FLOPs per image of every counted layer, in the model's layer order.

    The model must be built on known shapes (a functional model, or one called once).
    """
    counted = []
    for layer in _flattened(model):
        forward = _layer_forward(layer)
        if forward is not None:
            counted.append(LayerFlops(layer.name, forward, bool(layer.trainable_weights)))
    return counted


def forward_flops(model: keras.Model) -> int:
    """FLOPs of one forward pass, per image."""
    return sum(layer.forward for layer in layer_flops(model))


def input_gradient_flops(model: keras.Model) -> int:
    """FLOPs of back-propagating to the model's input only (no weight gradients), per image."""
    return forward_flops(model)


def training_flops(model: keras.Model, input_gradient: bool = False) -> int:
    """FLOPs of forward + backward through ``model`` when its weights are trained, per image.

    ``input_gradient``: the gradient must also reach the model's input (its first
    layers then pay their input gradient too).
    """
    total = 0
    gradient_flows = input_gradient
    for layer in _flattened(model):
        forward = _layer_forward(layer)
        trainable = bool(layer.trainable_weights)
        if forward is not None:
            total += forward * (1 + int(trainable) + int(gradient_flows))
        gradient_flows = gradient_flows or trainable
    return total
