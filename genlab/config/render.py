"""Typed schemas of the render commands, registered in Hydra's ConfigStore as ``<command>_schema``.

Hydra checks types and unknown keys while composing; the ranges below run in
``__post_init__`` when :func:`genlab.config.validate` builds the dataclass, and each
message names the key. Checks that need the run (an index below the number of test
images, a dimension below latent_dim) happen once the run is located.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from genlab.config.checks import require, require_choice, require_positive
from genlab.config.sampling import sampling_keys_schema

INTERPOLATION_METHODS = ("lerp", "slerp")
MAX_FPS = 50.0  # GIF frames shorter than 20 ms are shown at 100 ms by browsers
MAX_SEED = 2**32 - 1  # numpy's and Keras' global seeds are 32-bit
MAX_IMAGES = 4096  # images in one grid: n, and columns of a grid of them
MAX_TRAVERSAL_COLUMNS = 256  # values per traversal row; the GIF has about twice as many frames
CONDITION_KEYS = ("classes", "attributes")  # a conditional model's: which conditions a picture shows
PRECISE_BN_IMAGES = 1024  # training images batch norm's statistics are recomputed from (genlab.rundir.precise_bn)


def require_plain_numbers(config: Any) -> None:
    """Every float of a config dataclass is finite; every list holds finite numbers, not lists or mappings.

    OmegaConf types a list's entries but lets a nested list or mapping through (``alphas=[[1]]``).
    """
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if item.name in CONDITION_KEYS:  # lists of names
            continue
        if isinstance(value, (list, tuple)):
            numbers = all(isinstance(entry, (int, float)) and not isinstance(entry, bool) for entry in value)
            require(numbers, item.name, "entries must be numbers", value)
            require(all(math.isfinite(entry) for entry in value), item.name, "entries must be finite", value)
        elif isinstance(value, float):
            require(math.isfinite(value), item.name, "must be a finite number", value)


def require_seed(value: int) -> None:
    require(0 <= value <= MAX_SEED, "seed", f"must be in [0, {MAX_SEED}]", value)


def require_path(key: str, value: Optional[str]) -> None:
    """A path key, when given, is not empty (an empty path would mean the working directory)."""
    if value is not None:
        require(str(value).strip() != "", key, "must not be empty", value)


def require_precise_bn_images(value: int) -> None:
    require(value >= 1, "precise_bn_images", "must be >= 1", value)


def _columns(value: Optional[int], minimum: int = 1, maximum: int = MAX_IMAGES) -> None:
    if value is not None:
        require(value >= minimum, "columns", f"must be >= {minimum}", value)
        require(value <= maximum, "columns", f"must be <= {maximum}", value)


def _fps(value: float) -> None:
    require(0 < value <= MAX_FPS, "fps", f"must be in (0, {MAX_FPS:g}]", value)


def _dims(key: str, dims: Optional[list[int]], count: Optional[int] = None) -> None:
    if dims is None:
        return
    if count is not None:
        require(len(dims) == count, key, f"must list exactly {count} dimensions", dims)
    else:
        require(len(dims) >= 1, key, "must list at least one dimension", dims)
    require(all(dim >= 0 for dim in dims), key, "entries must be >= 0", dims)
    require(len(set(dims)) == len(dims), key, "entries must be different", dims)


@dataclass
class RenderConfig:
    """What every render command takes."""

    checkpoint: str = MISSING  # a run directory (its latest checkpoint) or <run>/checkpoints/ckpt-N
    out: Optional[str] = None  # output directory; None = <run>/renders/<command>
    seed: int = 0  # every random choice follows it: same seed, same files
    padding: int = 2  # pixels between tiles
    # batch norm's statistics recomputed from training images before rendering (in memory only);
    # false: the checkpoint's running averages
    precise_bn: bool = True
    precise_bn_images: int = PRECISE_BN_IMAGES
    average_weights: bool = True  # a run with a weight average (trainer.ema_decay) draws with it; false: raw weights

    def __post_init__(self) -> None:
        require_plain_numbers(self)
        require_path("checkpoint", self.checkpoint)
        require_path("out", self.out)
        require_seed(self.seed)
        require(0 <= self.padding <= 64, "padding", "must be in [0, 64]", self.padding)
        require_precise_bn_images(self.precise_bn_images)


@dataclass
class ConditionalRenderConfig(RenderConfig):
    """A render command that also takes a conditional model's conditions: classes by name or index, or
    attributes switched on ('Smiling+Male').

    A sample grid shows one row per entry (every class by default); traversals, interpolations and
    manifolds keep one condition fixed, the first entry (by default the test image's own, or the first class).
    """

    classes: Optional[list[str]] = None
    attributes: Optional[list[str]] = None


# every installed model's sampling keys (genlab.config.sampling), null = the run's model's default
SamplingKeys = sampling_keys_schema()


@dataclass
class SampleConfig(SamplingKeys, ConditionalRenderConfig):  # the sampling keys listed after the common ones
    n: int = 64
    columns: Optional[int] = None  # None = a square grid
    fit_examples: int = 10000  # autoencoder: training images whose codes the Gaussian is fitted to

    def __post_init__(self) -> None:
        super().__post_init__()
        require(1 <= self.n <= MAX_IMAGES, "n", f"must be in [1, {MAX_IMAGES}]", self.n)
        _columns(self.columns)
        require(self.fit_examples >= 2, "fit_examples", "must be >= 2", self.fit_examples)


@dataclass
class ReconstructConfig(RenderConfig):
    n: int = 16
    columns: int = 8  # images per row; each row of inputs is followed by its row of reconstructions

    def __post_init__(self) -> None:
        super().__post_init__()
        require(1 <= self.n <= MAX_IMAGES, "n", f"must be in [1, {MAX_IMAGES}]", self.n)
        _columns(self.columns)


@dataclass
class ProgressConfig(RenderConfig):
    fps: float = 8.0
    labels: bool = True  # write the step on each frame

    def __post_init__(self) -> None:
        super().__post_init__()
        _fps(self.fps)


@dataclass
class TraverseConfig(ConditionalRenderConfig):
    index: int = 0  # the test image whose code is the starting point (ignored for a GAN)
    dims: Optional[list[int]] = None  # None = VAE: largest mean KL; others: the first ones
    max_rows: int = 10  # rows when dims is None
    columns: int = 9
    range: float = 3.0  # each row sets its dimension from -range to +range
    fps: float = 8.0
    labels: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.index >= 0, "index", "must be >= 0", self.index)
        _dims("dims", self.dims)
        require(self.max_rows >= 1, "max_rows", "must be >= 1", self.max_rows)
        _columns(self.columns, minimum=2, maximum=MAX_TRAVERSAL_COLUMNS)
        require_positive("range", self.range)
        _fps(self.fps)


@dataclass
class InterpolateConfig(ConditionalRenderConfig):
    a: int = 0  # a test image index (AE, VAE) or a seed (GAN)
    b: int = 1
    steps: int = 10
    method: str = "lerp"
    fps: float = 8.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.a >= 0, "a", "must be >= 0", self.a)
        require(self.b >= 0, "b", "must be >= 0", self.b)
        require(2 <= self.steps <= 1024, "steps", "must be in [2, 1024]", self.steps)
        require_choice("method", self.method, INTERPOLATION_METHODS)
        _fps(self.fps)


@dataclass
class ManifoldConfig(ConditionalRenderConfig):
    n: int = 20  # the grid is n x n
    dims: list[int] = field(default_factory=lambda: [0, 1])

    def __post_init__(self) -> None:
        super().__post_init__()
        require(2 <= self.n <= 64, "n", "must be in [2, 64]", self.n)
        _dims("dims", self.dims, count=2)


@dataclass
class LatentsConfig(RenderConfig):
    n: int = 5000  # test images to encode (a random subset when the test set is larger)
    dims: list[int] = field(default_factory=lambda: [0, 1])  # the scatter plot's axes

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.n >= 2, "n", "must be >= 2", self.n)
        _dims("dims", self.dims, count=2)


@dataclass
class ArithmeticConfig(RenderConfig):
    attribute: str = MISSING  # a class name for labelled sets
    alphas: list[float] = field(default_factory=lambda: [-2.0, -1.0, 0.0, 1.0, 2.0])
    n: int = 8  # test images without the attribute, one row each
    fps: float = 2.0
    labels: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        require(len(self.alphas) >= 1, "alphas", "must list at least one value", self.alphas)
        require(1 <= self.n <= 256, "n", "must be in [1, 256]", self.n)
        _fps(self.fps)


NEIGHBOUR_SPACES = ("domain", "pixels", "both")


@dataclass
class NeighboursConfig(SamplingKeys, RenderConfig):
    n: int = 16  # samples, one row each
    k: int = 5  # nearest training images shown per sample, in each space
    train_n: Optional[int] = None  # training images searched; None = the whole training split
    features: str = "both"  # domain (the classifier's features), pixels, or both

    def __post_init__(self) -> None:
        super().__post_init__()
        require(1 <= self.n <= 256, "n", "must be in [1, 256]", self.n)
        require(1 <= self.k <= 32, "k", "must be in [1, 32]", self.k)
        if self.train_n is not None:
            require(self.train_n >= self.k, "train_n", "must be >= k (or null for the whole training split)", self.train_n)
        require_choice("features", self.features, NEIGHBOUR_SPACES)


RENDER_SCHEMAS = {
    "sample": SampleConfig,
    "reconstruct": ReconstructConfig,
    "progress": ProgressConfig,
    "traverse": TraverseConfig,
    "interpolate": InterpolateConfig,
    "manifold": ManifoldConfig,
    "latents": LatentsConfig,
    "arithmetic": ArithmeticConfig,
    "neighbours": NeighboursConfig,
}


def register_render_schemas() -> None:
    store = ConfigStore.instance()
    for command, schema in RENDER_SCHEMAS.items():
        store.store(name=f"{command}_schema", node=schema)
