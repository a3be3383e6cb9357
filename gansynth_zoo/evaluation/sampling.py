"""The one way examples are drawn from a generator: seeded latents, and conditions taken from the
generator's own table of conditioning vectors."""
from __future__ import annotations

import torch

__all__ = ["generate"]


@torch.no_grad()
def generate(G: torch.nn.Module, conditioning: torch.Tensor, labels: torch.Tensor, z_dim: int, *, seed: int = 0,
             device: torch.device | str = "cpu", batch_size: int = 500) -> torch.Tensor:
    """Generates one example per entry of ``labels`` (indices into the ``conditioning`` table), on the CPU.

    Latents come from a generator seeded with ``seed``: the same call gives the same examples.
    """
    generator = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(labels), batch_size):
        chunk = labels[i:i + batch_size]
        z = torch.randn(len(chunk), z_dim, generator=generator)
        c = conditioning[chunk] if G.c_dim else torch.zeros(len(chunk), 0)
        out.append(G(z.to(device), c.to(device)).float().cpu())
    return torch.cat(out)
