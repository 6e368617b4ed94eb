"""Typed schemas for every config group of training (genlab.config.store registers them with Hydra).

Hydra checks types and unknown keys while it composes (each group YAML extends
its schema from ``schema/<group>/<name>``). Ranges and cross-key rules live in
``__post_init__``, which runs when :func:`validate` turns the composed config
into these dataclasses; each message names the full key.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from genlab.config.checks import require, require_choice, require_positive, require_whole_numbers
from genlab.errors import ConfigError

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "swish", "tanh")
RECONSTRUCTION_LOSSES = ("bce", "mse")
RECONSTRUCTION_REDUCTIONS = ("sum", "mean")
SWITCHES = ("auto", "true", "false")
HAND_WRITTEN_KERNELS = ("col2im", "fused_batch_norm", "fused_adam")  # genlab.models.kernels


# ----------------------------------------------------------------------------- networks


@dataclass
class ConvNetConfig:
    """A strided conv stack: one layer per entry of ``widths``."""

    widths: list[int] = field(default_factory=lambda: [32, 64])
    kernel_size: int = 3
    strides: Optional[list[int]] = None  # one per layer; None means 2 everywhere
    batch_norm: bool = False
    activation: str = "relu"
    dropout: float = 0.0

    def check(self, key: str) -> None:
        require(len(self.widths) > 0, f"{key}.widths", "must list at least one layer", self.widths)
        require_whole_numbers(f"{key}.widths", self.widths)
        for width in self.widths:
            require(width >= 1, f"{key}.widths", "entries must be >= 1", self.widths)
        require(self.kernel_size >= 1, f"{key}.kernel_size", "must be >= 1", self.kernel_size)
        if self.strides is not None:
            require(
                len(self.strides) == len(self.widths),
                f"{key}.strides",
                f"must have one entry per width ({len(self.widths)})",
                self.strides,
            )
            require_whole_numbers(f"{key}.strides", self.strides)
            for stride in self.strides:
                require(stride in (1, 2), f"{key}.strides", "entries must be 1 or 2", self.strides)
        require_choice(f"{key}.activation", self.activation, ACTIVATIONS)
        require(0.0 <= self.dropout < 1.0, f"{key}.dropout", "must be in [0, 1)", self.dropout)

    def layer_strides(self) -> list[int]:
        return list(self.strides) if self.strides is not None else [2] * len(self.widths)


@dataclass
class DeconvNetConfig(ConvNetConfig):
    """Dense -> reshape -> transposed convs -> output conv, mirroring ConvNetConfig."""

    widths: list[int] = field(default_factory=lambda: [64, 32])
    reshape_channels: Optional[int] = None  # channels of the first feature map; None = widths[0]
    output_stride: int = 1
    output_kernel_size: Optional[int] = None  # None = kernel_size

    def check(self, key: str) -> None:
        super().check(key)
        if self.reshape_channels is not None:
            require(self.reshape_channels >= 1, f"{key}.reshape_channels", "must be >= 1", self.reshape_channels)
        require(self.output_stride in (1, 2), f"{key}.output_stride", "must be 1 or 2", self.output_stride)
        if self.output_kernel_size is not None:
            require(self.output_kernel_size >= 1, f"{key}.output_kernel_size", "must be >= 1", self.output_kernel_size)

    def upsampling(self) -> int:
        """How many times larger the output is than the first feature map, per side."""
        return math.prod(self.layer_strides()) * self.output_stride

    def start_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """The first feature map: the smallest the strides grow past ``height`` x ``width`` (then cropped)."""
        upsampling = self.upsampling()
        return math.ceil(height / upsampling), math.ceil(width / upsampling), self.reshape_channels or self.widths[0]


# ----------------------------------------------------------------------------- models


@dataclass
class AEConfig:
    name: str = "ae"
    latent_dim: int = MISSING
    encoder: ConvNetConfig = field(default_factory=ConvNetConfig)
    decoder: DeconvNetConfig = field(default_factory=DeconvNetConfig)
    reconstruction_loss: str = "bce"
    reconstruction_weight: float = 1.0
    # what the weight multiplies in the loss: the error summed over an image's values, or
    # their mean (Keras' losses reduce by the mean; the "weight 500" recipes rely on it)
    reconstruction_reduction: str = "sum"

    def __post_init__(self) -> None:
        require(self.latent_dim >= 1, "model.latent_dim", "must be >= 1", self.latent_dim)
        require_choice("model.reconstruction_loss", self.reconstruction_loss, RECONSTRUCTION_LOSSES)
        require_positive("model.reconstruction_weight", self.reconstruction_weight)
        require_choice("model.reconstruction_reduction", self.reconstruction_reduction, RECONSTRUCTION_REDUCTIONS)
        self.encoder.check("model.encoder")
        self.decoder.check("model.decoder")


@dataclass
class VAEConfig(AEConfig):
    name: str = "vae"
    beta: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.beta >= 0, "model.beta", "must be >= 0", self.beta)


@dataclass
class GANConfig:
    name: str = "gan"
    latent_dim: int = MISSING
    generator: DeconvNetConfig = field(default_factory=DeconvNetConfig)
    discriminator: ConvNetConfig = field(default_factory=ConvNetConfig)
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - label_smoothing

    def __post_init__(self) -> None:
        require(self.latent_dim >= 1, "model.latent_dim", "must be >= 1", self.latent_dim)
        require(0.0 <= self.label_smoothing < 0.5, "model.label_smoothing", "must be in [0, 0.5)", self.label_smoothing)
        self.generator.check("model.generator")
        self.discriminator.check("model.discriminator")


# ----------------------------------------------------------------------------- data


@dataclass
class DatasetConfig:
    name: str = MISSING
    path: Optional[str] = None  # where the files are; None = the source's usual places
    image_size: Optional[int] = None  # None = native size
    resize: str = "pad"  # pad (centre on a black canvas) or resize, when image_size differs
    channels: Optional[int] = None  # None = native; 1 or 3 converts
    binarize: bool = False  # pixels become 0 or 1 (the Bernoulli-likelihood tutorials)
    download: bool = True  # fetch from the official source when no local copy exists
    test_fraction: float = 0.1  # sources without an official test split hold out this share
    max_examples: Optional[int] = None  # use only the first N training images
    crop: Optional[int] = None  # decoded pictures: centre crop side before resizing; None = largest square
    cache_dir: Optional[str] = None  # decoded-picture cache; None = .genlab-cache beside the data
    on_bad_image: str = "skip"  # an undecodable picture is skipped and counted, or stops the run (fail)

    def __post_init__(self) -> None:
        if self.image_size is not None:
            require(self.image_size >= 4, "dataset.image_size", "must be >= 4", self.image_size)
        if self.crop is not None:
            require(self.crop >= 1, "dataset.crop", "must be >= 1", self.crop)
        require_choice("dataset.on_bad_image", self.on_bad_image, ("skip", "fail"))
        require_choice("dataset.resize", self.resize, ("pad", "resize"))
        if self.channels is not None:
            require(self.channels in (1, 3), "dataset.channels", "must be 1 or 3", self.channels)
        require(0.0 < self.test_fraction < 1.0, "dataset.test_fraction", "must be in (0, 1)", self.test_fraction)
        if self.max_examples is not None:
            require(self.max_examples >= 1, "dataset.max_examples", "must be >= 1", self.max_examples)


# ----------------------------------------------------------------------------- optimizers


@dataclass
class OptimizerConfig:
    name: str = MISSING
    learning_rate: float = 1e-3
    clipnorm: Optional[float] = None

    def __post_init__(self) -> None:
        require_positive("optimizer.learning_rate", self.learning_rate)
        if self.clipnorm is not None:
            require_positive("optimizer.clipnorm", self.clipnorm)


@dataclass
class AdamConfig(OptimizerConfig):
    name: str = "adam"
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7

    def __post_init__(self) -> None:
        super().__post_init__()
        require(0.0 <= self.beta_1 < 1.0, "optimizer.beta_1", "must be in [0, 1)", self.beta_1)
        require(0.0 <= self.beta_2 < 1.0, "optimizer.beta_2", "must be in [0, 1)", self.beta_2)
        require_positive("optimizer.epsilon", self.epsilon)


@dataclass
class RMSpropConfig(OptimizerConfig):
    name: str = "rmsprop"
    rho: float = 0.9
    momentum: float = 0.0
    epsilon: float = 1e-7

    def __post_init__(self) -> None:
        super().__post_init__()
        require(0.0 <= self.rho < 1.0, "optimizer.rho", "must be in [0, 1)", self.rho)
        require(0.0 <= self.momentum < 1.0, "optimizer.momentum", "must be in [0, 1)", self.momentum)
        require_positive("optimizer.epsilon", self.epsilon)


@dataclass
class SGDConfig(OptimizerConfig):
    name: str = "sgd"
    learning_rate: float = 1e-2
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        require(0.0 <= self.momentum < 1.0, "optimizer.momentum", "must be in [0, 1)", self.momentum)


# ----------------------------------------------------------------------------- trainer


@dataclass
class TrainerConfig:
    steps: int = 2000
    epochs: Optional[float] = None  # when set, replaces steps: epochs x (train images // batch)
    batch_size: int = 128
    # optimizer steps per compiled call: auto (up to the next log, picture or checkpoint) or a number
    steps_per_loop: str = "auto"
    log_every: int = 100
    image_every: int = 500
    checkpoint_every: int = 500
    max_to_keep: int = 3
    num_images: int = 64  # images in every sample grid and progress frame
    check_resources: bool = True  # refuse a model whose weights or checkpoints cannot fit (genlab.training.resources)
    strategy: str = "auto"  # auto | default | mirrored | multi_worker
    cpu_devices: int = 1  # logical devices the CPU is split into (mirrored without GPUs)
    precision: str = "auto"  # auto | float32 | mixed_float16 | mixed_bfloat16
    jit_compile: str = "auto"  # auto | true | false
    deterministic: bool = True  # bit-identical resume on CPU
    # auto, or how many parts each replica's batch is split into, run side by side (genlab.models.micro_batches)
    micro_batches: str = "auto"
    # genlab's replacements of Keras code the networks and optimizers use (genlab.models.kernels)
    hand_written_kernels: list[str] = field(default_factory=lambda: list(HAND_WRITTEN_KERNELS))

    def __post_init__(self) -> None:
        require(self.steps >= 1, "trainer.steps", "must be >= 1", self.steps)
        if self.epochs is not None:
            require_positive("trainer.epochs", self.epochs)
        require(self.batch_size >= 1, "trainer.batch_size", "must be >= 1", self.batch_size)
        self.steps_per_loop = _auto_or_count("trainer.steps_per_loop", self.steps_per_loop, "steps each compiled call runs")
        for key in ("log_every", "image_every", "checkpoint_every"):
            value = getattr(self, key)
            require(value >= 1, f"trainer.{key}", "must be >= 1", value)
            loop = self.loop_steps()
            require(
                loop is None or value % loop == 0,
                f"trainer.{key}",
                f"must be a multiple of trainer.steps_per_loop ({loop}); trainer.steps_per_loop=auto fits any interval",
                value,
            )
        require(self.max_to_keep >= 1, "trainer.max_to_keep", "must be >= 1", self.max_to_keep)
        require(1 <= self.num_images <= 1024, "trainer.num_images", "must be in [1, 1024]", self.num_images)
        require_choice("trainer.strategy", self.strategy, ("auto", "default", "mirrored", "multi_worker"))
        require(1 <= self.cpu_devices <= 64, "trainer.cpu_devices", "must be in [1, 64]", self.cpu_devices)
        require_choice("trainer.precision", self.precision, ("auto", "float32", "mixed_float16", "mixed_bfloat16"))
        self.jit_compile = str(self.jit_compile).lower()
        require_choice("trainer.jit_compile", self.jit_compile, SWITCHES)
        self._check_micro_batches()
        for name in self.hand_written_kernels:
            require_choice("trainer.hand_written_kernels", name, HAND_WRITTEN_KERNELS)

    def _check_micro_batches(self) -> None:
        self.micro_batches = _auto_or_count("trainer.micro_batches", self.micro_batches, "parts each batch runs as")
        if self.micro_batches != "auto":
            require(
                int(self.micro_batches) <= self.batch_size,
                "trainer.micro_batches",
                f"must be at most trainer.batch_size ({self.batch_size})",
                self.micro_batches,
            )

    def micro_batch_count(self) -> int | None:
        """trainer.micro_batches as a number, None for auto."""
        return None if self.micro_batches == "auto" else int(self.micro_batches)

    def loop_steps(self) -> int | None:
        """trainer.steps_per_loop as a number, None for auto (genlab.training.schedule)."""
        return None if self.steps_per_loop == "auto" else int(self.steps_per_loop)


def _auto_or_count(key: str, value: Any, what: str) -> str:
    """``auto`` or a whole number >= 1 (as text: the key takes both), else a ConfigError naming ``key``."""
    text = str(value).strip().lower()
    whole = text.isdigit() and int(text) >= 1
    require(text == "auto" or whole, key, f"must be one of auto, 1, 2, 3, ... ({what})", value)
    return text if text == "auto" else str(int(text))


# ----------------------------------------------------------------------------- commands


@dataclass
class TrainConfig:
    model: Any = MISSING
    dataset: Any = MISSING
    optimizer: Any = MISSING
    trainer: Any = MISSING
    latent_dim: int = 16
    beta: float = 1.0
    seed: int = 0
    resume: Optional[str] = None  # a run directory to continue

    def __post_init__(self) -> None:
        require(self.latent_dim >= 1, "latent_dim", "must be >= 1", self.latent_dim)
        require(self.beta >= 0, "beta", "must be >= 0", self.beta)
        require(self.seed >= 0, "seed", "must be >= 0", self.seed)
        micro_batches = self.trainer.micro_batch_count() if isinstance(self.trainer, TrainerConfig) else None
        if micro_batches is not None and micro_batches > 1 and uses_batch_norm(self.model):
            raise ConfigError(
                f"trainer.micro_batches={micro_batches}: the model's networks use batch norm, which would "
                "normalise each micro-batch with its own statistics; use trainer.micro_batches=1 or auto"
            )


def uses_batch_norm(model: Any) -> bool:
    """Whether any network of a model config normalises with batch statistics."""
    if not dataclasses.is_dataclass(model):
        return False
    return any(getattr(getattr(model, entry.name), "batch_norm", False) for entry in dataclasses.fields(model))


OPTIMIZER_SCHEMAS = {"adam": AdamConfig, "rmsprop": RMSpropConfig, "sgd": SGDConfig}
