"""Differentiable augmentation of discriminator inputs (DiffAugment, Zhao et al. 2020).

A discriminator trained on a few thousand examples memorises them; its auxiliary classifier head
then recognises the training clips rather than their category, and the generator learns whatever
fools that memory. DiffAugment applies the same random, differentiable transforms to real and
generated inputs alike, in the discriminator step and in the generator step, so the generator's
gradient flows through them and its outputs are not pushed towards augmented-looking data.

The two policies that worked best with little data in the paper, for ``(batch, channels, H, W)``
inputs (a spectrogram: ``H`` frequency bins, ``W`` frames):

- ``"translation"``: every example shifted by whole pixels, independently along both axes, by up to
  ``1/8`` of the axis, with zeros shifted in;
- ``"cutout"``: a rectangle of half the height and half the width, centred anywhere (and clipped at
  the edges), set to zero.

Random numbers come from a caller's ``torch.Generator`` (the trainer's checkpointed one), so a
resumed run draws the same augmentations.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["POLICIES", "augment", "cutout", "translate"]

POLICIES = ("translation", "cutout")


def _uniform_int(low: int, high: int, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """``n`` integers drawn uniformly from ``[low, high]`` on the CPU generator, moved to ``device``."""
    return torch.randint(low, high + 1, (n, 1, 1, 1), generator=generator).to(device)


def _positions(size: int, axis: int, device: torch.device) -> torch.Tensor:
    """``0 .. size - 1`` shaped to broadcast along ``axis`` (2 or 3) of a 4-d tensor."""
    return torch.arange(size, device=device).view((1, 1, size, 1) if axis == 2 else (1, 1, 1, size))


def translate(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shifts each example by up to ``ratio`` of each spatial axis (zeros shifted in)."""
    n, _, height, width = x.shape
    out = x
    for axis, size in ((2, height), (3, width)):
        limit = int(size * ratio)
        if limit == 0:
            continue
        shift = _uniform_int(-limit, limit, n, generator, x.device)
        positions = _positions(size, axis, x.device)
        source = positions - shift                       # output index i reads input index i - shift
        inside = (source >= 0) & (source < size)
        index = source.clamp(0, size - 1).expand(*out.shape[:axis], size, *out.shape[axis + 1:])
        out = torch.gather(out, axis, index) * inside
    return out


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zeroes one rectangle of ``ratio`` times each spatial axis per example, centred anywhere."""
    n, _, height, width = x.shape
    inside = []
    for axis, size in ((2, height), (3, width)):
        half = int(size * ratio + 0.5) // 2
        centre = _uniform_int(0, size - 1, n, generator, x.device)
        positions = _positions(size, axis, x.device)
        inside.append((positions >= centre - half) & (positions < centre + half))
    return x * ~(inside[0] & inside[1])


def augment(x: torch.Tensor, policies: Sequence[str], generator: torch.Generator) -> torch.Tensor:
    """Applies the ``policies`` (names from :data:`POLICIES`) in order."""
    for policy in policies:
        x = translate(x, generator) if policy == "translation" else cutout(x, generator)
    return x
