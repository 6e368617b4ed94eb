"""Whether a training run fits this machine, told from the config before TensorFlow builds anything.

The estimate walks the layers genlab.models.nets builds, from the config and the image
shape, and gives exactly Keras' parameter count. Training holds every weight, a
gradient for each trainable one and the optimizer's slots (Adam: two per weight;
RMSprop: one, two with momentum; SGD: none, one with momentum), all float32 (mixed
precision keeps float32 weights), once per device the model is mirrored on. A
checkpoint holds the weights and the slots; a run keeps ``trainer.max_to_keep`` of them
and writes the next one before it deletes the oldest.

The rule leaves the margin on the run's side: refuse only what cannot fit before
activations, TensorFlow itself and the data are counted (they come on top). Memory is
what Linux reports available (MemAvailable), capped by the process's cgroup limit and
by GENLAB_MEMORY_LIMIT when set; disk is what is free where the checkpoints go.
``trainer.check_resources=false`` skips the check.
"""
from __future__ import annotations

import logging
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from genlab import rundir
from genlab.config.schema import (
    AdamConfig,
    AEConfig,
    average_decay,
    ConvNetConfig,
    DeconvNetConfig,
    GANConfig,
    OptimizerConfig,
    PixelCNNConfig,
    RMSpropConfig,
    SGDConfig,
    VAEConfig,
    VQVAEConfig,
)
from genlab.errors import ConfigError, GenlabError

BYTES_PER_VALUE = 4  # float32
MEMORY_LIMIT_VARIABLE = "GENLAB_MEMORY_LIMIT"
BYPASS = "trainer.check_resources=false"
IMAGE_SIZE_KEY = "dataset.image_size"
OPTIMIZER_NAMES = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}
UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
# cgroup v1 writes "no limit" as a number near 2**63
_UNLIMITED = 2**60

log = logging.getLogger("genlab.training.resources")


# ----------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class LayerParams:
    trainable: int
    non_trainable: int
    grows_with: str  # the config key whose value makes this layer large

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable


def _largest_factor(*factors: tuple[int, str]) -> str:
    """The key of the largest factor of a layer's size."""
    return max(factors, key=lambda factor: factor[0])[1]


def _kernel(inputs: int, outputs: int, bias: bool, key: str, taps: int = 1, norm_vector: int = 0) -> LayerParams:
    """A Dense (taps=1) or a conv / transposed conv with ``taps`` kernel positions; spectral
    normalisation keeps a vector as long as the kernel's last axis beside it (``norm_vector``)."""
    return LayerParams(taps * inputs * outputs + (outputs if bias else 0), norm_vector, key)


def _frozen(layers: list[LayerParams]) -> list[LayerParams]:
    """The same layers with every weight non-trainable (a moving average of a network's weights)."""
    return [LayerParams(0, layer.total, layer.grows_with) for layer in layers]


def _conv_output(size: int, kernel: int, stride: int, padding: str) -> int:
    return math.ceil(size / stride) if padding == "same" else math.ceil((size - kernel + 1) / stride)


def _batch_norm(channels: int, key: str) -> LayerParams:
    return LayerParams(2 * channels, 2 * channels, key)  # gamma, beta; moving mean and variance


def _condition_layers(condition_dim: int, embedding_dim: int, net: ConvNetConfig) -> tuple[list[LayerParams], int]:
    """The embedding a conditional network concatenates (none for one-hot), and the width it adds."""
    if condition_dim == 0:
        return [], 0
    if embedding_dim == 0:
        return [], condition_dim
    key = "model.condition.embedding_dim"
    return [_kernel(condition_dim, embedding_dim, False, key, norm_vector=net.spectral_norm * embedding_dim)], embedding_dim


def encoder_params(
    image_shape: tuple[int, int, int],
    net: ConvNetConfig,
    output_units: int,
    prefix: str,
    units_key: str,
    condition_dim: int = 0,
    embedding_dim: int = 0,
    projection: bool = False,
) -> list[LayerParams]:
    """The layers of ``nets.encoder``: strided convs, flatten, a Dense (and a conditional network's
    embedding, or its discriminator's projection)."""
    widths_key = f"{prefix}.widths"
    layers, (height, width, channels) = _conv_stack(image_shape, net, widths_key)
    features = height * width * channels
    key = _largest_factor((output_units, units_key), (height * width, IMAGE_SIZE_KEY), (channels, widths_key))
    added = 0
    if not projection:
        embedding, added = _condition_layers(condition_dim, embedding_dim, net)
        layers += embedding
    layers.append(_kernel(features + added, output_units, True, key, norm_vector=net.spectral_norm * output_units))
    if projection and condition_dim:
        layers.append(_kernel(condition_dim, features, False, key, norm_vector=net.spectral_norm * features))
    return layers


def _conv_stack(
    image_shape: tuple[int, int, int], net: ConvNetConfig, key: str
) -> tuple[list[LayerParams], tuple[int, int, int]]:
    """The layers of ``nets._strided_convs``, and the shape of the feature map they leave."""
    height, width, channels = image_shape
    layers = []
    for filters, stride in zip(net.widths, net.layer_strides()):
        layers.append(_kernel(channels, filters, net.hidden_bias(), key, net.kernel_size**2, net.spectral_norm * filters))
        if net.batch_norm:
            layers.append(_batch_norm(filters, key))
        height = _conv_output(height, net.kernel_size, stride, net.padding)
        width = _conv_output(width, net.kernel_size, stride, net.padding)
        channels = filters
    return layers, (height, width, channels)


def _transposed_stack(inputs: int, channels: int, net: DeconvNetConfig, key: str) -> list[LayerParams]:
    """The layers of ``nets._up_to_image`` from a feature map of ``inputs`` channels to ``channels``."""
    norm = net.spectral_norm
    layers = []
    for filters in net.widths:
        # a transposed conv's kernel ends with its input channels
        layers.append(_kernel(inputs, filters, net.hidden_bias(), key, net.kernel_size**2, norm * inputs))
        if net.batch_norm:
            layers.append(_batch_norm(filters, key))
        inputs = filters
    output_kernel = net.output_kernel_size or net.kernel_size
    layers.append(_kernel(inputs, channels, net.output_bias, key, output_kernel**2, norm * inputs))
    return layers


def decoder_params(
    latent_dim: int,
    image_shape: tuple[int, int, int],
    net: DeconvNetConfig,
    prefix: str,
    latent_key: str,
    condition_dim: int = 0,
    embedding_dim: int = 0,
) -> list[LayerParams]:
    """The layers of ``nets.decoder``: a Dense to the first feature map, transposed convs, an output conv
    (and a conditional network's embedding)."""
    height, width, channels = image_shape
    norm = net.spectral_norm
    layers, added = _condition_layers(condition_dim, embedding_dim, net)
    inputs = latent_dim + added
    if net.is_dense:
        key = _largest_factor((latent_dim, latent_key), (height * width * channels, IMAGE_SIZE_KEY))
        pixels = height * width * channels
        return layers + [_kernel(inputs, pixels, net.output_bias, key, norm_vector=norm * pixels)]
    start_height, start_width, start_channels = net.start_shape(height, width)
    widths_key = f"{prefix}.widths"
    start_key = f"{prefix}.reshape_channels" if net.reshape_channels else widths_key
    units = start_height * start_width * start_channels
    key = _largest_factor(
        (latent_dim, latent_key), (start_height * start_width, IMAGE_SIZE_KEY), (start_channels, start_key)
    )
    layers.append(_kernel(inputs, units, net.hidden_bias(), key, norm_vector=norm * units))
    if net.batch_norm:
        layers.append(_batch_norm(units, key))
    return layers + _transposed_stack(start_channels, channels, net, widths_key)


def grid_params(image_shape: tuple[int, int, int], model: VQVAEConfig, latent_key: str) -> dict[str, list[LayerParams]]:
    """The layers of a VQ-VAE (genlab.models.vqvae): grid encoder, grid decoder, quantiser and prior."""
    encoder, code = model.encoder, model.latent_dim
    layers, (_, _, channels) = _conv_stack(image_shape, encoder, "model.encoder.widths")
    layers.append(_kernel(channels, code, True, latent_key, norm_vector=encoder.spectral_norm * code))  # the 1x1 conv
    decoded = _transposed_stack(code, image_shape[2], model.decoder, "model.decoder.widths")
    entries = model.num_embeddings * code
    if model.codebook_update == "loss":
        quantizer = [LayerParams(entries, 0, "model.num_embeddings")]
    else:  # codebook, cluster sizes and entry sums, all moving averages
        quantizer = [LayerParams(0, 2 * entries + model.num_embeddings, "model.num_embeddings")]
    return {"encoder": layers, "decoder": decoded, "quantizer": quantizer, "prior": pixelcnn_params(model.num_embeddings, model.prior)}


def pixelcnn_params(entries: int, prior: PixelCNNConfig) -> list[LayerParams]:
    """The layers of genlab.models.pixelcnn.pixelcnn."""
    filters, key = prior.filters, "model.prior.filters"
    half = filters // 2
    layers = [_kernel(entries, filters, True, key, prior.kernel_size**2)]
    for _ in range(prior.residual_blocks):
        layers += [_kernel(filters, filters, True, key), _kernel(filters, half, True, key, 9), _kernel(half, filters, True, key)]
    layers += [_kernel(filters, filters, True, key) for _ in range(2)]
    layers.append(_kernel(filters, entries, True, "model.num_embeddings"))
    return layers


def network_params(
    model: Any, image_shape: tuple[int, int, int], latent_key: str = "model.latent_dim", condition_dim: int = 0
) -> dict[str, list[LayerParams]] | None:
    """Every network of a model config, by the name the model gives it; None for a model not known here.
    A conditional model's networks take ``condition_dim`` values per condition."""
    condition = getattr(model, "condition", None)
    if condition is None or not condition.enabled:
        condition_dim = 0
    embedding_dim = condition.embedding_dim if condition_dim else 0
    if isinstance(model, GANConfig):
        generator = decoder_params(
            model.latent_dim, image_shape, model.generator, "model.generator", latent_key, condition_dim, embedding_dim
        )
        discriminator = encoder_params(
            image_shape,
            model.discriminator,
            1,
            "model.discriminator",
            latent_key,
            condition_dim,
            embedding_dim,
            projection=condition is not None and condition.discriminator == "projection",
        )
        return {"generator": generator, "discriminator": discriminator}
    if isinstance(model, VQVAEConfig):
        return grid_params(image_shape, model, latent_key)
    if isinstance(model, AEConfig):
        code_units = 2 * model.latent_dim if isinstance(model, VAEConfig) else model.latent_dim  # mean, log-variance
        return {
            "encoder": encoder_params(
                image_shape, model.encoder, code_units, "model.encoder", latent_key, condition_dim, embedding_dim
            ),
            "decoder": decoder_params(
                model.latent_dim, image_shape, model.decoder, "model.decoder", latent_key, condition_dim, embedding_dim
            ),
        }
    return None


# The networks the trainer's weight average copies (each model's ``averaged_networks``), by model config.
AVERAGED_NETWORKS = ((GANConfig, ("generator",)), (VQVAEConfig, ()), (AEConfig, ("encoder", "decoder")))


def averages(model: Any, networks: dict[str, list[LayerParams]]) -> dict[str, list[LayerParams]]:
    """The weight average's copies of a model's sampling networks (non-trainable), by checkpoint name."""
    names = next((names for kind, names in AVERAGED_NETWORKS if isinstance(model, kind)), ())
    return {f"{name}_ema": _frozen(networks[name]) for name in names}


def slots_per_weight(optimizer: OptimizerConfig) -> int:
    """Values the optimizer keeps for each trainable weight."""
    if isinstance(optimizer, AdamConfig):
        return 2  # first and second moments
    if isinstance(optimizer, RMSpropConfig):
        return 1 + int(optimizer.momentum > 0)
    if isinstance(optimizer, SGDConfig):
        return int(optimizer.momentum != 0)
    raise TypeError(f"no slot count for optimizer config {type(optimizer).__name__}")


# ----------------------------------------------------------------------------- what a run needs


@dataclass(frozen=True)
class Footprint:
    parameters: int  # every weight, as model.count_params() counts them
    trainable: int
    slots_per_weight: int
    optimizer: str  # as users know it: Adam, RMSprop, SGD
    cause: str  # the key (and its value) that makes the model large: "latent_dim=100000"
    cause_key: str
    copies: int = 1  # devices of this machine the model is mirrored on
    max_to_keep: int = 1

    @property
    def memory_bytes(self) -> int:
        values = self.parameters + self.trainable * (1 + self.slots_per_weight)  # weights, gradients, slots
        return BYTES_PER_VALUE * self.copies * values

    @property
    def checkpoint_bytes(self) -> int:
        return BYTES_PER_VALUE * (self.parameters + self.trainable * self.slots_per_weight)


def _select(config: Any, dotted: str) -> Any:
    for name in dotted.split("."):
        config = getattr(config, name)
    return config


WHOLE_MODEL = "model.*"  # what makes a model large when only its built networks were counted


def _cause(config: Any, key: str, image_shape: tuple[int, int, int]) -> str:
    if key == WHOLE_MODEL:
        return f"model={config.model.name}"
    value = _select(config, key)
    if value is None and key == IMAGE_SIZE_KEY:
        return f"{key}=null ({image_shape[0]}x{image_shape[1]} images)"
    return f"{key}={value}"


def built_parameters(config: Any, image_shape: tuple[int, int, int], condition_dim: int) -> LayerParams:
    """Every weight of the model ``config`` describes, counted on the model built in a graph of its own
    (nothing is allocated, and TensorFlow's runtime does not start)."""
    from genlab.training.networks import built_model_weights  # TensorFlow, only for a model not known here

    trainable, non_trainable = built_model_weights(config, image_shape, [str(index) for index in range(condition_dim)])
    log.info("model %s: %d parameters, counted on the model built from its config", config.model.name, trainable + non_trainable)
    return LayerParams(trainable, non_trainable, WHOLE_MODEL)


def estimate(config: Any, image_shape: tuple[int, int, int], condition_dim: int = 0) -> Footprint:
    """What training ``config`` on images of ``image_shape`` holds in memory and writes per checkpoint
    (a conditional model's with ``condition_dim`` values per condition)."""
    latent_key = "latent_dim" if getattr(config.model, "latent_dim", None) == config.latent_dim else "model.latent_dim"
    networks = network_params(config.model, image_shape, latent_key, condition_dim)
    if networks is None:  # a model the config alone does not describe here (a plug-in): build it and count
        networks = {"model": [built_parameters(config, image_shape, condition_dim)]}
    elif average_decay(config) is not None:
        networks.update(averages(config.model, networks))
    layers = [layer for network in networks.values() for layer in network]
    largest = max(layers, key=lambda layer: layer.total)
    trainer = config.trainer
    return Footprint(
        parameters=sum(layer.total for layer in layers),
        trainable=sum(layer.trainable for layer in layers),
        slots_per_weight=slots_per_weight(config.optimizer),
        optimizer=OPTIMIZER_NAMES.get(config.optimizer.name, config.optimizer.name),
        cause=_cause(config, largest.grows_with, image_shape),
        cause_key=largest.grows_with,
        copies=trainer.cpu_devices if trainer.strategy in ("auto", "mirrored") else 1,
        max_to_keep=trainer.max_to_keep,
    )


# ----------------------------------------------------------------------------- what the machine has


@dataclass(frozen=True)
class Machine:
    memory_available: int | None  # bytes; None when it cannot be told
    disk_free: int
    disk_path: Path  # where the checkpoints go


def parse_size(text: str, name: str) -> int:
    """``8GB``, ``512M``, ``1.5g`` or plain bytes (decimal units)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*", text.lower())
    if match is None:
        raise ConfigError(f"{name}={text!r} is not a size (for example 8GB, 512MB or a number of bytes)")
    return int(float(match.group(1)) * UNITS[match.group(2)])


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # cgroup v2 writes "max" for no limit


def _stat(path: Path, name: str) -> int:
    try:
        for line in path.read_text().splitlines():
            field, _, value = line.partition(" ")
            if field == name and value.strip().isdigit():
                return int(value)
    except OSError:
        pass
    return 0


def _meminfo_available(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    try:
        match = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def _cgroup_folders(proc_cgroup: Path, root: Path) -> Iterator[tuple[Path, str, str, str]]:
    """Each memory cgroup folder of this process and its parents, with the names of its limit, usage and stat files."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            base, files = root, ("memory.max", "memory.current", "inactive_file")
        elif "memory" in controllers.split(","):
            base, files = root / "memory", ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
        else:
            continue
        folder = base / path.strip("/")
        while True:
            yield (folder, *files)
            if folder == base or base not in folder.parents:
                break
            folder = folder.parent


def _cgroup_room(proc_cgroup: Path = Path("/proc/self/cgroup"), root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """What the tightest cgroup memory limit still leaves: limit - (usage - reclaimable page cache)."""
    rooms = []
    for folder, limit_file, usage_file, inactive_name in _cgroup_folders(proc_cgroup, root):
        limit, usage = _read_int(folder / limit_file), _read_int(folder / usage_file)
        if limit is None or usage is None or limit >= _UNLIMITED:
            continue
        rooms.append(max(0, limit - usage + _stat(folder / "memory.stat", inactive_name)))
    return min(rooms) if rooms else None


def available_memory() -> int | None:
    """Bytes this process can still have: the least of MemAvailable, the cgroup's room and GENLAB_MEMORY_LIMIT."""
    limit = os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip()
    figures = [_meminfo_available(), _cgroup_room(), parse_size(limit, MEMORY_LIMIT_VARIABLE) if limit else None]
    known = [figure for figure in figures if figure is not None]
    return min(known) if known else None


# ----------------------------------------------------------------------------- the check


def human_bytes(count: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


def refusal(footprint: Footprint, machine: Machine, checkpoints_to_write: int) -> str | None:
    """Why the run cannot fit ``machine``, in one line naming the key; None when it fits."""
    key = "the model's sizes (model.*)" if footprint.cause_key == WHOLE_MODEL else footprint.cause_key
    remedy = f"make {key} smaller, or pass {BYPASS} to start anyway"
    needed = footprint.memory_bytes
    if machine.memory_available is not None and needed > machine.memory_available:
        held = "weights and gradients"
        if footprint.slots_per_weight:
            held = f"weights, gradients and {footprint.optimizer}'s slots"
        copies = f", mirrored on {footprint.copies} devices (trainer.cpu_devices)" if footprint.copies > 1 else ""
        return (
            f"{footprint.cause}: the model's {footprint.parameters:,} parameters need {human_bytes(needed)} of memory "
            f"for {held}{copies}, but {human_bytes(machine.memory_available)} is available; {remedy}"
        )
    written = checkpoints_to_write * footprint.checkpoint_bytes
    if written > machine.disk_free:
        if checkpoints_to_write > 1:
            count = (
                f"{checkpoints_to_write} checkpoints of {human_bytes(footprint.checkpoint_bytes)} "
                f"(trainer.max_to_keep={footprint.max_to_keep} and the one being written) need"
            )
        else:
            count = "a checkpoint needs"
        return (
            f"{footprint.cause}: {count} {human_bytes(written)} of disk, but {human_bytes(machine.disk_free)} is "
            f"free in {machine.disk_path}; make {footprint.cause_key} or trainer.max_to_keep smaller, "
            f"or pass {BYPASS} to start anyway"
        )
    return None


def checkpoint_writes(run_dir: Path, max_to_keep: int, owns_run_dir: bool) -> tuple[int, Path]:
    """How many more checkpoints this process will have on disk at once, and where.

    The run directory's owner keeps ``max_to_keep`` and writes the next before deleting the
    oldest, beside those already there (a resumed run); any other worker of a multi-worker
    job saves each checkpoint to a scratch folder and deletes it.
    """
    if not owns_run_dir:
        return 1, Path(tempfile.gettempdir())
    on_disk = len(rundir.list_checkpoints(run_dir / rundir.CHECKPOINT_DIR))
    return max(1, max_to_keep + 1 - on_disk), run_dir


def check_resources(
    config: Any, image_shape: tuple[int, int, int], run_dir: Path, owns_run_dir: bool, condition_dim: int = 0
) -> None:
    """Refuse, naming the key, a run whose weights or checkpoints cannot fit this machine's memory or disk."""
    if not config.trainer.check_resources:
        return
    footprint = estimate(config, image_shape, condition_dim)
    to_write, where = checkpoint_writes(run_dir, config.trainer.max_to_keep, owns_run_dir)
    machine = Machine(available_memory(), shutil.disk_usage(where).free, where)
    message = refusal(footprint, machine, to_write)
    if message is not None:
        raise GenlabError(message)
