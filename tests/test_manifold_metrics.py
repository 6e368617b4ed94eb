"""Precision, recall, density and coverage against brute-force loops and closed forms on small point clouds."""
from __future__ import annotations

import numpy as np
import pytest

from genlab.metrics import manifold
from genlab.metrics.manifold import knn_radii, manifold_scores, nearest_distances, nearest_neighbour_ratio


def brute_force(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float, float, float]:
    """The papers' definitions, one pair of points at a time."""

    def radius(points: np.ndarray, index: int) -> float:
        others = sorted(float(np.linalg.norm(points[index] - points[j])) for j in range(len(points)) if j != index)
        return others[k - 1]

    real_radii = [radius(real, i) for i in range(len(real))]
    fake_radii = [radius(fake, j) for j in range(len(fake))]
    inside = [[np.linalg.norm(fake[j] - real[i]) <= real_radii[i] for i in range(len(real))] for j in range(len(fake))]
    precision = np.mean([any(row) for row in inside])
    recall = np.mean([any(np.linalg.norm(real[i] - fake[j]) <= fake_radii[j] for j in range(len(fake))) for i in range(len(real))])
    density = sum(map(sum, inside)) / (k * len(fake))
    coverage = np.mean([any(inside[j][i] for j in range(len(fake))) for i in range(len(real))])
    return float(precision), float(recall), float(density), float(coverage)


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("seed", [0, 1])
def test_scores_match_a_brute_force_loop(k: int, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifold, "ROWS_PER_BLOCK", 7)  # several blocks, one of them short
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(30, 4))
    fake = rng.normal(loc=0.7, scale=0.6, size=(23, 4))
    scores = manifold_scores(real, fake, k)
    np.testing.assert_allclose(
        [scores.precision, scores.recall, scores.density, scores.coverage], brute_force(real, fake, k), rtol=1e-12
    )


def test_identical_sets_score_one_and_density_k_plus_one_over_k() -> None:
    points = np.random.default_rng(0).normal(size=(50, 3))
    for k in (1, 3, 7):
        scores = manifold_scores(points, points.copy(), k)
        assert (scores.precision, scores.recall, scores.coverage) == (1.0, 1.0, 1.0)
        assert scores.density == pytest.approx((k + 1) / k)


def test_disjoint_sets_score_zero() -> None:
    rng = np.random.default_rng(0)
    real = rng.uniform(0, 1, size=(40, 2))
    fake = rng.uniform(0, 1, size=(40, 2)) + 100.0
    scores = manifold_scores(real, fake)
    assert (scores.precision, scores.recall, scores.density, scores.coverage) == (0.0, 0.0, 0.0, 0.0)


def test_samples_from_the_data_distribution_have_density_and_coverage_near_one() -> None:
    rng = np.random.default_rng(0)
    scores = manifold_scores(rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8)), k=5)
    assert scores.density == pytest.approx(1.0, abs=0.1)
    assert scores.coverage > 0.9 and scores.precision > 0.9 and scores.recall > 0.9


def test_collapsed_samples_keep_precision_and_lose_recall() -> None:
    """A generator that draws one mode well: high quality, poor diversity; the scores tell them apart."""
    rng = np.random.default_rng(0)
    real = np.concatenate([rng.normal(size=(200, 2)) + centre for centre in ([0, 0], [20, 0], [0, 20], [20, 20])])
    fake = rng.normal(size=(200, 2))
    scores = manifold_scores(real, fake)
    assert scores.precision > 0.9
    assert scores.recall < 0.35 and scores.coverage < 0.35


def test_radii_skip_the_point_itself() -> None:
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_allclose(knn_radii(points, 1), np.square([1.0, 1.0, 2.0, 4.0]))
    np.testing.assert_allclose(knn_radii(points, 2), np.square([3.0, 2.0, 3.0, 6.0]))
    with pytest.raises(ValueError, match="more than 4"):
        knn_radii(points, 4)


@pytest.mark.parametrize("rows_per_block", [1, 7, 1024])
def test_nearest_distances_match_a_brute_force_loop(rows_per_block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifold, "ROWS_PER_BLOCK", rows_per_block)  # blocks that split the queries unevenly
    rng = np.random.default_rng(3)
    queries, references = rng.normal(size=(23, 5)), rng.normal(size=(17, 5))
    expected = [min(float(np.linalg.norm(query - reference)) for reference in references) for query in queries]
    np.testing.assert_allclose(nearest_distances(queries, references), expected, rtol=1e-9)


def test_nearest_neighbour_ratio_is_one_for_held_out_like_samples_and_flags_copies() -> None:
    rng = np.random.default_rng(4)
    train, held_out, fresh = rng.normal(size=(400, 4)), rng.normal(size=(300, 4)), rng.normal(size=(300, 4))
    by_hand = np.mean([np.min(np.linalg.norm(train - s, axis=1)) for s in fresh]) / np.mean(
        [np.min(np.linalg.norm(train - h, axis=1)) for h in held_out]
    )
    assert nearest_neighbour_ratio(fresh, held_out, train) == pytest.approx(by_hand, rel=1e-9)
    assert 0.85 < by_hand < 1.15  # samples as far from the training set as unseen points are
    copies = train[:300] + rng.normal(scale=1e-3, size=(300, 4))  # near-copies of training points
    assert nearest_neighbour_ratio(copies, held_out, train) < 0.01
