"""A saved run as the commands and the Python API use it: its configs and test images, and its
model called on numpy arrays, in batches.

``SavedRun(path)`` reads only the run's files; the model is restored, and the data set loaded,
when first asked for, so a wrong path or a command that needs no model stays fast and
imports no TensorFlow. A restored model with batch norm gets statistics recomputed from a fixed
set of training images (genlab.rundir.precise_bn), in memory only, unless ``precise_bn=False``.
Images go in as uint8 (N, H, W, C) and come out as display images, float32 in [0, 1]; codes are
float32 (N, latent_dim).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from genlab import rundir
from genlab.errors import GenlabError
from genlab.rundir.precise_bn import PRECISE_BN_IMAGES, BatchNormStatistics, recompute_batch_statistics
from genlab.rundir.restore import find_checkpoint, load_run_config

if TYPE_CHECKING:
    from genlab.data.base import Images, ImageSet
    from genlab.models import GenerativeModel

log = logging.getLogger("genlab.run")

BATCH_SIZE = 256  # images per encoder/decoder call
FIT_EXAMPLES = 10000  # a model without a prior: training codes the sampling Gaussian is fitted to


@dataclass(frozen=True)
class GaussianFit:
    """A full-covariance Gaussian fitted to codes."""

    mean: np.ndarray
    covariance: np.ndarray

    @classmethod
    def fit(cls, codes: np.ndarray) -> "GaussianFit":
        codes = np.asarray(codes, dtype=np.float64)
        if codes.ndim != 2 or codes.shape[0] < 2:
            raise ValueError(f"fitting a Gaussian needs at least 2 codes of shape (N, D), got {codes.shape}")
        return cls(codes.mean(axis=0), np.atleast_2d(np.cov(codes, rowvar=False)))

    def sample(self, rng: np.random.Generator, count: int, temperature: float = 1.0) -> np.ndarray:
        """``count`` codes; ``temperature`` scales the spread around the mean (1 = as fitted)."""
        # An eigendecomposition, unlike Cholesky, also takes the singular covariance of few codes.
        eigenvalues, eigenvectors = np.linalg.eigh(self.covariance)
        scale = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
        noise = rng.standard_normal((count, self.mean.shape[0]))
        return (self.mean + temperature * noise @ scale.T).astype(np.float32)


def tf_constant(array: np.ndarray) -> Any:
    import tensorflow as tf  # loaded with the model

    return tf.constant(array)


class SavedRun:
    """One run directory (or one of its checkpoints), ready to encode, decode and sample."""

    def __init__(
        self,
        checkpoint: str | Path,
        batch_size: int = BATCH_SIZE,
        data: "ImageSet | None" = None,
        precise_bn: bool = True,
        precise_bn_images: int = PRECISE_BN_IMAGES,
        average_weights: bool = True,
    ):
        self.path = str(checkpoint)  # as given: a run directory falls back past a damaged checkpoint
        self.run_dir, self.checkpoint = find_checkpoint(self.path)
        self.config = load_run_config(self.run_dir)
        self.info = rundir.load_run_info(self.run_dir)
        self.step = rundir.checkpoint_number(self.checkpoint)
        self.batch_size = batch_size
        self.precise_bn = precise_bn
        self.precise_bn_images = precise_bn_images
        self.average_weights = average_weights
        self.averaged = False  # whether the restored model holds a weight average (known once restored)
        self.batch_norm: BatchNormStatistics | None = None  # known once the model is restored
        self._model: GenerativeModel | None = None
        self._data = data
        self._fits: dict[int, GaussianFit] = {}

    def __repr__(self) -> str:
        return f"SavedRun({str(self.run_dir)!r}, {self.config.model.name} on {self.config.dataset.name}, step {self.step})"

    # ------------------------------------------------------------------ model and data, on first use

    @property
    def model(self) -> "GenerativeModel":
        if self._model is None:
            from genlab.native_output import import_tensorflow_quietly

            import_tensorflow_quietly()
            logging.getLogger("tensorflow").setLevel(logging.ERROR)  # restore warnings repeat our error
            from genlab.rundir.restore import restore_run

            restored = restore_run(self.path, self.average_weights)
            self._model, self.step, self.checkpoint = restored.model, restored.step, restored.checkpoint
            self.averaged = restored.averaged
            weights = ", the weights' moving average" if restored.averaged else ""
            log.info("%s model at step %d from %s%s", restored.model.name, restored.step, restored.checkpoint, weights)
            self.batch_norm = recompute_batch_statistics(self, self.precise_bn_images if self.precise_bn else None)
        return self._model

    @property
    def data(self) -> "ImageSet":
        if self._data is None:
            from genlab.data import load_dataset

            self._data = load_dataset(self.config.dataset)
        return self._data

    @data.setter
    def data(self, data: "ImageSet") -> None:
        """The run's data set, loaded elsewhere (an evaluation of many runs of one data set loads it once)."""
        self._data = data

    @property
    def latent_dim(self) -> int:
        """The length of the model's codes (a VQ-VAE's: its whole grid of entries)."""
        return int(self.model.latent_dim)

    def test_images(self, indices: np.ndarray | Sequence[int] | None = None) -> "Images":
        """The test split (a numpy array or on-disk records), or the images at ``indices`` as an array."""
        images = self.data.test_images
        return images if indices is None else images[np.asarray(indices, dtype=np.int64)]

    def require(self, capability: str, what: str) -> None:
        """A GenlabError saying ``what`` needs the model's ``capability`` (e.g. has_encoder), when it lacks it."""
        if not getattr(self.model, capability):
            name = capability.removeprefix("has_").replace("_", " ")
            article = "an" if name[0] in "aeiou" else "a"
            raise GenlabError(f"{what} needs {article} {name}, and a {self.model.name} model has none")

    # ------------------------------------------------------------------ the model on numpy arrays

    def scaled(self, images: Any) -> Any:
        """uint8 images as the model's inputs (its pixel range; binarized when the run binarizes)."""
        from genlab.data.pixels import scale

        return scale(images, self.model.pixel_range, self.config.dataset.binarize)

    def batched(self, function: Callable[..., Any], inputs: "Images | np.ndarray", *more: np.ndarray | None) -> np.ndarray:
        """``function`` over slices of ``inputs`` (a numpy array or on-disk records) and of the arrays in
        ``more`` (each None, or one row per input), concatenated."""
        starts = range(0, len(inputs), self.batch_size)
        return np.concatenate(
            [
                np.asarray(
                    function(
                        inputs[start : start + self.batch_size],
                        *(None if array is None else array[start : start + self.batch_size] for array in more),
                    )
                )
                for start in starts
            ]
        )

    # ------------------------------------------------------------------ conditions of a conditional model

    @property
    def has_condition(self) -> bool:
        from genlab.config.schema import is_conditional

        return is_conditional(self.config.model)

    def conditions(self, split: str, indices: np.ndarray | Sequence[int] | None = None) -> np.ndarray | None:
        """The condition vectors of the ``split`` (train or test) images, or of those at ``indices``;
        None for an unconditional model."""
        if not self.has_condition:
            return None
        from genlab.config.schema import condition_of
        from genlab.data.conditions import condition_table

        table = condition_table(condition_of(self.config.model), self.data, split)
        return table if indices is None else table[np.asarray(indices, dtype=np.int64)]

    def sample_conditions(self, rng: np.random.Generator, count: int) -> np.ndarray | None:
        """``count`` conditions drawn from those of the training images (so as often as the data has them)."""
        table = self.conditions("train")
        return None if table is None else table[rng.integers(0, len(table), count)]

    def _conditions_for(self, count: int, conditions: np.ndarray | None) -> np.ndarray | None:
        """``conditions`` checked against the model: one row of its length per input, None when unconditional."""
        if conditions is None:
            if self.has_condition:
                raise GenlabError(f"the {self.config.model.name} model is conditional: give the images' conditions")
            return None
        conditions = np.asarray(conditions, dtype=np.float32)
        if conditions.shape != (count, len(self.model.condition_names)):
            raise GenlabError(
                f"conditions of shape {conditions.shape} for {count} inputs; the model takes "
                f"{len(self.model.condition_names)} values per input ({', '.join(self.model.condition_names)})"
            )
        return conditions

    # ------------------------------------------------------------------ the model on numpy arrays

    def encode(self, images: "Images | np.ndarray", conditions: np.ndarray | None = None) -> np.ndarray:
        """Codes of uint8 images (a VAE's posterior means); a conditional model also takes their conditions."""
        self.require("has_encoder", "encoding")
        conditions = self._conditions_for(len(images), conditions)
        return self.batched(
            lambda batch, given: self.model.encode(self.scaled(batch), given), images, conditions
        )

    def posterior(
        self, images: "Images | np.ndarray", conditions: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The posterior (mean, log-variance) of uint8 images."""
        self.require("has_posterior", "the distribution of codes")
        conditions = self._conditions_for(len(images), conditions)

        def both(batch: Any, given: np.ndarray | None) -> np.ndarray:
            return np.concatenate(self.model.posterior(self.scaled(batch), given), axis=-1)

        joined = self.batched(both, images, conditions)
        return joined[:, : self.latent_dim], joined[:, self.latent_dim :]

    def decode(self, codes: np.ndarray, conditions: np.ndarray | None = None) -> np.ndarray:
        """Display images of float codes (N, latent_dim), under their conditions for a conditional model."""
        codes = np.asarray(codes, dtype=np.float32)
        conditions = self._conditions_for(len(codes), conditions)
        return self.batched(lambda batch, given: self.model.decode(batch, given), codes, conditions)

    def reconstruct(self, images: "Images | np.ndarray", conditions: np.ndarray | None = None) -> np.ndarray:
        """Display images of the reconstructions of uint8 images."""
        return self.decode(self.encode(images, conditions), conditions)

    def display(self, images: "Images | np.ndarray") -> np.ndarray:
        """uint8 images as the model sees them (binarized when the run binarizes), in [0, 1]."""
        return self.batched(lambda batch: self.model.to_display(self.scaled(batch)), images)

    def sampling_options(self, given: Mapping[str, Any] | None = None) -> Any:
        """The model's sampling keys (genlab.config.sampling) with ``given`` applied; a ConfigError for a key
        it does not take."""
        from genlab.config.sampling import sampling_options

        return sampling_options(self.config.model.name, dict(given or {}))

    def sample_codes(
        self, rng: np.random.Generator, count: int, temperature: float = 1.0, fit_examples: int = FIT_EXAMPLES
    ) -> np.ndarray:
        """Codes from the model's prior, or for a model without one (an autoencoder) from a Gaussian
        fitted to the codes of ``fit_examples`` training images."""
        if self.model.has_prior:
            return self.model.prior_codes(rng, count, temperature)
        return self._code_fit(fit_examples).sample(rng, count, temperature)

    def _code_fit(self, fit_examples: int) -> GaussianFit:
        """The Gaussian fitted to the codes of ``fit_examples`` training images (once per run and count)."""
        if fit_examples not in self._fits:
            images = self.data.train_images[:fit_examples]
            log.info(
                "the %s model has no prior: codes come from a Gaussian fitted to the codes of %d training images",
                self.model.name,
                len(images),
            )
            self._fits[fit_examples] = GaussianFit.fit(self.encode(images, self.conditions("train", np.arange(len(images)))))
        return self._fits[fit_examples]

    def sample_images(
        self,
        rng: np.random.Generator,
        count: int,
        conditions: np.ndarray | None = None,
        options: Any = None,
        fit_examples: int = FIT_EXAMPLES,
    ) -> np.ndarray:
        """``count`` display images from the model's one sampling method with its sampling keys ``options``
        (None: its defaults), in batches; a conditional model's under ``conditions``. A model without a prior
        (an autoencoder) decodes codes from a Gaussian fitted to training images' codes instead."""
        options = options if options is not None else self.sampling_options()
        conditions = self._conditions_for(count, conditions)
        if not self.model.has_prior:
            return self.decode(self.sample_codes(rng, count, options.temperature, fit_examples), conditions)
        self.model.require_prior_ready()
        counts = np.arange(count)
        return self.batched(
            lambda chunk, given: self.model.sample(len(chunk), rng, None if given is None else tf_constant(given), options),
            counts,
            conditions,
        )

    def sample(self, n: int = 64, seed: int = 0, **sampling: Any) -> np.ndarray:
        """``n`` display images (see :meth:`sample_images`) drawn with the model's sampling keys ``sampling``
        (``temperature=0.7``, ``steps=20``, ...); a conditional model's under conditions drawn from the
        training images'."""
        rng = np.random.default_rng(seed)
        options = self.sampling_options(sampling)
        return self.sample_images(rng, n, self.sample_conditions(rng, n), options)
