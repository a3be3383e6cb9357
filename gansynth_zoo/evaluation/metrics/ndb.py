"""Bin-based diversity: NDB/K and JSD (Richardson and Weiss 2018), as GANSynth and MSGAN report them.

K-means with K bins is fitted on real training examples; real and generated examples are assigned
to their nearest centroid; a bin is *statistically different* when a two-proportion z-test rejects
equal proportions at level alpha. NDB/K is the fraction of such bins (0 is best); JSD is the
Jensen-Shannon divergence (base 2, in [0, 1]) between the two bin histograms.
"""
from __future__ import annotations

import math

import torch

from audiofeat.exceptions import ParameterError

__all__ = ["jensen_shannon", "kmeans", "ndb_jsd"]


def jensen_shannon(p: torch.Tensor, q: torch.Tensor) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two histograms (normalised here)."""
    p, q = p.double() / p.sum(), q.double() / q.sum()
    m = (p + q) / 2

    def kl(a: torch.Tensor) -> float:
        mask = a > 0
        return float((a[mask] * torch.log2(a[mask] / m[mask])).sum())

    return 0.5 * kl(p) + 0.5 * kl(q)


def kmeans(x: torch.Tensor, k: int, *, n_iter: int = 30, seed: int = 0) -> torch.Tensor:
    """Centroids ``(k, d)`` of ``(n, d)`` data by Lloyd's algorithm from a k-means++ start."""
    if len(x) < k:
        raise ParameterError(f"k-means with k={k} needs at least k examples, got {len(x)}")
    generator = torch.Generator().manual_seed(seed)
    x = x.double()
    centroids = [x[torch.randint(len(x), (1,), generator=generator)].squeeze(0)]
    dist = torch.cdist(x, centroids[0][None]).squeeze(1) ** 2
    for _ in range(1, k):
        probs = dist / dist.sum() if dist.sum() > 0 else torch.full_like(dist, 1 / len(dist))
        pick = torch.multinomial(probs, 1, generator=generator)
        centroids.append(x[pick].squeeze(0))
        dist = torch.minimum(dist, (torch.cdist(x, x[pick]).squeeze(1)) ** 2)
    c = torch.stack(centroids)
    for _ in range(n_iter):
        assign = torch.cdist(x, c).argmin(dim=1)
        counts = torch.bincount(assign, minlength=k).double()
        sums = torch.zeros_like(c).index_add_(0, assign, x)
        moved = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], c)
        if torch.allclose(moved, c):
            break
        c = moved
    return c.float()


def ndb_jsd(train: torch.Tensor, generated: torch.Tensor, *, k: int = 50, alpha: float = 0.05,
            seed: int = 0) -> dict[str, float]:
    """NDB/K and JSD of ``generated`` against ``train`` (both ``(n, d)``; e.g. flattened log-spectrograms)."""
    centroids = kmeans(train, k, seed=seed)
    p = torch.bincount(torch.cdist(train.float(), centroids).argmin(1), minlength=k).double() / len(train)
    q = torch.bincount(torch.cdist(generated.float(), centroids).argmin(1), minlength=k).double() / len(generated)
    n1, n2 = len(train), len(generated)
    pooled = (p * n1 + q * n2) / (n1 + n2)
    se = torch.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = torch.where(se > 0, (p - q).abs() / se, torch.zeros_like(se))
    critical = math.sqrt(2) * torch.erfinv(torch.tensor(1 - alpha, dtype=torch.float64)).item()
    different = int((z > critical).sum())
    return {"ndb": different, "ndb_k": different / k, "jsd": jensen_shannon(p, q), "k": k}
