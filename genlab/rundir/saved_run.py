"""A saved run as the commands and the Python API use it: its configs and test images, and its
model called on numpy arrays, in batches.

``SavedRun(path)`` reads only the run's files; the model is restored, and the data set loaded,
when first asked for, so a wrong path or a command that needs no model stays fast and
imports no TensorFlow. Images go in as uint8 (N, H, W, C) and come out as display images,
float32 in [0, 1]; codes are float32 (N, latent_dim).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from genlab import rundir
from genlab.errors import GenlabError
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


class SavedRun:
    """One run directory (or one of its checkpoints), ready to encode, decode and sample."""

    def __init__(self, checkpoint: str | Path, batch_size: int = BATCH_SIZE, data: "ImageSet | None" = None):
        self.path = str(checkpoint)  # as given: a run directory falls back past a damaged checkpoint
        self.run_dir, self.checkpoint = find_checkpoint(self.path)
        self.config = load_run_config(self.run_dir)
        self.info = rundir.load_run_info(self.run_dir)
        self.step = rundir.checkpoint_number(self.checkpoint)
        self.batch_size = batch_size
        self._model: GenerativeModel | None = None
        self._data = data

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

            restored = restore_run(self.path)
            self._model, self.step, self.checkpoint = restored.model, restored.step, restored.checkpoint
            log.info("%s model at step %d from %s", restored.model.name, restored.step, restored.checkpoint)
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

    def batched(self, function: Callable[[Any], Any], inputs: "Images | np.ndarray") -> np.ndarray:
        """``function`` over slices of ``inputs`` (a numpy array or on-disk records), concatenated."""
        starts = range(0, len(inputs), self.batch_size)
        return np.concatenate([np.asarray(function(inputs[start : start + self.batch_size])) for start in starts])

    def encode(self, images: "Images | np.ndarray") -> np.ndarray:
        """Codes of uint8 images (a VAE's posterior means)."""
        self.require("has_encoder", "encoding")
        return self.batched(lambda batch: self.model.encode(self.scaled(batch)), images)

    def posterior(self, images: "Images | np.ndarray") -> tuple[np.ndarray, np.ndarray]:
        """The posterior (mean, log-variance) of uint8 images."""
        self.require("has_posterior", "the distribution of codes")
        both = self.batched(lambda batch: np.concatenate(self.model.posterior(self.scaled(batch)), axis=-1), images)
        return both[:, : self.latent_dim], both[:, self.latent_dim :]

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Display images of float codes (N, latent_dim)."""
        return self.batched(self.model.decode, np.asarray(codes, dtype=np.float32))

    def reconstruct(self, images: "Images | np.ndarray") -> np.ndarray:
        """Display images of the reconstructions of uint8 images."""
        return self.decode(self.encode(images))

    def display(self, images: "Images | np.ndarray") -> np.ndarray:
        """uint8 images as the model sees them (binarized when the run binarizes), in [0, 1]."""
        return self.batched(lambda batch: self.model.to_display(self.scaled(batch)), images)

    def sample_codes(
        self, rng: np.random.Generator, count: int, temperature: float = 1.0, fit_examples: int = FIT_EXAMPLES
    ) -> np.ndarray:
        """Codes from the model's prior, or for a model without one (an autoencoder) from a Gaussian
        fitted to the codes of ``fit_examples`` training images."""
        if self.model.has_prior:
            return self.model.prior_codes(rng, count, temperature)
        images = self.data.train_images[:fit_examples]
        log.info(
            "the %s model has no prior: codes come from a Gaussian fitted to the codes of %d training images",
            self.model.name,
            len(images),
        )
        return GaussianFit.fit(self.encode(images)).sample(rng, count, temperature)

    def sample(self, n: int = 64, seed: int = 0, temperature: float = 1.0) -> np.ndarray:
        """``n`` display images decoded from sampled codes (see :meth:`sample_codes`)."""
        return self.decode(self.sample_codes(np.random.default_rng(seed), n, temperature))
