"""Within-category diversity: mean pairwise distance between examples of the same category."""
from __future__ import annotations

import torch

__all__ = ["mean_pairwise_distance"]


def mean_pairwise_distance(x: torch.Tensor, labels: torch.Tensor) -> dict[int, float]:
    """For each label, the mean Euclidean distance between distinct pairs of its rows of ``x`` ``(n, d)``
    divided by sqrt(d) (an RMS difference per element, comparable across feature sizes)."""
    x = x.flatten(1).double()
    out = {}
    for label in labels.unique().tolist():
        rows = x[labels == label]
        if len(rows) < 2:
            continue
        d = torch.cdist(rows, rows)
        n = len(rows)
        out[int(label)] = float(d.sum() / (n * (n - 1)) / x.shape[1] ** 0.5)
    return out
