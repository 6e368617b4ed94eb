"""Distances between two sets of feature vectors: Fréchet distance and kernel inception distance.

Fréchet distance (FID when the features are InceptionV3's): the 2-Wasserstein distance
between Gaussians fitted to the two sets,
    ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).
The trace of the matrix square root is taken from the eigenvalues of S1^(1/2) S2 S1^(1/2),
a symmetric positive semi-definite matrix with the same eigenvalues as S1 S2, so singular
covariances (fewer samples than features) need no regularising offset.

KID (Binkowski et al. 2018): the unbiased estimate of the squared maximum mean discrepancy
under the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets;
its standard deviation over the subsets says how much to trust a difference.
"""
from __future__ import annotations

import numpy as np


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (unbiased) of (N, d) features, in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"expected at least 2 feature vectors of shape (N, d), got {features.shape}")
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def frechet_distance(mean1: np.ndarray, covariance1: np.ndarray, mean2: np.ndarray, covariance2: np.ndarray) -> float:
    """The Fréchet distance between N(mean1, covariance1) and N(mean2, covariance2)."""
    mean1, mean2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    covariance1, covariance2 = np.atleast_2d(covariance1).astype(np.float64), np.atleast_2d(covariance2).astype(np.float64)
    if mean1.shape != mean2.shape or covariance1.shape != covariance2.shape:
        raise ValueError("the two Gaussians must have the same dimension")
    root1 = _psd_sqrt(covariance1)
    middle = root1 @ covariance2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)).sum()
    difference = mean1 - mean2
    distance = difference @ difference + np.trace(covariance1) + np.trace(covariance2) - 2.0 * trace_sqrt
    return float(max(distance, 0.0))


def frechet_distance_of(features1: np.ndarray, features2: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two (N, d) feature sets."""
    return frechet_distance(*gaussian_statistics(features1), *gaussian_statistics(features2))


def _cubic(values: np.ndarray) -> np.ndarray:
    return values * values * values  # much faster than ** 3, which calls pow() per element


def polynomial_mmd2(features1: np.ndarray, features2: np.ndarray) -> float:
    """Unbiased squared MMD of two equally sized sets under k(x, y) = (x.y / d + 1)^3."""
    x, y = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    count, dimension = x.shape
    if y.shape != x.shape or count < 2:
        raise ValueError(f"expected two sets of the same shape (m >= 2, d), got {x.shape} and {y.shape}")
    k_xx, k_yy, k_xy = _cubic(x @ x.T / dimension + 1.0), _cubic(y @ y.T / dimension + 1.0), _cubic(x @ y.T / dimension + 1.0)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (count * (count - 1))
    return float(within - 2.0 * k_xy.mean())


def kernel_inception_distance(
    features1: np.ndarray,
    features2: np.ndarray,
    rng: np.random.Generator,
    subsets: int = 100,
    subset_size: int = 1000,
) -> tuple[float, float]:
    """(mean, standard deviation) of the polynomial-kernel MMD^2 over ``subsets`` random subsets.

    Each subset draws ``subset_size`` vectors from each set without replacement, at most half the
    smaller set's size so that the subsets differ and their spread means something.
    """
    size = min(subset_size, len(features1) // 2, len(features2) // 2)
    if size < 2:
        raise ValueError("KID needs at least 4 feature vectors in each set")
    values = np.array(
        [
            polynomial_mmd2(
                features1[rng.choice(len(features1), size, replace=False)],
                features2[rng.choice(len(features2), size, replace=False)],
            )
            for _ in range(subsets)
        ]
    )
    return float(values.mean()), float(values.std())
