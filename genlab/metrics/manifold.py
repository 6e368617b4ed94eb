"""Sample quality and diversity apart, from k-nearest-neighbour balls in a feature space (numpy only).

Each feature vector's ball reaches its k-th nearest neighbour within its own set (itself not counted).

- precision (Kynkäänniemi et al. 2019): the share of samples inside some real image's ball (quality);
- recall: the share of real images inside some sample's ball (diversity);
- density (Naeem et al. 2020): how many real balls hold a sample, over k, averaged over the samples
  (about 1 when samples follow the data; above 1 when they crowd where the data is dense);
- coverage: the share of real images whose ball holds at least one sample.

Sets equal point for point give precision, recall and coverage 1 and density (k + 1) / k (each ball
holds its own centre's copy and its k neighbours).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

DEFAULT_K = 3
ROWS_PER_BLOCK = 1024  # distance rows computed at once, at most
ENTRIES_PER_BLOCK = 1 << 23  # and at most this many distances (64 MB of float64) against a large set


@dataclass(frozen=True)
class ManifoldScores:
    precision: float
    recall: float
    density: float
    coverage: float


def _squared_distances(rows: np.ndarray, others: np.ndarray) -> np.ndarray:
    squared = (rows**2).sum(axis=1)[:, None] + (others**2).sum(axis=1)[None, :] - 2.0 * rows @ others.T
    return np.maximum(squared, 0.0)


def _blocks(count: int, columns: int):
    """Slices of ``count`` rows whose distances to ``columns`` vectors fit in one block's memory."""
    rows = max(1, min(ROWS_PER_BLOCK, ENTRIES_PER_BLOCK // max(columns, 1)))
    for start in range(0, count, rows):
        yield slice(start, min(start + rows, count))


def knn_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Squared distance of each vector to its k-th nearest neighbour among the others."""
    features = np.asarray(features, np.float64)
    if len(features) <= k:
        raise ValueError(f"k={k} nearest neighbours need more than {k} vectors, got {len(features)}")
    radii = np.empty(len(features))
    for block in _blocks(len(features), len(features)):
        distances = _squared_distances(features[block], features)
        distances[np.arange(block.stop - block.start), np.arange(block.start, block.stop)] = np.inf  # not itself
        radii[block] = np.partition(distances, k - 1, axis=1)[:, k - 1]
    return radii


def _inside_counts(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each point, how many of the balls (centres, squared radii) hold it."""
    counts = np.empty(len(points), np.int64)
    for block in _blocks(len(points), len(centres)):
        counts[block] = (_squared_distances(points[block], centres) <= radii[None, :]).sum(axis=1)
    return counts


def manifold_scores(real: np.ndarray, fake: np.ndarray, k: int = DEFAULT_K) -> ManifoldScores:
    """Precision, recall, density and coverage of ``fake`` features against ``real`` ones (N x D, M x D)."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features of shapes {real.shape} and {fake.shape} cannot be compared")
    real_radii, fake_radii = knn_radii(real, k), knn_radii(fake, k)
    samples_in_real_balls = _inside_counts(fake, real, real_radii)
    real_in_fake_balls = _inside_counts(real, fake, fake_radii)
    covered = np.empty(len(real), bool)
    for block in _blocks(len(real), len(fake)):
        nearest_sample = _squared_distances(real[block], fake).min(axis=1)
        covered[block] = nearest_sample <= real_radii[block]
    return ManifoldScores(
        precision=float(np.mean(samples_in_real_balls > 0)),
        recall=float(np.mean(real_in_fake_balls > 0)),
        density=float(samples_in_real_balls.sum() / (k * len(fake))),
        coverage=float(np.mean(covered)),
    )


def nearest_distances(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Euclidean distance of each query vector (M x D) to its nearest reference vector (N x D)."""
    queries, references = np.asarray(queries, np.float64), np.asarray(references, np.float64)
    if queries.ndim != 2 or references.ndim != 2 or queries.shape[1] != references.shape[1] or not len(references):
        raise ValueError(f"features of shapes {queries.shape} and {references.shape} cannot be compared")
    nearest = np.empty(len(queries))
    for block in _blocks(len(queries), len(references)):
        nearest[block] = _squared_distances(queries[block], references).min(axis=1)
    return np.sqrt(nearest)


def nearest_neighbour_ratio(samples: np.ndarray, held_out: np.ndarray, train: np.ndarray) -> float:
    """Mean distance of samples to their nearest training vector over that of held-out (test) vectors.

    About 1 when samples are as far from the training set as unseen images are; well below 1 when
    samples sit on training images (copies).
    """
    reference = nearest_distances(held_out, train).mean()
    if reference <= 0.0:
        raise ValueError("the held-out vectors coincide with training vectors: the ratio is undefined")
    return float(nearest_distances(samples, train).mean() / reference)


def k_nearest(
    queries: np.ndarray, reference_chunks: Iterable[np.ndarray], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Euclidean distances (each M x k, nearest first) of the k nearest reference vectors
    to each query, the references given in consecutive chunks so a large set never sits in memory."""
    queries = np.asarray(queries, np.float64).reshape(len(queries), -1)
    best_indices = np.zeros((len(queries), 0), np.int64)
    best_squared = np.zeros((len(queries), 0))
    offset = 0
    for chunk in reference_chunks:
        chunk = np.asarray(chunk, np.float64).reshape(len(chunk), -1)
        squared = _squared_distances(queries, chunk)
        indices = np.concatenate([best_indices, np.broadcast_to(np.arange(offset, offset + len(chunk)), squared.shape)], axis=1)
        squared = np.concatenate([best_squared, squared], axis=1)
        keep = np.argsort(squared, axis=1, kind="stable")[:, :k]
        best_indices, best_squared = np.take_along_axis(indices, keep, 1), np.take_along_axis(squared, keep, 1)
        offset += len(chunk)
    if best_indices.shape[1] < k:
        raise ValueError(f"k={k} nearest neighbours need at least {k} reference vectors, got {offset}")
    return best_indices, np.sqrt(best_squared)
