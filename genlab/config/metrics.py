"""The metrics `genlab evaluate` gives, by name: how the terminal labels and formats each (the report
uses the same order), and the names a config may refer to (``trainer.objective``). No TensorFlow."""
from __future__ import annotations

ACTIVE_KL = 0.01  # nats: a latent dimension whose mean KL is above this carries information

# metric name -> (label on the terminal, format)
LABELS: dict[str, tuple[str, str]] = {
    "mse": ("reconstruction MSE (values in [0, 1])", "{:.5f}"),
    "psnr": ("reconstruction PSNR (dB)", "{:.2f}"),
    "elbo": ("ELBO, beta=1 (nats/image)", "{:.2f}"),
    "elbo_bits_per_dim": ("-ELBO (bits/dim)", "{:.4f}"),
    "nll": ("NLL, importance-weighted (nats/image)", "{:.2f}"),
    "nll_stderr": ("  its standard error (nats)", "{:.2f}"),
    "nll_bits_per_dim": ("NLL (bits/dim)", "{:.4f}"),
    "bits_per_dim": ("NLL of the 8-bit images, dequantised (bits/dim)", "{:.4f}"),
    "kl": ("KL to the prior (nats/image)", "{:.2f}"),
    "active_dims": (f"active latent dimensions (KL > {ACTIVE_KL} nats)", "{:.0f}"),
    "fd_domain": ("Fréchet distance, domain features", "{:.4f}"),
    "kid_domain": ("KID, domain features", "{:.5f}"),
    "kid_domain_std": ("  its std over subsets", "{:.5f}"),
    "precision_domain": ("precision (k-NN), domain features", "{:.4f}"),
    "recall_domain": ("recall (k-NN), domain features", "{:.4f}"),
    "density_domain": ("density, domain features", "{:.4f}"),
    "coverage_domain": ("coverage, domain features", "{:.4f}"),
    "nn_ratio_domain": ("nearest training image, samples / test images, domain", "{:.4f}"),
    "fd_inception": ("FID (InceptionV3 features)", "{:.3f}"),
    "kid_inception": ("KID, InceptionV3 features", "{:.5f}"),
    "kid_inception_std": ("  its std over subsets", "{:.5f}"),
    "precision_inception": ("precision (k-NN), InceptionV3 features", "{:.4f}"),
    "recall_inception": ("recall (k-NN), InceptionV3 features", "{:.4f}"),
    "density_inception": ("density, InceptionV3 features", "{:.4f}"),
    "coverage_inception": ("coverage, InceptionV3 features", "{:.4f}"),
    "nn_ratio_inception": ("nearest training image, samples / test images, InceptionV3", "{:.4f}"),
    "classifier_accuracy": ("domain classifier test accuracy", "{:.4f}"),
    "condition_accuracy": ("samples the classifier gives the condition asked", "{:.4f}"),
    "d_accuracy_real": ("discriminator accuracy on test images", "{:.4f}"),
    "d_accuracy_fake": ("discriminator accuracy on samples", "{:.4f}"),
    "d_score_gap": ("discriminator score, test images minus samples", "{:.4f}"),
}
# Every metric an evaluation can give: those on the terminal, and those metrics.json alone holds.
METRIC_NAMES: tuple[str, ...] = tuple(LABELS)


def metric_choices() -> str:
    """The metric names for a message, those of both feature spaces written once (with X)."""
    single = [name for name in LABELS if not name.endswith(("_domain", "_inception", "_domain_std", "_inception_std"))]
    spaces = [name.replace("_domain", "_X") for name in LABELS if "_domain" in name]
    return f"{', '.join(single)}, or {', '.join(spaces)} with X = domain or inception"
