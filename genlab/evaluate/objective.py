"""A training job's objective (``trainer.objective``): one metric of `genlab evaluate`, computed on
the job's run when it ends, which a search (Hydra's Optuna sweeper) then optimizes.

The evaluation is `genlab evaluate`'s own, with the settings :func:`objective_settings` gives:
it writes the run's metrics.json, so `genlab report` with those settings reads it as current.
TensorFlow is imported only by :func:`evaluate_objective`.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from genlab.config.evaluate import EvaluationSettings
from genlab.errors import ConfigError, GenlabError
from genlab.config.metrics import METRIC_NAMES
from genlab.evaluate.evaluator import is_current, read_metrics

log = logging.getLogger("genlab.objective")

LIKELIHOOD_METRICS = ("elbo", "elbo_bits_per_dim", "nll", "nll_stderr", "nll_bits_per_dim", "kl", "active_dims")
# What a model must be able to do (a has_* flag, or a capability read from its code) for the evaluator to
# give a metric, any one of the alternatives; the sample metrics (FD, KID, precision, recall, ...) every
# model gives.
NEEDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("mse", "psnr"), ("has_encoder",)),
    **dict.fromkeys(LIKELIHOOD_METRICS, ("has_posterior",)),
    **dict.fromkeys(("nll", "nll_stderr"), ("has_posterior", "gives_likelihood")),
    "bits_per_dim": ("gives_likelihood",),
    **dict.fromkeys(("d_accuracy_real", "d_accuracy_fake", "d_score_gap"), ("has_discriminator",)),
    "condition_accuracy": ("has_condition",),
}
WHAT_IS_MISSING = {
    "has_encoder": "no encoder",
    "has_posterior": "no posterior",
    "has_discriminator": "no discriminator",
    "has_condition": "no condition",
    "gives_likelihood": "no likelihood of 8-bit images",
}


def check_model_gives(name: str | None, model_name: str, model_class: type, conditional: bool) -> None:
    """A ConfigError before training when the model ``model_name`` (of ``model_class``) cannot give the metric ``name``."""
    if name is None:
        return
    can = {flag for flag in WHAT_IS_MISSING if _can(model_class, flag)}
    if conditional:  # set on the model when it is built, from its config
        can.add("has_condition")
    need = NEEDS.get(name, ())
    if need and not set(need) & can:
        given = [metric for metric in METRIC_NAMES if not NEEDS.get(metric) or set(NEEDS[metric]) & can]
        raise ConfigError(
            f"trainer.objective={name}: a {model_name} model gives no "
            f"{name} ({WHAT_IS_MISSING[need[0]]}); it gives {', '.join(given)}"
        )


def _can(model_class: type, capability: str) -> bool:
    """A has_* flag, or a capability read from the code (``gives_likelihood()``)."""
    value = getattr(model_class, capability, False)
    return bool(value()) if callable(value) else bool(value)


def objective_settings(name: str, trainer: Any) -> EvaluationSettings:
    """`genlab evaluate`'s settings for the objective: ``trainer.objective_n`` samples and test images,
    the ELBO and NLL on at most evaluate's default number of them, and the features the metric is in."""
    default = EvaluationSettings()
    features = "inception" if name.endswith("_inception") else "domain"
    return EvaluationSettings(n=trainer.objective_n, nll_n=min(trainer.objective_n, default.nll_n), features=features)


def describe_settings(settings: EvaluationSettings) -> str:
    """The settings as `genlab evaluate` and `genlab report` take them, to read the same metrics.json."""
    return (
        f"n={settings.n} nll_n={settings.nll_n} k={settings.k} seed={settings.seed} features={settings.features}"
    )


def evaluate_objective(run_dir: Path, name: str, settings: EvaluationSettings) -> float:
    """The metric ``name`` of the run's latest checkpoint: from its metrics.json when that is current
    with ``settings``, else evaluated now (which writes metrics.json). A GenlabError when the
    evaluation gives no such metric, or a value that is not finite."""
    if is_current(run_dir, settings):
        log.info("objective %s: %s is current (%s)", name, run_dir / "metrics.json", describe_settings(settings))
        data = read_metrics(run_dir) or {}
        metrics, notes = data.get("metrics", {}), data.get("notes", [])
    else:
        from genlab.evaluate.evaluator import Evaluator

        log.info("objective %s: evaluating %s with %s", name, run_dir, describe_settings(settings))
        evaluation = Evaluator(settings).evaluate(str(run_dir))
        metrics, notes = evaluation.metrics, evaluation.notes
    if name not in metrics:
        why = f": {'; '.join(notes)}" if notes else ""
        raise GenlabError(f"trainer.objective={name}: the evaluation of {run_dir} gave no {name}{why}")
    value = float(metrics[name])
    if not math.isfinite(value):
        raise GenlabError(f"trainer.objective={name}: the evaluation of {run_dir} gave {value}")
    return value
