"""Generators as saved by the trainer, and the one way examples are drawn from them: seeded latents,
and conditions taken from the generator's own table of conditioning vectors."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from audiofeat.progress import Progress
from gansynth_zoo.registry import build_model
from gansynth_zoo.training.checkpoint import load_checkpoint

__all__ = ["generate", "load_generator"]


@torch.no_grad()
def generate(G: torch.nn.Module, conditioning: torch.Tensor, labels: torch.Tensor, z_dim: int, *, seed: int = 0,
             device: torch.device | str = "cpu", batch_size: int = 500,
             progress: Progress | None = None) -> torch.Tensor:
    """Generates one example per entry of ``labels`` (indices into the ``conditioning`` table), on the CPU.

    Latents come from a generator seeded with ``seed``: the same call gives the same examples.
    ``progress`` (:mod:`audiofeat.progress`) hears ``("generate", done, total)`` after each batch.
    """
    generator = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(labels), batch_size):
        chunk = labels[i:i + batch_size]
        z = torch.randn(len(chunk), z_dim, generator=generator)
        c = conditioning[chunk] if G.c_dim else torch.zeros(len(chunk), 0)
        out.append(G(z.to(device), c.to(device)).float().cpu())
        if progress:
            progress("generate", i + len(chunk), len(labels))
    return torch.cat(out)


def load_generator(source: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    """The EMA generator of a run folder (its ``generator.pt``), of a ``generator.pt``-format file or
    of a training checkpoint (``ckpt-*.pt``), in eval mode, and the export's metadata."""
    source = Path(source)
    export = load_checkpoint(source / "generator.pt" if source.is_dir() else source)
    if "model" in export:  # a training checkpoint: the same metadata under the trainer's names
        export = {**export, "model_name": export["model"]["name"], "generator_kwargs": export["model"]["generator"],
                  "z_dim": export["model"]["generator"]["z_dim"]}
    G = build_model(export["model_name"], "generator", export["generator_kwargs"])
    G.load_state_dict(export["G_ema"])
    return G.to(device).eval(), export
