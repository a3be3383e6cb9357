"""Within-category diversity: mean pairwise distance between examples of the same category."""
from __future__ import annotations

import torch

__all__ = ["diversity_report", "mean_pairwise_distance"]


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


def diversity_report(name: str, generated: torch.Tensor, generated_labels: torch.Tensor, real: torch.Tensor,
                     real_labels: torch.Tensor) -> dict[str, float]:
    """``pairwise_<name>`` (generated) and ``pairwise_<name>_real``: within-label mean pairwise
    distances averaged over labels; the real figure gives the scale a diverse model should reach."""
    fake = mean_pairwise_distance(generated, generated_labels)
    true = mean_pairwise_distance(real, real_labels)
    return {f"pairwise_{name}": sum(fake.values()) / max(len(fake), 1),
            f"pairwise_{name}_real": sum(true.values()) / len(true) if true else float("nan")}
