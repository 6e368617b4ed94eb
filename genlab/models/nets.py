"""Conv encoders and transposed-conv decoders built from an image shape and a width list.

One builder serves 28x28x1, 32x32x3 and 64x64x3: the decoder starts from the
smallest feature map that its strides can grow past the image size, then crops,
so sizes that are not a power of two times the start size work too. An empty width
list gives a dense network (the first autoencoder tutorial's): flatten and one
dense layer to the code, one dense layer from the code to every pixel.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import keras
from keras import layers

from genlab.config.schema import ConvNetConfig, DeconvNetConfig
from genlab.errors import ConfigError
from genlab.models.col2im_convolution import Col2ImConv2D, Col2ImConv2DTranspose
from genlab.models.fused_batch_norm import FusedBatchNormalization
from genlab.models.kernels import uses


def activation_layer(name: str, leaky_slope: float = 0.2) -> layers.Layer:
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=leaky_slope)
    return layers.Activation(name)


def _normalised(layer: layers.Layer, net: ConvNetConfig) -> layers.Layer:
    """The layer itself, or wrapped in Keras' spectral normalisation (its kernel divided by its largest
    singular value, estimated by one power iteration a training call)."""
    return layers.SpectralNormalization(layer) if net.spectral_norm else layer


def _conv() -> type[layers.Conv2D]:
    return Col2ImConv2D if uses("col2im") else layers.Conv2D


def _conv_transpose() -> type[layers.Conv2DTranspose]:
    return Col2ImConv2DTranspose if uses("col2im") else layers.Conv2DTranspose


def _block(x, layer: layers.Layer, net: ConvNetConfig, training_noise: bool, activation: str | None = None):
    x = _normalised(layer, net)(x)
    if net.batch_norm:
        x = (FusedBatchNormalization if uses("fused_batch_norm") else layers.BatchNormalization)()(x)
    activation = activation or net.activation
    if activation != "linear":
        x = activation_layer(activation, net.leaky_slope)(x)
    if training_noise and net.dropout > 0:
        x = layers.Dropout(net.dropout)(x)
    return x


@dataclass(frozen=True)
class ConditionInput:
    """How a network takes a condition vector: its length, and its learned embedding's (0 = none)."""

    dim: int
    embedding_dim: int = 0

    def input(self) -> keras.KerasTensor:
        return keras.Input(shape=(self.dim,), name="conditions")

    def embedded(self, conditions, net: ConvNetConfig):
        """The condition as the network concatenates it: the vector itself, or its embedding."""
        if self.embedding_dim == 0:
            return conditions
        return _normalised(layers.Dense(self.embedding_dim, use_bias=False, name="condition_embedding"), net)(conditions)


def _inputs(first, conditions) -> list | keras.KerasTensor:
    """A network's inputs: one tensor, or [it, conditions] for a conditional network."""
    return first if conditions is None else [first, conditions]


def encoder(
    image_shape: tuple[int, int, int],
    net: ConvNetConfig,
    output_units: int,
    name: str,
    output_activation: str | None = None,
    condition: ConditionInput | None = None,
    projection: bool = False,
) -> keras.Model:
    """Strided convs, flatten, one dense layer of ``output_units`` (linear unless ``output_activation``).

    With a ``condition`` the network takes [images, conditions]: the (embedded) condition joins the
    flattened features before the dense layer, or, with ``projection`` (a discriminator's, one output),
    adds the inner product of the features with a learned projection of the condition to the output.
    """
    images = keras.Input(shape=image_shape, name="images")
    conditions = condition.input() if condition is not None else None
    features = layers.Flatten()(_strided_convs(images, net))
    if conditions is not None and not projection:
        features = layers.Concatenate()([features, condition.embedded(conditions, net)])
    x = _normalised(layers.Dense(output_units), net)(features)
    if conditions is not None and projection:
        projected = _normalised(layers.Dense(features.shape[-1], use_bias=False, name="condition_projection"), net)(
            conditions
        )
        x = layers.Add()([x, layers.Dot(axes=1)([features, projected])])
    if output_activation is not None:
        x = activation_layer(output_activation, net.leaky_slope)(x)
    # Losses are computed in float32 even under a mixed-precision policy.
    outputs = layers.Activation("linear", dtype="float32")(x)
    return keras.Model(_inputs(images, conditions), outputs, name=name)


def _strided_convs(x, net: ConvNetConfig):
    """One conv block per entry of ``net.widths`` (none for a dense network)."""
    for width, stride in zip(net.widths, net.layer_strides()):
        conv = _conv()(width, net.kernel_size, strides=stride, padding=net.padding, use_bias=net.hidden_bias())
        x = _block(x, conv, net, training_noise=True)
    return x


def decoder(
    latent_dim: int,
    image_shape: tuple[int, int, int],
    net: DeconvNetConfig,
    name: str,
    condition: ConditionInput | None = None,
) -> keras.Model:
    """Dense to a small feature map, transposed convs up, an output conv; returns pre-activations.

    With a ``condition`` the network takes [codes, conditions], the (embedded) condition concatenated
    to the code.
    """
    codes = keras.Input(shape=(latent_dim,), name="codes")
    conditions = condition.input() if condition is not None else None
    x = codes if conditions is None else layers.Concatenate()([codes, condition.embedded(conditions, net)])
    if net.is_dense:
        x = _normalised(layers.Dense(math.prod(image_shape), use_bias=net.output_bias), net)(x)
        outputs = layers.Activation("linear", dtype="float32")(layers.Reshape(image_shape)(x))
        return keras.Model(_inputs(codes, conditions), outputs, name=name)
    start_height, start_width, start_channels = net.start_shape(*image_shape[:2])
    dense = layers.Dense(start_height * start_width * start_channels, use_bias=net.hidden_bias())
    x = _block(x, dense, net, training_noise=False, activation=net.dense_activation)
    x = layers.Reshape((start_height, start_width, start_channels))(x)
    return keras.Model(_inputs(codes, conditions), _up_to_image(x, image_shape, net), name=name)


def _up_to_image(x, image_shape: tuple[int, int, int], net: DeconvNetConfig):
    """Transposed convs from feature map ``x``, an output conv onto the image's channels, the excess cropped."""
    height, width, channels = image_shape
    start_height, start_width = x.shape[1], x.shape[2]
    for filters, stride in zip(net.widths, net.layer_strides()):
        deconv = _conv_transpose()(filters, net.kernel_size, strides=stride, padding="same", use_bias=net.hidden_bias())
        x = _block(x, deconv, net, training_noise=False)
    output_layer = _conv_transpose()(
        channels,
        net.output_kernel_size or net.kernel_size,
        strides=net.output_stride,
        padding="same",
        use_bias=net.output_bias,
    )
    x = _normalised(output_layer, net)(x)
    upsampling = net.upsampling()
    extra_height, extra_width = start_height * upsampling - height, start_width * upsampling - width
    if extra_height or extra_width:
        x = layers.Cropping2D(
            ((extra_height // 2, extra_height - extra_height // 2), (extra_width // 2, extra_width - extra_width // 2))
        )(x)
    return layers.Activation("linear", dtype="float32")(x)


def grid_encoder(image_shape: tuple[int, int, int], net: ConvNetConfig, code_channels: int, name: str) -> keras.Model:
    """Strided convs, then a 1x1 conv to ``code_channels``: a grid of code vectors (a VQ-VAE's)."""
    images = keras.Input(shape=image_shape, name="images")
    x = _normalised(layers.Conv2D(code_channels, 1), net)(_strided_convs(images, net))
    outputs = layers.Activation("linear", dtype="float32")(x)
    return keras.Model(images, outputs, name=name)


def grid_decoder(
    grid_shape: tuple[int, int, int], image_shape: tuple[int, int, int], net: DeconvNetConfig, name: str
) -> keras.Model:
    """Transposed convs from a grid of code vectors up to the image (cropped), an output conv; pre-activations."""
    height, width, _ = image_shape
    upsampling = net.upsampling()
    if grid_shape[0] * upsampling < height or grid_shape[1] * upsampling < width:
        raise ConfigError(
            f"model.decoder.strides grow the encoder's {grid_shape[0]}x{grid_shape[1]} grid to "
            f"{grid_shape[0] * upsampling}x{grid_shape[1] * upsampling}, smaller than the {height}x{width} images: "
            "give the decoder at least the encoder's stride-2 layers"
        )
    codes = keras.Input(shape=grid_shape, name="codes")
    return keras.Model(codes, _up_to_image(codes, image_shape, net), name=name)
