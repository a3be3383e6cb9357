"""DCGAN (Radford, Metz and Chintala 2016), optionally class-conditional.

Generator: a linear projection of ``[z, c]`` to a ``start x start`` map, then ``n_up`` transposed
convolutions (kernel 4, stride 2) that double the resolution and halve the channels, batch norm and
ReLU in between, tanh at the output. Discriminator: ``n_up`` strided convolutions (kernel 4, stride 2)
with LeakyReLU(0.2) and batch norm (not on the input layer), then a linear score. Weights are drawn
from N(0, 0.02) as in the paper.

With ``c_dim > 0`` the conditioning of Mirza and Osindero is used: ``c`` is concatenated to ``z`` in
G and to the image (as constant feature maps) in D.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from audiofeat.exceptions import ParameterError
from gansynth_zoo.nn.layers import Critique, append_condition_maps

__all__ = ["Discriminator", "Generator"]


def _init_dcgan(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _check_geometry(shape: Sequence[int], n_up: int) -> tuple[int, int]:
    """``(image channels, start size)`` of square ``shape = (channels, size, size)``."""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ParameterError(f"shape must be (channels, size, size) with square images, got {list(shape)}")
    size = shape[1]
    if size % (2 ** n_up) or size // (2 ** n_up) < 2:
        raise ParameterError(f"image size {size} must be a multiple of 2**n_up = {2 ** n_up} (start >= 2)")
    return shape[0], size // (2 ** n_up)


class Generator(nn.Module):
    """``G(z, c)`` -> images ``(batch, *shape)`` in [-1, 1]."""

    def __init__(self, *, z_dim: int = 100, c_dim: int = 0, shape: Sequence[int] = (1, 28, 28),
                 channels_base: int = 64, n_up: int = 2):
        super().__init__()
        self.z_dim, self.c_dim = z_dim, c_dim
        channels, self.start = _check_geometry(shape, n_up)
        self.top = channels_base * 2 ** (n_up - 1)
        self.project = nn.Sequential(nn.Linear(z_dim + c_dim, self.top * self.start ** 2, bias=False),
                                     nn.BatchNorm1d(self.top * self.start ** 2), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        ch = self.top
        for i in range(n_up):
            last = i == n_up - 1
            out = channels if last else ch // 2
            layers.append(nn.ConvTranspose2d(ch, out, 4, stride=2, padding=1, bias=last))
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            ch = out
        self.body = nn.Sequential(*layers)
        _init_dcgan(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.project(torch.cat([z, c.to(z.dtype)], dim=1))
        return self.body(h.view(-1, self.top, self.start, self.start))


class Discriminator(nn.Module):
    """``D(x, c)`` -> :class:`Critique` of scores ``(batch,)`` (logits for the non-saturating loss)."""

    def __init__(self, *, c_dim: int = 0, shape: Sequence[int] = (1, 28, 28), channels_base: int = 64,
                 n_up: int = 2, norm: Literal["batch", "none"] = "batch"):
        super().__init__()
        self.c_dim = c_dim
        channels, start = _check_geometry(shape, n_up)
        layers: list[nn.Module] = []
        ch_in, ch = channels + c_dim, channels_base
        for i in range(n_up):
            layers.append(nn.Conv2d(ch_in, ch, 4, stride=2, padding=1, bias=i == 0 or norm == "none"))
            if i > 0 and norm == "batch":
                layers.append(nn.BatchNorm2d(ch))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            ch_in, ch = ch, ch * 2
        self.body = nn.Sequential(*layers)
        self.score = nn.Linear(ch_in * start * start, 1)
        _init_dcgan(self)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> Critique:
        return Critique(self.score(self.body(append_condition_maps(x, c)).flatten(1)).squeeze(1))
