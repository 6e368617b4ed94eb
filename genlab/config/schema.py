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
from genlab.config.metrics import METRIC_NAMES, metric_choices
from genlab.errors import ConfigError

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "swish", "tanh")
RECONSTRUCTION_LOSSES = ("bce", "mse")
RECONSTRUCTION_REDUCTIONS = ("sum", "mean")
SWITCHES = ("auto", "true", "false")
PADDINGS = ("same", "valid")
GAN_LOSSES = ("non_saturating", "hinge", "wasserstein")
CODEBOOK_UPDATES = ("loss", "ema")
CONDITION_SOURCES = ("none", "class", "attributes")
CONDITION_DISCRIMINATORS = ("projection", "concat")
HAND_WRITTEN_KERNELS = ("col2im", "fused_batch_norm")  # genlab.models.kernels
# Replacements genlab had and removed (they measured no faster); a saved config may still list them.
RETIRED_KERNELS = ("fused_adam",)


# ----------------------------------------------------------------------------- networks


@dataclass
class ConvNetConfig:
    """A strided conv stack: one layer per entry of ``widths`` (none: a dense network)."""

    widths: list[int] = field(default_factory=lambda: [32, 64])
    kernel_size: int = 3
    strides: Optional[list[int]] = None  # one per layer; None means 2 everywhere
    padding: str = "same"  # of the convs: same or valid (Keras' default)
    batch_norm: bool = False
    use_bias: Optional[bool] = None  # of the hidden layers; None = only where no batch norm follows
    activation: str = "relu"
    leaky_slope: float = 0.2  # negative slope of leaky_relu (DCGAN practice; Keras' LeakyReLU default is 0.3)
    dropout: float = 0.0
    spectral_norm: bool = False  # every conv and dense layer spectrally normalised (SN-GAN's discriminator)

    def check(self, key: str) -> None:
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
        require_choice(f"{key}.padding", self.padding, PADDINGS)
        require_choice(f"{key}.activation", self.activation, ACTIVATIONS)
        require(0.0 <= self.leaky_slope < 1.0, f"{key}.leaky_slope", "must be in [0, 1)", self.leaky_slope)
        require(0.0 <= self.dropout < 1.0, f"{key}.dropout", "must be in [0, 1)", self.dropout)

    def layer_strides(self) -> list[int]:
        return list(self.strides) if self.strides is not None else [2] * len(self.widths)

    def hidden_bias(self) -> bool:
        return self.use_bias if self.use_bias is not None else not self.batch_norm


@dataclass
class DeconvNetConfig(ConvNetConfig):
    """Dense -> reshape -> transposed convs -> output conv, mirroring ConvNetConfig.

    Without widths it is a dense decoder: one dense layer to every pixel, reshaped to the image.
    """

    widths: list[int] = field(default_factory=lambda: [64, 32])
    reshape_channels: Optional[int] = None  # channels of the first feature map; None = widths[0]
    output_stride: int = 1
    output_kernel_size: Optional[int] = None  # None = kernel_size
    output_bias: bool = True  # a bias on the output layer (the DCGAN tutorial's generator has none)
    dense_activation: Optional[str] = None  # after the first dense layer: linear, or None = activation

    def check(self, key: str) -> None:
        super().check(key)
        require(
            self.padding == "same",
            f"{key}.padding",
            "must be same: a decoder's feature maps grow by their strides to the image size",
            self.padding,
        )
        if self.dense_activation is not None:
            require_choice(f"{key}.dense_activation", self.dense_activation, ("linear", *ACTIVATIONS))
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

    @property
    def is_dense(self) -> bool:
        return not self.widths


# ----------------------------------------------------------------------------- models


@dataclass
class ConditionConfig:
    """What a class-conditional model is conditioned on, and how the condition enters its networks.

    The condition is a vector per image: the one-hot class (``by: class``) or the 0/1 values of
    chosen attributes (``by: attributes``, CelebA's). Every network takes it beside its input: a
    decoder or generator concatenates it to the code, an encoder to its conv features before the
    dense layer, and a GAN's discriminator projects it onto its features (Miyato & Koyama 2018)
    or concatenates it like an encoder.
    """

    by: str = "none"  # none, class or attributes
    attributes: list[str] = field(default_factory=list)  # by=attributes: which ones; empty = all of the data set's
    embedding_dim: int = 0  # 0: the one-hot (or 0/1) vector itself; N: a learned embedding of N values per network
    discriminator: str = "projection"  # a GAN's: projection or concat

    def check(self, key: str) -> None:
        require_choice(f"{key}.by", self.by, CONDITION_SOURCES)
        require(self.embedding_dim >= 0, f"{key}.embedding_dim", "must be >= 0 (0 = one-hot)", self.embedding_dim)
        require_choice(f"{key}.discriminator", self.discriminator, CONDITION_DISCRIMINATORS)
        require(
            not self.attributes or self.by == "attributes",
            f"{key}.attributes",
            f"applies to {key}.by=attributes only ({key}.by={self.by})",
            self.attributes,
        )

    @property
    def enabled(self) -> bool:
        return self.by != "none"


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
    # activation of the code itself (the encoder's last layer); None = linear. The dense autoencoder
    # tutorial's code is relu.
    code_activation: Optional[str] = None
    condition: ConditionConfig = field(default_factory=ConditionConfig)

    def __post_init__(self) -> None:
        require(self.latent_dim >= 1, "model.latent_dim", "must be >= 1", self.latent_dim)
        self.condition.check("model.condition")
        if self.code_activation is not None:
            require_choice("model.code_activation", self.code_activation, ACTIVATIONS)
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
        require(
            self.code_activation is None,
            "model.code_activation",
            "must be null for a vae: its encoder gives a mean and a log-variance, not a code",
            self.code_activation,
        )


@dataclass
class GANConfig:
    name: str = "gan"
    latent_dim: int = MISSING
    generator: DeconvNetConfig = field(default_factory=DeconvNetConfig)
    discriminator: ConvNetConfig = field(default_factory=ConvNetConfig)
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - label_smoothing (non_saturating only)
    loss: str = "non_saturating"  # non_saturating (DCGAN), hinge (SN-GAN) or wasserstein (WGAN)
    gradient_penalty: float = 0.0  # WGAN-GP's lambda on interpolates of real and fake images; 0 = off
    critic_steps: int = 1  # discriminator updates per generator update
    # the older spelling of trainer.ema_decay (runs saved before it keep it); use trainer.ema_decay
    ema_decay: Optional[float] = None
    condition: ConditionConfig = field(default_factory=ConditionConfig)

    def __post_init__(self) -> None:
        require(self.latent_dim >= 1, "model.latent_dim", "must be >= 1", self.latent_dim)
        self.condition.check("model.condition")
        require(0.0 <= self.label_smoothing < 0.5, "model.label_smoothing", "must be in [0, 0.5)", self.label_smoothing)
        require_choice("model.loss", self.loss, GAN_LOSSES)
        require(
            self.label_smoothing == 0.0 or self.loss == "non_saturating",
            "model.label_smoothing",
            f"applies to the non_saturating loss only (model.loss={self.loss})",
            self.label_smoothing,
        )
        require(self.gradient_penalty >= 0.0, "model.gradient_penalty", "must be >= 0", self.gradient_penalty)
        require(self.critic_steps >= 1, "model.critic_steps", "must be >= 1", self.critic_steps)
        if self.ema_decay is not None:
            require(0.0 < self.ema_decay < 1.0, "model.ema_decay", "must be in (0, 1), or null for none", self.ema_decay)
        self.generator.check("model.generator")
        self.discriminator.check("model.discriminator")


@dataclass
class PixelCNNConfig:
    """A VQ-VAE's prior: a PixelCNN over its grid of code indices, trained after the VQ-VAE."""

    # optimizer steps of the prior, after the VQ-VAE's; None = as many as the VQ-VAE's, 0 = no prior
    steps: Optional[int] = None
    filters: int = 128
    kernel_size: int = 7  # of the first layer (mask A); the residual blocks' masked convs are 3x3
    residual_blocks: int = 2
    learning_rate: float = 3.0e-4  # the prior has an optimizer of its own (the optimizer group's kind)

    def check(self, key: str) -> None:
        require(self.steps is None or self.steps >= 0, f"{key}.steps", "must be >= 0 (or null)", self.steps)
        require(self.filters >= 1, f"{key}.filters", "must be >= 1", self.filters)
        require(
            self.kernel_size >= 1 and self.kernel_size % 2 == 1, f"{key}.kernel_size", "must be odd", self.kernel_size
        )
        require(self.residual_blocks >= 0, f"{key}.residual_blocks", "must be >= 0", self.residual_blocks)
        require_positive(f"{key}.learning_rate", self.learning_rate)


@dataclass
class VQVAEConfig:
    """VQ-VAE (van den Oord et al. 2017): a grid of code vectors, each replaced by its nearest codebook entry."""

    name: str = "vqvae"
    latent_dim: int = MISSING  # the length of each code vector and codebook entry (the paper's D)
    num_embeddings: int = 128  # codebook entries (K)
    commitment_cost: float = 0.25  # beta: how strongly the encoder is pulled to its codebook entries
    codebook_update: str = "loss"  # loss (the codebook loss's gradient) or ema (moving averages)
    codebook_decay: float = 0.99  # of the ema update
    encoder: ConvNetConfig = field(default_factory=ConvNetConfig)  # convs, then a 1x1 conv to latent_dim
    decoder: DeconvNetConfig = field(default_factory=DeconvNetConfig)  # from the grid: transposed convs
    reconstruction_loss: str = "mse"
    reconstruction_weight: float = 1.0
    reconstruction_reduction: str = "mean"
    prior: PixelCNNConfig = field(default_factory=PixelCNNConfig)

    def __post_init__(self) -> None:
        require(self.latent_dim >= 1, "model.latent_dim", "must be >= 1", self.latent_dim)
        require(self.num_embeddings >= 2, "model.num_embeddings", "must be >= 2", self.num_embeddings)
        require(self.commitment_cost >= 0, "model.commitment_cost", "must be >= 0", self.commitment_cost)
        require_choice("model.codebook_update", self.codebook_update, CODEBOOK_UPDATES)
        require(0.0 < self.codebook_decay < 1.0, "model.codebook_decay", "must be in (0, 1)", self.codebook_decay)
        require_choice("model.reconstruction_loss", self.reconstruction_loss, RECONSTRUCTION_LOSSES)
        require_positive("model.reconstruction_weight", self.reconstruction_weight)
        require_choice("model.reconstruction_reduction", self.reconstruction_reduction, RECONSTRUCTION_REDUCTIONS)
        self.encoder.check("model.encoder")
        self.decoder.check("model.decoder")
        require(
            len(self.encoder.widths) > 0, "model.encoder.widths", "must list at least one conv for a grid", self.encoder.widths
        )
        require(
            self.encoder.padding == "same", "model.encoder.padding", "must be same for a vqvae", self.encoder.padding
        )
        require(
            len(self.decoder.widths) > 0, "model.decoder.widths", "must list at least one layer for a grid", self.decoder.widths
        )
        self.prior.check("model.prior")

    def phases(self, steps: int) -> tuple[tuple[str, int], ...]:
        """The VQ-VAE's steps, then its prior's (as many unless model.prior.steps says; none for 0)."""
        prior = steps if self.prior.steps is None else self.prior.steps
        return (("vqvae", steps), ("prior", prior)) if prior > 0 else (("vqvae", steps),)


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
    # auto, or how many parts each replica's batch is split into, run side by side (genlab.training.micro_batches)
    micro_batches: str = "auto"
    # genlab's replacements of Keras code the networks and optimizers use (genlab.models.kernels)
    hand_written_kernels: list[str] = field(default_factory=lambda: list(HAND_WRITTEN_KERNELS))
    # a metric of `genlab evaluate` (elbo, fd_domain, mse, ...) the job computes on its run at its end and
    # returns: what a search (hparams_search=...) optimizes; None = none. genlab.evaluate.objective checks the name.
    objective: Optional[str] = None
    objective_n: int = 2000  # samples and test images the objective is evaluated on (genlab evaluate's n)
    # decay of a moving average of the model's sampling networks (genlab.models.weight_average), which then
    # draws every picture and evaluation; None = none. ema_start: the step it starts following the weights.
    ema_decay: Optional[float] = None
    ema_start: int = 0

    def __post_init__(self) -> None:
        require(self.steps >= 1, "trainer.steps", "must be >= 1", self.steps)
        require(self.objective_n >= 4, "trainer.objective_n", "must be >= 4", self.objective_n)
        if self.ema_decay is not None:
            require(0.0 < self.ema_decay < 1.0, "trainer.ema_decay", "must be in (0, 1), or null for none", self.ema_decay)
        require(self.ema_start >= 0, "trainer.ema_start", "must be >= 0", self.ema_start)
        if self.objective is not None:
            require(self.objective in METRIC_NAMES, "trainer.objective", f"must be one of {metric_choices()}", self.objective)
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
            if name not in RETIRED_KERNELS:
                require_choice("trainer.hand_written_kernels", name, HAND_WRITTEN_KERNELS)
        self.hand_written_kernels = [name for name in self.hand_written_kernels if name not in RETIRED_KERNELS]

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
    condition: str = "none"  # shorthand for model.condition.by: none, class or attributes
    seed: int = 0
    resume: Optional[str] = None  # a run directory to continue

    def __post_init__(self) -> None:
        require(self.latent_dim >= 1, "latent_dim", "must be >= 1", self.latent_dim)
        require(self.beta >= 0, "beta", "must be >= 0", self.beta)
        require_choice("condition", self.condition, CONDITION_SOURCES)
        if self.condition != "none" and condition_of(self.model) is None:
            raise ConfigError(
                f"condition={self.condition}: a {getattr(self.model, 'name', '?')} model takes no condition; "
                "the conditional models are ae, vae and gan"
            )
        require(self.seed >= 0, "seed", "must be >= 0", self.seed)
        if getattr(self.model, "ema_decay", None) is not None and getattr(self.trainer, "ema_decay", None) is not None:
            raise ConfigError("give the weight average's decay once: trainer.ema_decay (model.ema_decay is its older spelling)")
        micro_batches = self.trainer.micro_batch_count() if isinstance(self.trainer, TrainerConfig) else None
        if micro_batches is not None and micro_batches > 1 and uses_batch_norm(self.model):
            raise ConfigError(
                f"trainer.micro_batches={micro_batches}: the model's networks use batch norm, which would "
                "normalise each micro-batch with its own statistics; use trainer.micro_batches=1 or auto"
            )


def average_decay(config: Any) -> float | None:
    """The decay a run averages its sampling networks with: trainer.ema_decay, or the GAN's older
    model.ema_decay (runs saved before it); None for no average."""
    decay = getattr(config.trainer, "ema_decay", None)
    return decay if decay is not None else getattr(config.model, "ema_decay", None)


def condition_of(model: Any) -> ConditionConfig | None:
    """A model config's condition settings, None for a model that takes no condition."""
    condition = getattr(model, "condition", None)
    return condition if isinstance(condition, ConditionConfig) else None


def is_conditional(model: Any) -> bool:
    condition = condition_of(model)
    return condition is not None and condition.enabled


def uses_batch_norm(model: Any) -> bool:
    """Whether any network of a model config normalises with batch statistics."""
    if not dataclasses.is_dataclass(model):
        return False
    return any(getattr(getattr(model, entry.name), "batch_norm", False) for entry in dataclasses.fields(model))


OPTIMIZER_SCHEMAS = {"adam": AdamConfig, "rmsprop": RMSpropConfig, "sgd": SGDConfig}
