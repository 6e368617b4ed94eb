"""Latent codes to decode: traversals, paths between two codes, a quantile manifold, attribute
vectors. Plain numpy."""
from __future__ import annotations

from statistics import NormalDist
from typing import Sequence

import numpy as np


def sweep_values(count: int, extent: float) -> np.ndarray:
    """``count`` evenly spaced values from ``-extent`` to ``+extent``."""
    if count < 1:
        raise ValueError(f"count must be >= 1 (got {count})")
    return np.linspace(-extent, extent, count)


def traversal(base: np.ndarray, dims: Sequence[int], values: np.ndarray) -> np.ndarray:
    """Codes of shape (len(dims), len(values), D): row r is ``base`` with dimension ``dims[r]`` set to each value."""
    base = np.asarray(base, dtype=np.float32)
    if base.ndim != 1:
        raise ValueError(f"base must be one code of shape (D,), got {base.shape}")
    codes = np.broadcast_to(base, (len(dims), len(values), base.shape[0])).copy()
    for row, dim in enumerate(dims):
        if not 0 <= dim < base.shape[0]:
            raise ValueError(f"dimension {dim} is outside 0..{base.shape[0] - 1}")
        codes[row, :, dim] = values
    return codes


def lerp(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` codes on the straight line from ``start`` to ``end``, both ends included."""
    start, end = _pair(start, end, steps)
    weights = np.linspace(0.0, 1.0, steps)[:, np.newaxis]
    return ((1.0 - weights) * start + weights * end).astype(np.float32)


def slerp(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` codes on the great-circle arc from ``start`` to ``end`` (ends included).

    Keeps the norm of codes of equal norm, so every point stays as typical under an
    isotropic Gaussian prior as the ends are; (anti)parallel codes fall back to lerp.
    """
    start, end = _pair(start, end, steps)
    norms = np.linalg.norm(start) * np.linalg.norm(end)
    if norms == 0.0:
        return lerp(start, end, steps)
    cosine = np.clip(np.dot(start, end) / norms, -1.0, 1.0)
    angle = np.arccos(cosine)
    if np.sin(angle) < 1e-6:
        return lerp(start, end, steps)
    weights = np.linspace(0.0, 1.0, steps)[:, np.newaxis]
    path = (np.sin((1.0 - weights) * angle) * start + np.sin(weights * angle) * end) / np.sin(angle)
    path[0], path[-1] = start, end
    return path.astype(np.float32)


def _pair(start: np.ndarray, end: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    if start.shape != end.shape or start.ndim != 1:
        raise ValueError(f"expected two codes of the same shape (D,), got {start.shape} and {end.shape}")
    if steps < 2:
        raise ValueError(f"a path needs at least 2 steps (got {steps})")
    return start, end


INTERPOLATIONS = {"lerp": lerp, "slerp": slerp}


def normal_quantiles(count: int, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """Standard-normal values at ``count`` evenly spaced probabilities from ``low`` to ``high``."""
    if not 0.0 < low < high < 1.0:
        raise ValueError(f"expected 0 < low < high < 1 (got {low}, {high})")
    normal = NormalDist()
    return np.array([normal.inv_cdf(p) for p in np.linspace(low, high, count)])


def manifold(latent_dim: int, dims: tuple[int, int], count: int, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """(count*count, D) codes, row by row: ``dims[0]`` grows left to right, ``dims[1]`` bottom to top, the rest 0."""
    first, second = dims
    if first == second or not (0 <= first < latent_dim and 0 <= second < latent_dim):
        raise ValueError(f"dims must be two different dimensions below {latent_dim} (got {list(dims)})")
    values = normal_quantiles(count, low, high)
    codes = np.zeros((count, count, latent_dim), dtype=np.float32)
    codes[:, :, first] = values[np.newaxis, :]
    codes[:, :, second] = values[::-1, np.newaxis]
    return codes.reshape(count * count, latent_dim)


def attribute_vector(codes: np.ndarray, has_attribute: np.ndarray) -> np.ndarray:
    """Mean code of the examples with the attribute minus the mean code of those without."""
    codes = np.asarray(codes, dtype=np.float64)
    mask = np.asarray(has_attribute, dtype=bool)
    if mask.shape != codes.shape[:1]:
        raise ValueError(f"expected one flag per code ({codes.shape[0]}), got shape {mask.shape}")
    if mask.all() or not mask.any():
        raise ValueError("an attribute vector needs examples with and without the attribute")
    return (codes[mask].mean(axis=0) - codes[~mask].mean(axis=0)).astype(np.float32)
