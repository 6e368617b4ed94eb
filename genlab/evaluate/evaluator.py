"""The numbers of one saved run on its test split, written to metrics.json and TensorBoard.

- AE, VAE: reconstruction error (MSE of values in [0, 1], PSNR), per test image, averaged.
- VAE: ELBO (beta = 1, one posterior sample per image) on the whole test split, and the
  importance-weighted NLL with k samples per image on ``nll_n`` of those images (see
  genlab.metrics.elbo for the likelihoods), per-dimension KL and active dimensions.
- Every model: Fréchet distance and KID between ``n`` generated samples and ``n`` test images in
  the domain classifier's and/or InceptionV3's feature space (genlab.metrics.features), and in the
  same features precision, recall, density and coverage (genlab.metrics.manifold), which tell
  poor quality from poor diversity.
- A conditional model: its samples take conditions drawn from the training images', and
  ``condition_accuracy`` says how often the domain classifier reads a sample as its condition.
- GAN: the discriminator's accuracy on those test images and samples.

A model with batch norm is evaluated with statistics recomputed from training images first
(genlab.rundir.precise_bn; ``precise_bn=false`` keeps the checkpoint's running averages).

Every random choice comes from numpy generators seeded by (seed, purpose) and TensorFlow runs with
deterministic ops, so the same command gives the same numbers. TensorFlow is imported only by
:class:`Evaluator`, once the command's config and the run directory are known to be good.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genlab import rundir
from genlab.errors import GenlabError
from genlab.config.evaluate import EvaluationSettings
from genlab.config.sampling import changed_sampling, given_sampling_keys
from genlab.config.metrics import ACTIVE_KL, LABELS
from genlab.evaluate.metrics_files import load_metrics_file
from genlab.files import write_text_atomically
from genlab.rundir.restore import find_checkpoint
from genlab.rundir.saved_run import FIT_EXAMPLES

if TYPE_CHECKING:
    from genlab.rundir.saved_run import SavedRun

log = logging.getLogger("genlab.evaluate")

METRICS_FILE = "metrics.json"
TENSORBOARD_PREFIX = "eval/"
# independent random streams, so adding a metric never changes another one's numbers
STREAMS = {
    "test_subset": 1, "samples": 2, "likelihood_subset": 3, "likelihood_noise": 4, "kid": 5, "elbo_noise": 6,
    "train_subset": 7, "dequantisation": 8,
}


@dataclass
class Evaluation:
    run_dir: Path
    checkpoint: str  # relative to the run directory, e.g. checkpoints/ckpt-2000
    step: int
    model: str
    dataset: str
    settings: dict
    image_shape: list[int] = field(default_factory=list)  # the test images' (H, W, C): numbers compare only within one
    counts: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    kl_per_dimension: list[float] | None = None
    notes: list[str] = field(default_factory=list)
    likelihood: str = ""  # what nll and bits_per_dim are: "exact", "bound", or "" (none, or the VAE's own scale)
    sampling: dict = field(default_factory=dict)  # the model's sampling keys the samples were drawn with
    sampling_not_default: dict = field(default_factory=dict)  # those of them not at the model's default

    def as_json(self) -> dict:
        data = asdict(self)
        data.pop("run_dir")
        return data


@dataclass
class SamplesEvaluation:
    """The scores of images made outside genlab (`genlab evaluate samples=PATH dataset=NAME`)."""

    samples: Path
    dataset: str
    settings: dict
    image_shape: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {**asdict(self), "samples": str(self.samples)}


# ----------------------------------------------------------------------------- metrics.json


def metrics_path(run_dir: Path) -> Path:
    return run_dir / METRICS_FILE


def read_metrics(run_dir: Path) -> dict | None:
    """The run's checked metrics.json, or None when it is missing or malformed (the run is then not
    evaluated; `genlab report` says why with genlab.evaluate.metrics_files.load_metrics_file)."""
    try:
        return load_metrics_file(metrics_path(run_dir))
    except GenlabError:
        return None


def relative_checkpoint(run_dir: Path, prefix: str) -> str:
    path = Path(prefix)
    try:
        return str(path.relative_to(run_dir))
    except ValueError:
        return str(path)


def is_current(run_dir: Path, settings: EvaluationSettings) -> bool:
    """Whether metrics.json holds numbers of the run's latest checkpoint, computed with these settings."""
    data = read_metrics(run_dir)
    if data is None:
        return False
    _, latest = find_checkpoint(str(run_dir))
    return data.get("checkpoint") == relative_checkpoint(run_dir, latest) and data.get("settings") == settings.key()


def write_metrics(evaluation: Evaluation) -> Path:
    path = metrics_path(evaluation.run_dir)
    return write_text_atomically(path, json.dumps(evaluation.as_json(), indent=2) + "\n")


def format_table(evaluation: "Evaluation | SamplesEvaluation") -> str:
    """The terminal table: one line per metric, in a fixed order."""
    if isinstance(evaluation, SamplesEvaluation):
        header = f"{evaluation.counts['images_given']} images from {evaluation.samples}, against {evaluation.dataset}"
    else:
        header = (
            f"{evaluation.model} on {evaluation.dataset}, step {evaluation.step} "
            f"({evaluation.run_dir / evaluation.checkpoint})"
        )
    counts = evaluation.counts
    likelihood = getattr(evaluation, "likelihood", "")
    if likelihood:  # a model's own likelihood of 8-bit images, over the whole test split
        nll_subset = f"{likelihood}, 8-bit images dequantised, {counts.get('nll_images', '?')} test images"
    else:
        nll_subset = f"importance-weighted k={evaluation.settings['k']}, {counts.get('nll_images', '?')} test images"
    rows = [
        (label.replace("importance-weighted", nll_subset), fmt.format(evaluation.metrics[name]))
        for name, (label, fmt) in LABELS.items()
        if name in evaluation.metrics
    ]
    width = max(len(label) for label, _ in rows) if rows else 0
    described = [f"{counts['test_images']} test images"]
    if "elbo_images" in counts:
        described.append(
            f"ELBO on {counts['elbo_images']} test images; "
            f"NLL (k={evaluation.settings['k']}) on {counts['nll_images']} of them"
        )
    if "fd_images" in counts:
        described.append(
            f"FD, KID, precision/recall (k={counts.get('nearest_k', '?')}), density/coverage: "
            f"{counts.get('sample_images', counts['fd_images'])} samples against {counts['fd_images']} test images"
        )
    if "train_images" in counts and any(name.startswith("nn_ratio") for name in evaluation.metrics):
        described.append(f"nearest neighbours among {counts['train_images']} training images")
    lines = [header, f"({'; '.join(described)})", *(f"  {label.ljust(width)}  {value}" for label, value in rows)]
    lines += [f"note: {note}" for note in evaluation.notes]
    return "\n".join(line for line in lines if line)


# ----------------------------------------------------------------------------- the evaluator


def _subset(rng: np.random.Generator, total: int, count: int) -> np.ndarray:
    """``count`` sorted indices below ``total`` (all of them when count >= total)."""
    return np.arange(total) if count >= total else np.sort(rng.choice(total, count, replace=False))


def _unit(images: np.ndarray) -> np.ndarray:
    return np.asarray(images, np.float32) / 255.0


def condition_accuracy(
    logits: np.ndarray, conditions: np.ndarray, kind: str, names: list[str], data: Any
) -> float:
    """How often the domain classifier reads a conditional model's samples as the condition they were drawn
    with: the class, or each chosen attribute's 0/1 value (a share of (sample, attribute) pairs)."""
    if kind == "class":
        return float(np.mean(np.argmax(logits, axis=1) == np.argmax(conditions, axis=1)))
    columns = [list(data.attribute_names).index(name) for name in names]
    return float(np.mean((logits[:, columns] > 0) == (conditions > 0.5)))


class Evaluator:
    """Evaluates runs one after another; data sets and feature networks are loaded once and shared."""

    def __init__(self, settings: EvaluationSettings):
        from genlab.metrics.features import find_inception_weights
        from genlab.native_output import import_tensorflow_quietly

        self.settings = settings
        # a wrong inception_weights path is the user's error, found before any model work
        self.inception_weights = (
            find_inception_weights(settings.inception_weights) if settings.features in ("inception", "both") else None
        )
        import_tensorflow_quietly()
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        self._datasets: dict[str, Any] = {}
        self._classifiers: dict[str, Any] = {}
        self._inception: Any = None
        self._split_features: dict[tuple, np.ndarray] = {}

    def _rng(self, purpose: str) -> np.random.Generator:
        return np.random.default_rng([self.settings.seed, STREAMS[purpose]])

    def _dataset(self, dataset_config: Any) -> Any:
        from omegaconf import OmegaConf

        from genlab.data import load_dataset

        key = OmegaConf.to_yaml(OmegaConf.structured(dataset_config))
        if key not in self._datasets:
            self._datasets[key] = load_dataset(dataset_config)
            for note in self._datasets[key].notes:
                log.info("%s", note)
        return self._datasets[key]

    def _extractors(self, data: Any, dataset_config: Any, notes: list[str]) -> dict[str, Any]:
        from genlab.metrics.features import InceptionFeatures, domain_classifier, inception_missing_note

        extractors = {}
        if self.settings.features in ("domain", "both"):
            key = json.dumps([data.name, list(data.image_shape), str(dataset_config)])
            if key not in self._classifiers:
                self._classifiers[key] = domain_classifier(data, dataset_config, self.settings.batch_size)
            if self._classifiers[key] is None:
                notes.append(f"domain features: {data.name} has no labels to train a classifier on")
            else:
                extractors["domain"] = self._classifiers[key]
        if self.settings.features in ("inception", "both"):
            if self.inception_weights is None:
                notes.append(inception_missing_note())
            else:
                if self._inception is None:
                    log.info("inception features: InceptionV3 weights from %s", self.inception_weights)
                    self._inception = InceptionFeatures(self.inception_weights, self.settings.batch_size)
                extractors["inception"] = self._inception
        return extractors

    def evaluate(self, checkpoint: str, save_samples: str | None = None) -> Evaluation:
        """The run's numbers, written to its metrics.json and TensorBoard; ``save_samples`` names a folder
        the scored samples are written to as PNG files (what `evaluate samples=` reads back)."""
        import keras

        from genlab.rundir.saved_run import SavedRun

        settings = self.settings
        run = SavedRun(
            checkpoint, settings.batch_size, precise_bn=settings.precise_bn, precise_bn_images=settings.precise_bn_images,
            average_weights=settings.average_weights,
        )
        run.data = data = self._dataset(run.config.dataset)  # before the model: precise batch norm reads it
        model = run.model  # restored before the seed is set, as every evaluation of the run
        keras.utils.set_random_seed(settings.seed)
        num_test = len(data.test_images)
        if num_test < 4:
            raise GenlabError(f"{run.run_dir}: the test split has only {num_test} images; evaluating needs at least 4")
        log.info("evaluating %s at step %d on %d %s test images", model.name, run.step, num_test, data.name)
        evaluation = Evaluation(
            run_dir=run.run_dir,
            checkpoint=relative_checkpoint(run.run_dir, run.checkpoint),
            step=run.step,
            model=model.name,
            dataset=data.name,
            settings=self.settings.key(),
            image_shape=[int(side) for side in data.image_shape],
            counts={"test_images": num_test},
        )
        if run.batch_norm.note:
            evaluation.notes.append(run.batch_norm.note)
        if run.batch_norm.source == "recomputed":
            evaluation.counts["precise_bn_images"] = run.batch_norm.images
        if model.has_encoder:
            self._reconstruction(run, evaluation)
        if model.has_posterior:
            self._likelihood(run, evaluation)
        if model.gives_likelihood():
            self._pixel_likelihood(run, evaluation)
        if model.has_prior and not model.prior_ready():  # a VQ-VAE whose prior has not trained yet
            note = "no sample figures (FD, KID): the model's prior is not trained yet"
            log.warning("%s", note)
            evaluation.notes.append(note)
        else:
            options = run.sampling_options(given_sampling_keys(self.settings))
            evaluation.sampling, evaluation.sampling_not_default = asdict(options), changed_sampling(options)
            self._sample_quality(run, evaluation, save_samples)
        self._write(evaluation)
        return evaluation

    def evaluate_samples(self, path: str, dataset_config: Any) -> "SamplesEvaluation":
        """Images made elsewhere (see genlab.evaluate.external_samples) scored against ``dataset_config``'s
        test split as a run's samples are: same test subset, features and numbers; written beside them."""
        import keras

        from genlab.evaluate.external_samples import count_images, load_samples, metrics_file

        keras.utils.set_random_seed(self.settings.seed)
        data = self._dataset(dataset_config)
        given = count_images(path)
        needed = max(4, self.settings.nearest_k + 1)
        if given < needed:
            raise GenlabError(f"samples={path}: {given} images; scoring needs at least {needed}")
        # only the images scored are read: the first n of a large array cost what n images cost
        samples = load_samples(path, data.image_shape, limit=min(self.settings.n, len(data.test_images)))
        if len(data.test_images) < 4:
            raise GenlabError(f"dataset={data.name}: the test split has only {len(data.test_images)} images; scoring needs at least 4")
        source = Path(path).expanduser().resolve()
        log.info("scoring %d images from %s against %d %s test images", given, source, len(data.test_images), data.name)
        evaluation = SamplesEvaluation(
            samples=source,
            dataset=data.name,
            settings=self.settings.key(),
            image_shape=[int(side) for side in data.image_shape],
            counts={"test_images": len(data.test_images), "images_given": given},
        )
        self._score_samples(data, dataset_config, samples, evaluation)
        if given > evaluation.counts["sample_images"]:
            evaluation.notes.append(
                f"the first {evaluation.counts['sample_images']} of the {given} images were scored (n={self.settings.n}, "
                f"at most the test split's {len(data.test_images)})"
            )
        if not evaluation.metrics:
            raise GenlabError(f"samples={path}: no features to score with ({'; '.join(evaluation.notes)})")
        write_text_atomically(metrics_file(source), json.dumps(evaluation.as_json(), indent=2) + "\n")
        return evaluation

    # ------------------------------------------------------------------ the parts

    def _reconstruction(self, run: "SavedRun", evaluation: Evaluation) -> None:
        from genlab.metrics.reconstruction import mse_per_image, psnr_per_image

        model = run.model

        def errors(images: np.ndarray, conditions: np.ndarray | None) -> np.ndarray:
            inputs = run.scaled(images)
            rebuilt = model.reconstruct(inputs, conditions)
            return mse_per_image(np.asarray(model.to_display(inputs)), np.asarray(rebuilt))

        mse = run.batched(errors, run.data.test_images, run.conditions("test"))
        evaluation.metrics["mse"] = float(mse.mean())
        evaluation.metrics["psnr"] = float(psnr_per_image(mse).mean())

    def _likelihood(self, run: "SavedRun", evaluation: Evaluation) -> None:
        from genlab.metrics.elbo import bounds_from_log_weights, kl_per_dimension

        model, settings, test_images = run.model, self.settings, run.data.test_images
        test_conditions = run.conditions("test")
        per_dimension = kl_per_dimension(*run.posterior(test_images, test_conditions))
        active = int(np.sum(per_dimension > ACTIVE_KL))
        evaluation.kl_per_dimension = [float(value) for value in per_dimension]
        evaluation.metrics["kl"] = float(per_dimension.sum())
        evaluation.metrics["active_dims"] = float(active)
        if active < model.latent_dim / 2:
            note = (
                f"only {active} of {model.latent_dim} latent dimensions are active (KL > {ACTIVE_KL} nats): "
                "most have collapsed to the prior"
            )
            log.warning("%s", note)
            evaluation.notes.append(note)

        kind = model.reconstruction_loss
        scale = "a Bernoulli cross-entropy, not a density" if kind == "bce" else "a Gaussian of variance 1/2 at undequantised values"
        evaluation.notes.append(
            f"no bits_per_dim: the {kind} decoder scores grey levels in [0, 1] ({scale}), not 8-bit pixel values; "
            "its elbo, nll and *_bits_per_dim are on that scale and do not compare with another model's bits_per_dim"
        )
        # The ELBO takes one posterior sample per image, so it covers the whole split cheaply; the
        # importance-weighted NLL takes k, on the nll_n subset.
        count = len(test_images) if settings.nll_n is None else min(settings.nll_n, len(test_images))
        log.info("ELBO on %d test images; NLL on %d of them, %d importance samples each", len(test_images), count, settings.k)
        subset = _subset(self._rng("likelihood_subset"), len(test_images), count)
        elbo = bounds_from_log_weights(self._log_weights(run, test_images, test_conditions, 1, "elbo_noise"))[0]
        subset_conditions = None if test_conditions is None else test_conditions[subset]
        weights = self._log_weights(run, test_images[subset], subset_conditions, settings.k, "likelihood_noise")
        log_likelihood = bounds_from_log_weights(weights)[1]
        dimensions = math.prod(run.data.image_shape) * math.log(2.0)
        evaluation.counts["elbo_images"] = len(test_images)
        evaluation.counts["nll_images"] = count
        evaluation.metrics["elbo"] = float(elbo.mean())
        evaluation.metrics["elbo_bits_per_dim"] = float(-elbo.mean() / dimensions)
        evaluation.metrics["nll"] = float(-log_likelihood.mean())
        evaluation.metrics["nll_stderr"] = float(log_likelihood.std(ddof=1) / math.sqrt(count)) if count > 1 else 0.0
        evaluation.metrics["nll_bits_per_dim"] = float(-log_likelihood.mean() / dimensions)

    def _pixel_likelihood(self, run: "SavedRun", evaluation: Evaluation) -> None:
        """``nll`` and ``bits_per_dim`` of the whole test split from the model's log_likelihood of 8-bit images:
        one definition for every family (genlab.models.base.GenerativeModel.log_likelihood)."""
        import tensorflow as tf

        model, test_images = run.model, run.data.test_images
        rng = tf.random.Generator.from_seed(int(self._rng("dequantisation").integers(2**31)))

        def log_p(images: np.ndarray, conditions: np.ndarray | None) -> np.ndarray:
            pixels = tf.constant(np.asarray(images, np.float32))
            given = None if conditions is None else tf.constant(conditions)
            return np.asarray(model.log_likelihood(pixels, rng, given))

        log_likelihood = run.batched(log_p, test_images, run.conditions("test")).astype(np.float64)
        count = len(log_likelihood)
        nll = float(-log_likelihood.mean())
        evaluation.metrics["nll"] = nll
        evaluation.metrics["nll_stderr"] = float(log_likelihood.std(ddof=1) / math.sqrt(count)) if count > 1 else 0.0
        evaluation.metrics["bits_per_dim"] = nll / (math.prod(run.data.image_shape) * math.log(2.0))
        evaluation.counts["nll_images"] = count
        evaluation.likelihood = model.likelihood_kind or "bound"
        kind = "an exact likelihood" if evaluation.likelihood == "exact" else "a bound on the likelihood"
        evaluation.notes.append(
            f"nll and bits_per_dim: {kind} of the {count} 8-bit test images, dequantised with uniform noise"
        )

    def _log_weights(
        self, run: "SavedRun", images: Any, conditions: np.ndarray | None, k: int, stream: str
    ) -> np.ndarray:
        """(N, k) log importance weights of the images (genlab.metrics.elbo), noise from ``stream``."""
        from genlab.metrics.elbo import importance_log_weights

        model = run.model
        return importance_log_weights(
            images,
            run.scaled,
            model.posterior,
            model.decoder_logits,
            model.reconstruction_loss,
            k,
            self._rng(stream),
            self.settings.batch_size,
            conditions=conditions,
        )

    def generated_samples(self, run: "SavedRun") -> tuple[np.ndarray, np.ndarray | None]:
        """The samples the run is scored on, as uint8 images (the PNG files a user saves of them), and
        a conditional model's conditions, drawn from the training images' so they come in the data's
        proportions."""
        from genlab.render.grid import to_uint8

        count = min(self.settings.n, len(run.data.test_images))
        sample_rng = self._rng("samples")
        conditions = run.sample_conditions(sample_rng, count)
        options = run.sampling_options(given_sampling_keys(self.settings))
        return to_uint8(run.sample_images(sample_rng, count, conditions, options, FIT_EXAMPLES)), conditions

    def _sample_quality(self, run: "SavedRun", evaluation: Evaluation, save_samples: str | None) -> None:
        model = run.model
        samples, conditions = self.generated_samples(run)
        if save_samples is not None:
            from genlab.evaluate.external_samples import write_sample_files

            folder = write_sample_files(samples, save_samples)
            log.info("wrote the %d scored samples to %s", len(samples), folder)
            evaluation.notes.append(f"the scored samples are in {folder}")
        real_indices, extractors = self._score_samples(run.data, run.config.dataset, samples, evaluation)
        if conditions is not None and "domain" in extractors:
            evaluation.metrics["condition_accuracy"] = condition_accuracy(
                extractors["domain"].outputs(_unit(samples))[1], conditions, model.condition_kind,
                list(model.condition_names), run.data,
            )
        if model.has_discriminator:
            self._discriminator(run, run.data.test_images[real_indices], run.conditions("test", real_indices), samples, conditions, evaluation)

    def _score_samples(
        self, data: Any, dataset_config: Any, samples: np.ndarray, evaluation: "Evaluation | SamplesEvaluation"
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """FD, KID, precision/recall, density/coverage and the nearest-neighbour ratio of uint8 ``samples``
        (at most as many as the test images used) against the test subset every evaluation of this data
        set and seed uses; returns that subset's indices and the feature extractors."""
        from genlab.metrics.frechet import frechet_distance_of, kernel_inception_distance
        from genlab.metrics.manifold import manifold_scores, nearest_neighbour_ratio

        settings = self.settings
        count = min(settings.n, len(data.test_images))
        real_indices = _subset(self._rng("test_subset"), len(data.test_images), count)
        samples = samples[:count]
        train_count = len(data.train_images) if settings.train_n is None else min(settings.train_n, len(data.train_images))
        train_indices = _subset(self._rng("train_subset"), len(data.train_images), train_count)
        evaluation.counts.update(
            fd_images=count, sample_images=len(samples), nearest_k=settings.nearest_k, train_images=len(train_indices)
        )
        extractors = self._extractors(data, dataset_config, evaluation.notes)
        for name, extractor in extractors.items():
            log.info(
                "%s features of %d samples, %d test and %d training images", name, len(samples), count, len(train_indices)
            )
            real_features = self._features_of_split(extractor, data, "test", real_indices)
            sample_features = self._features(extractor, samples)
            evaluation.metrics[f"fd_{name}"] = frechet_distance_of(real_features, sample_features)
            kid, kid_std = kernel_inception_distance(
                real_features, sample_features, self._rng("kid"), settings.kid_subsets, settings.kid_subset_size
            )
            evaluation.metrics[f"kid_{name}"] = kid
            evaluation.metrics[f"kid_{name}_std"] = kid_std
            scores = manifold_scores(real_features, sample_features, settings.nearest_k)
            for score in ("precision", "recall", "density", "coverage"):
                evaluation.metrics[f"{score}_{name}"] = getattr(scores, score)
            train_features = self._features_of_split(extractor, data, "train", train_indices)
            evaluation.metrics[f"nn_ratio_{name}"] = nearest_neighbour_ratio(sample_features, real_features, train_features)
            if name == "domain":
                evaluation.metrics["classifier_accuracy"] = float(extractor.accuracy)
        return real_indices, extractors

    def _features_of_split(self, extractor: Any, data: Any, split: str, indices: np.ndarray) -> np.ndarray:
        """Features of a data set's test or training images at ``indices``, computed once: every run of
        that data set this evaluator scores (a report's runs, an -m sweep) uses the same images, since
        the indices follow from the seed and the count alone."""
        key = (id(extractor), id(data), split, len(indices))  # both objects are kept by this evaluator
        if key not in self._split_features:
            images = data.test_images if split == "test" else data.train_images
            self._split_features[key] = self._features(extractor, images, indices)
        return self._split_features[key]

    def _features(self, extractor: Any, images: Any, indices: np.ndarray | None = None) -> np.ndarray:
        """Features of uint8 images (an array or on-disk records, optionally at ``indices``), read a
        batch at a time so a large set never sits in memory as floats."""
        count = len(images) if indices is None else len(indices)
        step = self.settings.batch_size
        batches = []
        for start in range(0, count, step):
            chunk = images[start : start + step] if indices is None else images[indices[start : start + step]]
            batches.append(extractor.features(_unit(chunk)))
        return np.concatenate(batches)

    def _discriminator(
        self, run: "SavedRun", real: np.ndarray, real_conditions: np.ndarray | None, samples: np.ndarray,
        conditions: np.ndarray | None, evaluation: Evaluation,
    ) -> None:
        model = run.model
        low, high = model.pixel_range
        real_logits = run.batched(
            lambda images, given: model.discriminate(run.scaled(images), given), real, real_conditions
        )
        fake_logits = run.batched(
            lambda images, given: model.discriminate(low + _unit(images) * (high - low), given),
            samples,
            conditions,
        )
        evaluation.metrics["d_accuracy_real"] = float(np.mean(real_logits > 0))
        evaluation.metrics["d_accuracy_fake"] = float(np.mean(fake_logits < 0))
        # how far the discriminator's scores set test images above samples (a Wasserstein critic's
        # estimate of the distance, whose scores have no sign to read as real or fake)
        evaluation.metrics["d_score_gap"] = float(np.mean(real_logits) - np.mean(fake_logits))

    def _write(self, evaluation: Evaluation) -> None:
        import tensorflow as tf

        from genlab.native_output import QuietSummaryWriter

        path = write_metrics(evaluation)
        writer = QuietSummaryWriter(str(evaluation.run_dir / rundir.TENSORBOARD_DIR))
        with writer.as_default(step=evaluation.step):
            for name, value in evaluation.metrics.items():
                tf.summary.scalar(f"{TENSORBOARD_PREFIX}{name}", value)
        writer.close()
        log.info("wrote %s and %s scalars to %s", path, TENSORBOARD_PREFIX, evaluation.run_dir / rundir.TENSORBOARD_DIR)
