"""Reconstruction error of images in [0, 1]: mean squared error and PSNR, per image."""
from __future__ import annotations

import numpy as np

# PSNR of a perfect reconstruction would be infinite; an error this small counts as 100 dB.
MIN_MSE = 1e-10


def mse_per_image(originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Mean over an image's values of the squared difference, one number per image."""
    originals = np.asarray(originals, dtype=np.float64)
    reconstructions = np.asarray(reconstructions, dtype=np.float64)
    if originals.shape != reconstructions.shape:
        raise ValueError(f"shapes differ: {originals.shape} and {reconstructions.shape}")
    return np.square(originals - reconstructions).reshape(len(originals), -1).mean(axis=1)


def psnr_per_image(mse: np.ndarray, peak: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio in dB of per-image errors of images whose values span [0, peak]."""
    return 10.0 * np.log10(peak**2 / np.maximum(np.asarray(mse, dtype=np.float64), MIN_MSE))
