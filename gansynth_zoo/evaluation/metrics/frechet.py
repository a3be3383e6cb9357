"""Distances between two sets of embeddings: Fréchet distance (Heusel et al. 2017) and the kernel
inception distance (Bińkowski et al. 2018), computed on whatever embedding the caller provides."""
from __future__ import annotations

import numpy as np
from scipy import linalg

from audiofeat.exceptions import ParameterError

__all__ = ["frechet_distance", "kernel_distance"]


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of Gaussians fitted to ``(n, d)`` embeddings.

    Every row counts (no batch is dropped, unlike GANSynth's released code).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ParameterError(f"need two (n >= 2, d) arrays of equal d, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():  # near-singular product: regularise both covariances
        offset = np.eye(a.shape[1]) * 1e-6
        root = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    root = np.real(root)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root))


def kernel_distance(a: np.ndarray, b: np.ndarray, *, subsets: int = 50, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """KID: unbiased MMD^2 with the cubic polynomial kernel (x.y / d + 1)^3, averaged over random subsets.

    Returns:
        ``(mean, std)`` over the subsets.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    rng = np.random.default_rng(seed)
    m = min(subset_size, len(a), len(b))
    d = a.shape[1]
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        k_xx = (x @ x.T / d + 1) ** 3
        k_yy = (y @ y.T / d + 1) ** 3
        k_xy = (x @ y.T / d + 1) ** 3
        mmd = ((k_xx.sum() - np.trace(k_xx)) + (k_yy.sum() - np.trace(k_yy))) / (m * (m - 1)) - 2 * k_xy.mean()
        values.append(mmd)
    return float(np.mean(values)), float(np.std(values))
