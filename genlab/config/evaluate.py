"""Typed schemas of `genlab evaluate` and `genlab report`, registered in Hydra's ConfigStore.

Hydra checks types and unknown keys while composing; the ranges run in ``__post_init__``
when :func:`genlab.config.validate` builds the dataclass, and each message names the key.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from genlab.config.checks import require, require_choice
from genlab.config.render import (
    SamplingKeys,
    PRECISE_BN_IMAGES,
    require_path,
    require_plain_numbers,
    require_precise_bn_images,
    require_seed,
)
from genlab.config.sampling import given_sampling_keys
from genlab.config.schema import DatasetConfig
from genlab.errors import ConfigError

FEATURE_CHOICES = ("domain", "inception", "both")


@dataclass
class EvaluationSettings:
    """What decides an evaluation's numbers; stored in metrics.json beside them."""

    n: int = 10000  # generated samples and test images for FD/KID (at most the test split's size)
    k: int = 100  # importance samples per image for the VAE's negative log-likelihood
    nll_n: Optional[int] = 1000  # test images for the importance-weighted NLL (the ELBO takes all); None = all
    seed: int = 0
    features: str = "domain"  # domain | inception | both
    inception_weights: Optional[str] = None  # an InceptionV3 weights file; None = Keras' cache only
    batch_size: int = 256  # images (or decoder rows) per network call
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    nearest_k: int = 3  # neighbours whose distance makes each feature's ball (precision, recall, density, coverage)
    train_n: Optional[int] = None  # training images searched for each sample's nearest one; None = the whole split
    precise_bn: bool = True  # batch norm's statistics recomputed from training images first (in memory only)
    precise_bn_images: int = PRECISE_BN_IMAGES
    average_weights: bool = True  # a run with a weight average (trainer.ema_decay) is scored with it

    def __post_init__(self) -> None:
        require_plain_numbers(self)
        require(self.n >= 4, "n", "must be >= 4", self.n)
        require(1 <= self.k <= 100000, "k", "must be in [1, 100000]", self.k)
        if self.nll_n is not None:
            require(self.nll_n >= 1, "nll_n", "must be >= 1 (or null for the whole test split)", self.nll_n)
        require_seed(self.seed)
        require_choice("features", self.features, FEATURE_CHOICES)
        require_path("inception_weights", self.inception_weights)
        require(self.batch_size >= 1, "batch_size", "must be >= 1", self.batch_size)
        require(self.kid_subsets >= 1, "kid_subsets", "must be >= 1", self.kid_subsets)
        require(self.kid_subset_size >= 2, "kid_subset_size", "must be >= 2", self.kid_subset_size)
        require(1 <= self.nearest_k <= 100, "nearest_k", "must be in [1, 100]", self.nearest_k)
        if self.train_n is not None:
            require(self.train_n >= 1, "train_n", "must be >= 1 (or null for the whole training split)", self.train_n)
        require_precise_bn_images(self.precise_bn_images)

    def key(self) -> dict:
        """The settings that change the numbers (batch_size and where the weights file is do not)."""
        return {
            "n": self.n, "k": self.k, "nll_n": self.nll_n, "seed": self.seed, "features": self.features,
            "kid_subsets": self.kid_subsets, "kid_subset_size": self.kid_subset_size, "nearest_k": self.nearest_k,
            "train_n": self.train_n,
            "precise_bn": self.precise_bn, "precise_bn_images": self.precise_bn_images,
            "average_weights": self.average_weights,
            "sampling": given_sampling_keys(self),  # sampling keys set on the command line (the rest: defaults)
        }


@dataclass
class _Run:
    checkpoint: Optional[str] = None  # a run directory (its latest checkpoint) or <run>/checkpoints/ckpt-N
    samples: Optional[str] = None  # or images made elsewhere: a folder of PNG/JPEG files, an .npy/.npz array
    dataset: Optional[DatasetConfig] = None  # the data set ``samples`` are scored against (dataset=NAME)
    save_samples: Optional[str] = None  # a new folder the scored samples of the run are written to, as PNG files


@dataclass
class EvaluateConfig(SamplingKeys, EvaluationSettings, _Run):
    """`genlab evaluate`: the run (or the images and their data set) first, then the settings
    (base-class fields come first)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("checkpoint", "samples", "save_samples"):
            require_path(key, getattr(self, key))
        if self.checkpoint is None and self.samples is None:
            raise ConfigError(
                "checkpoint= is required: a run directory or <run>/checkpoints/ckpt-N (genlab evaluate checkpoint=...), "
                "or samples=PATH dataset=NAME for images made elsewhere"
            )
        if self.checkpoint is not None and self.samples is not None:
            raise ConfigError("checkpoint= and samples= cannot be combined: give one (a run, or images made elsewhere)")
        if self.samples is not None and self.dataset is None:
            raise ConfigError("samples= needs dataset=NAME: the data set whose test split the images are scored against")
        if self.checkpoint is not None and self.dataset is not None:
            raise ConfigError("dataset= goes with samples=: a run is scored on its own data set (genlab evaluate checkpoint=RUN)")
        if self.save_samples is not None and self.checkpoint is None:
            raise ConfigError("save_samples= writes a run's scored samples: give it with checkpoint=RUN")


@dataclass
class _Runs:
    dir: str = MISSING  # a sweep directory, or any directory holding run directories
    evaluate: bool = True  # evaluate runs whose metrics.json is missing or older than their latest checkpoint
    samples: int = 16  # images per run in the contact sheet
    columns: Optional[int] = None  # runs per row of the contact sheet; None = side by side up to 6
    padding: int = 2


@dataclass
class ReportConfig(EvaluationSettings, _Runs):
    """`genlab report`: the directory and the contact sheet's keys, then the evaluation settings."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require_path("dir", self.dir)
        require(1 <= self.samples <= 1024, "samples", "must be in [1, 1024]", self.samples)
        if self.columns is not None:
            require(self.columns >= 1, "columns", "must be >= 1", self.columns)
        require(0 <= self.padding <= 64, "padding", "must be in [0, 64]", self.padding)


def register_evaluation_schemas() -> None:
    store = ConfigStore.instance()
    store.store(name="evaluate_schema", node=EvaluateConfig)
    store.store(name="report_schema", node=ReportConfig)
