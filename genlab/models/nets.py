"""Conv encoders and transposed-conv decoders built from an image shape and a width list.

One builder serves 28x28x1, 32x32x3 and 64x64x3: the decoder starts from the
smallest feature map that its strides can grow past the image size, then crops,
so sizes that are not a power of two times the start size work too.
"""
from __future__ import annotations

import keras
from keras import layers

from genlab.config.schema import ConvNetConfig, DeconvNetConfig
from genlab.models.col2im_convolution import Col2ImConv2D, Col2ImConv2DTranspose
from genlab.models.fused_batch_norm import FusedBatchNormalization
from genlab.models.kernels import uses

LEAKY_SLOPE = 0.2  # DCGAN practice


def activation_layer(name: str) -> layers.Layer:
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=LEAKY_SLOPE)
    return layers.Activation(name)


def _conv() -> type[layers.Conv2D]:
    return Col2ImConv2D if uses("col2im") else layers.Conv2D


def _conv_transpose() -> type[layers.Conv2DTranspose]:
    return Col2ImConv2DTranspose if uses("col2im") else layers.Conv2DTranspose


def _block(x, layer: layers.Layer, net: ConvNetConfig, training_noise: bool):
    x = layer(x)
    if net.batch_norm:
        x = (FusedBatchNormalization if uses("fused_batch_norm") else layers.BatchNormalization)()(x)
    x = activation_layer(net.activation)(x)
    if training_noise and net.dropout > 0:
        x = layers.Dropout(net.dropout)(x)
    return x


def encoder(image_shape: tuple[int, int, int], net: ConvNetConfig, output_units: int, name: str) -> keras.Model:
    """Strided convs, flatten, one dense layer of ``output_units`` (no activation)."""
    images = keras.Input(shape=image_shape, name="images")
    x = images
    for width, stride in zip(net.widths, net.layer_strides()):
        conv = _conv()(width, net.kernel_size, strides=stride, padding="same", use_bias=not net.batch_norm)
        x = _block(x, conv, net, training_noise=True)
    x = layers.Flatten()(x)
    x = layers.Dense(output_units)(x)
    # Losses are computed in float32 even under a mixed-precision policy.
    outputs = layers.Activation("linear", dtype="float32")(x)
    return keras.Model(images, outputs, name=name)


def decoder(latent_dim: int, image_shape: tuple[int, int, int], net: DeconvNetConfig, name: str) -> keras.Model:
    """Dense to a small feature map, transposed convs up, an output conv; returns pre-activations."""
    height, width, channels = image_shape
    upsampling = net.upsampling()
    start_height, start_width, start_channels = net.start_shape(height, width)

    codes = keras.Input(shape=(latent_dim,), name="codes")
    dense = layers.Dense(start_height * start_width * start_channels, use_bias=not net.batch_norm)
    x = _block(codes, dense, net, training_noise=False)
    x = layers.Reshape((start_height, start_width, start_channels))(x)
    for filters, stride in zip(net.widths, net.layer_strides()):
        deconv = _conv_transpose()(
            filters, net.kernel_size, strides=stride, padding="same", use_bias=not net.batch_norm
        )
        x = _block(x, deconv, net, training_noise=False)
    x = _conv_transpose()(
        channels, net.output_kernel_size or net.kernel_size, strides=net.output_stride, padding="same"
    )(x)
    extra_height, extra_width = start_height * upsampling - height, start_width * upsampling - width
    if extra_height or extra_width:
        x = layers.Cropping2D(
            ((extra_height // 2, extra_height - extra_height // 2), (extra_width // 2, extra_width - extra_width // 2))
        )(x)
    outputs = layers.Activation("linear", dtype="float32")(x)
    return keras.Model(codes, outputs, name=name)
